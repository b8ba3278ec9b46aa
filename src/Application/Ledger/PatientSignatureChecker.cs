using System.Reflection;
using System.Text.Json;
using HealthEvents.Application.Patients;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Patients;
using static HealthEvents.Application.Ledger.VerificationCodes;

namespace HealthEvents.Application.Ledger;

/// <summary>
/// Checks a patient's own signatures in their stored stream, event by event in version order, by the rules of the
/// patient's browser (wwwroot/js/verify.js, <c>checkPatientSignatures</c>), so that the server, <c>./run.sh verify</c>
/// and the page reach the same verdict with the same codes:
/// <list type="bullet">
/// <item>every device key enrolled or replaced proves itself: its key id is the id of its public key's bytes and its
/// proof verifies over its enrolment statement (<see cref="PatientStatements.Enrolment"/>) — else <c>bad-device-key</c>,
/// at its version; from then on it is the key of the time, proved or not;</item>
/// <item>every <c>patient.command-signed.v1</c> verifies under the key of the time, over the statement rebuilt from the
/// event right before it, which must belong to the same command (<see cref="PatientStatements.OfDecided"/>) — else
/// <c>bad-patient-signature</c>, at the signature's version;</item>
/// <item>once a key is enrolled, every consent grant, narrowing, revocation and forgetting is followed at once by a
/// signature event of the same command — else <c>unsigned</c>, at the version after it, where the signature belongs.</item>
/// </list>
/// Endorsements cannot stand in for these: hospitals that collude can endorse anything, but only the patient's device
/// signs. An event whose data is not JSON is skipped (the chain check reports it). Keeps per stream only the key of the
/// time, the command of the event before and, when that event is one the patient signs, the event itself. Expects each
/// stream's events in version order and <see cref="StreamEnded"/> once its last one was given, by one caller per stream
/// (callers of different streams may share it).
/// </summary>
public sealed class PatientSignatureChecker(EventSerializer serializer)
{
    private static readonly string Enrolled = NameOf<DeviceKeyEnrolled>();
    private static readonly string Replaced = NameOf<DeviceKeyReplaced>();
    private static readonly string Signed = NameOf<SignedByPatient>();

    /// <summary>What the commands a patient signs decide (<see cref="PatientStatements.ActionOf(IPatientEvent)"/>).</summary>
    private static readonly HashSet<string> SignedByThePatient =
        [NameOf<ConsentGranted>(), NameOf<ConsentNarrowed>(), NameOf<ConsentRevoked>(), NameOf<PatientForgotten>()];

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, StreamState> _streams = new(StringComparer.Ordinal);

    private sealed class StreamState(Guid patientId)
    {
        public Guid PatientId { get; } = patientId;
        public DeviceKey? Key { get; set; }

        /// <summary>The command of the event before, and that event when the patient signs it (null: unreadable or not signed).</summary>
        public (Guid? Command, IPatientEvent? Signable) Before { get; set; }

        /// <summary>A signed-by-the-patient event whose signature must come next: its version and command.</summary>
        public (long Version, Guid? Command)? Awaiting { get; set; }
    }

    /// <summary>Checks the events of one transaction of a patient's stream (other streams are left alone).</summary>
    public void Check(TransactionToCheck transaction, List<VerificationProblem> problems)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        if (!PatientStream.TryParseStreamId(transaction.StreamId, out var patientId)) return;
        var state = _streams.GetOrAdd(transaction.StreamId, _ => new StreamState(patientId));
        foreach (var e in transaction.Events) Accept(transaction.StreamId, state, e, problems);
    }

    /// <summary>The stream's last event was checked: a change still awaiting its signature is unsigned. Forgets the stream.</summary>
    public IReadOnlyList<VerificationProblem> StreamEnded(string streamId)
    {
        if (!_streams.TryRemove(streamId, out var state) || state.Awaiting is not { } awaiting) return [];
        return [Unsigned(streamId, awaiting.Version)];
    }

    private void Accept(string streamId, StreamState state, EventEnvelope e, List<VerificationProblem> problems)
    {
        var command = CommandOf(e);
        if (state.Awaiting is { } awaiting && !(e.Type == Signed && command == awaiting.Command))
            problems.Add(Unsigned(streamId, awaiting.Version));
        state.Awaiting = null;
        var before = state.Before;
        state.Before = (command, null);

        if (e.Type == Enrolled || e.Type == Replaced)
        {
            if (!IsJson(e.Data)) return;
            var (keyId, publicKey, signedAt, proof) = Read(e) switch
            {
                DeviceKeyEnrolled k => (k.KeyId, k.PublicKey, k.SignedAt, k.Proof),
                DeviceKeyReplaced k => (k.KeyId, k.PublicKey, k.SignedAt, k.Proof),
                _ => ("", "", default(DateTimeOffset), ""),
            };
            if (!Proves(state.PatientId, keyId, publicKey, signedAt, proof))
                problems.Add(new(streamId, e.Version, BadDeviceKey, $"The device key enrolled at version {e.Version} does not prove itself."));
            state.Key = new DeviceKey(keyId ?? "", publicKey ?? "");
        }
        else if (e.Type == Signed)
        {
            if (IsJson(e.Data) && !Verifies(state, before, command, Read(e) as SignedByPatient))
                problems.Add(new(streamId, e.Version, BadPatientSignature,
                    $"The patient's signature at version {e.Version} does not verify under their device key of the time."));
        }
        else if (SignedByThePatient.Contains(e.Type) && IsJson(e.Data))
        {
            state.Before = (command, Read(e) as IPatientEvent);
            if (state.Key is not null) state.Awaiting = (e.Version, command);
        }
    }

    /// <summary>The signature covers the statement of the event before it, of the same command, under the key of the time.</summary>
    private static bool Verifies(StreamState state, (Guid? Command, IPatientEvent? Signable) before, Guid? command, SignedByPatient? signed) =>
        signed is { Action: not null, KeyId: not null }
        && state.Key is { } key && key.KeyId == signed.KeyId
        && before.Signable is { } decided && before.Command == command
        && PatientStatements.ActionOf(decided) == signed.Action
        && Bytes(signed.Signature) is { } signature
        && P256.Verify(key.PublicKey, PatientStatements.OfDecided(decided, state.PatientId, signed.KeyId, signed.SignedAt), signature);

    private static bool Proves(Guid patientId, string? keyId, string? publicKey, DateTimeOffset signedAt, string? proof) =>
        keyId is not null && publicKey is not null
        && Bytes(publicKey) is { } spki && P256.KeyIdOf(spki) == keyId
        && Bytes(proof) is { } signature
        && P256.Verify(publicKey, PatientStatements.Enrolment(patientId, keyId, signedAt, publicKey), signature);

    private static VerificationProblem Unsigned(string streamId, long version) =>
        new(streamId, version + 1, VerificationCodes.Unsigned,
            $"Version {version} changes the patient's consents without their device key's signature.");

    /// <summary>The typed event, or null when valid JSON does not make one (the rules then fail, as in the browser).</summary>
    private IEvent? Read(EventEnvelope e)
    {
        try
        {
            return serializer.Deserialize(e.Type, e.Data);
        }
        catch (Exception ex) when (ex is JsonException or InvalidDataException or NotSupportedException or ArgumentException or InvalidOperationException)
        {
            return null;
        }
    }

    private static Guid? CommandOf(EventEnvelope e)
    {
        try
        {
            return EventMetadata.FromBytes(e.Metadata).CommandId;
        }
        catch (Exception ex) when (ex is JsonException or InvalidDataException or NotSupportedException or ArgumentException)
        {
            return null;
        }
    }

    /// <summary>As the browser's readJson: UTF-8 text that parses as JSON.</summary>
    private static bool IsJson(byte[] data)
    {
        try
        {
            using var _ = JsonDocument.Parse(data);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static byte[]? Bytes(string? base64)
    {
        if (base64 is null) return null;
        try
        {
            return Convert.FromBase64String(base64);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private static string NameOf<T>() where T : IEvent => typeof(T).GetCustomAttribute<EventTypeAttribute>()!.Name;
}
