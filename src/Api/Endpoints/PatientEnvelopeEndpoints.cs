using System.Text.Json;
using HealthEvents.Api.Auth;
using HealthEvents.Api.Errors;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Network;
using HealthEvents.Application.Patients;
using HealthEvents.Application.Serialization;
using HealthEvents.Domain.Network;
using HealthEvents.Projections.Ledger;
using Microsoft.AspNetCore.Http.HttpResults;

namespace HealthEvents.Api.Endpoints;

/// <summary>
/// GET /patients/{id}/envelopes: the patient's stream as stored — each event's data, metadata, prevHash and hash
/// (the exact bytes the hash chain covers, base64) and its endorsement — with the network's endorsement key history,
/// so the patient's own browser can recompute the chain and check the signatures without trusting this server's verdict.
/// Same authorization as /verification: the patient only.
/// </summary>
public static class PatientEnvelopeEndpoints
{
    /// <param name="Endorsement">The transaction's endorsement as JSON (web naming, byte arrays base64), itself base64. It is
    /// outside the hash chain, so it is given as the store holds it after reading; its signatures are what protect it.</param>
    public sealed record EnvelopeView(Guid EventId, long Version, string Type, string Data, string Metadata, string PrevHash, string Hash, string? Endorsement);

    public sealed record KeyView(string KeyId, string PublicKey, DateTimeOffset? EffectiveFrom);

    public sealed record HospitalKeysView(string Id, string Name, IReadOnlyList<KeyView> EndorsementKeys);

    /// <param name="Head">The latest signed tree head as the ledger stream stores it (its data is {treeSize, rootHash, at}); the
    /// browser checks its hash and endorsement like any event's, then trusts its root.</param>
    /// <param name="Inclusion">RFC 9162 inclusion proof, under that head, of the patient's latest event already in it (null
    /// when none is); the chain carries the proof back to version 0. Events after it wait for the next head.</param>
    public sealed record LedgerView(EnvelopeView Head, Guid? ProvenEventId, InclusionProofView? Inclusion);

    /// <summary>The network from <paramref name="At"/> on (until the next entry): its endorsement policy and members, as
    /// NetworkHistory.StateAt folds the network stream — the policy a transaction of that time had to meet.</summary>
    public sealed record NetworkTimeView(DateTimeOffset At, string EndorsementPolicy, IReadOnlyList<string> Members);

    public sealed record EnvelopesView(
        string StreamId, IReadOnlyList<EnvelopeView> Events, IReadOnlyList<HospitalKeysView> Hospitals, string EndorsementPolicy,
        IReadOnlyList<NetworkTimeView> Timeline, LedgerView? Ledger);

    private static readonly JsonSerializerOptions EndorsementJson = new(JsonSerializerDefaults.Web);

    public static RouteGroupBuilder MapPatientEnvelopes(this RouteGroupBuilder patients)
    {
        patients.MapGet("/{id:guid}/envelopes", Envelopes);
        return patients;
    }

    public static async Task<Results<Ok<EnvelopesView>, ProblemHttpResult>> Envelopes(
        Guid id, HttpContext http, IEventStore store, EventSerializer serializer, LedgerQuery ledger, CancellationToken ct)
    {
        if (!http.Actor().IsPatient(id))
            return TypedResults.Problem(ProblemExceptionHandler.Problem(StatusCodes.Status403Forbidden, "Forbidden",
                "Only the patient reads their own stream's envelopes.", "forbidden"));
        var streamId = PatientStream.StreamId(id);
        var events = new List<EnvelopeView>();
        await foreach (var e in store.ReadStreamAsync(streamId, 0, ct)) events.Add(View(e));

        // Every endorsement key each hospital has had, with the time it took over: the browser picks the one in force
        // at each transaction's time, as the server's EndorsementChecker does.
        // The network stream, read once: its history gives the keys and the policies, its times the timeline.
        var networkStream = new List<EventEnvelope>();
        await foreach (var e in store.ReadStreamAsync(NetworkStream.StreamId, 0, ct)) networkStream.Add(e);
        var history = NetworkHistory.From(networkStream, serializer);
        var network = history.Current;
        var hospitals = network.Hospitals.Values.OrderBy(h => h.Id, StringComparer.Ordinal)
            .Select(h => new HospitalKeysView(h.Id, h.Name, [.. h.Keys(KeyUse.Endorsement).Select(k =>
                new KeyView(k.KeyId, k.PublicKey, k.EffectiveFrom == DateTimeOffset.MinValue ? null : k.EffectiveFrom))]))
            .ToList();
        return TypedResults.Ok(new EnvelopesView(streamId, events, hospitals, network.EndorsementPolicy,
            Timeline(networkStream, history), await LedgerAsync(store, ledger, streamId, events, ct)));
    }

    /// <summary>The network at each time a network event occurred, so the browser can judge each transaction by the policy of its time.</summary>
    private static IReadOnlyList<NetworkTimeView> Timeline(IReadOnlyList<EventEnvelope> networkStream, NetworkHistory history)
    {
        var times = new SortedSet<DateTimeOffset>();
        foreach (var e in networkStream)
        {
            try
            {
                times.Add(EventMetadata.FromBytes(e.Metadata).OccurredAt);
            }
            catch (Exception ex) when (ex is JsonException or InvalidDataException)
            {
                // Unreadable metadata: NetworkHistory skipped the event too, and the server's verifier reports it.
            }
        }
        return [.. times.Select(at => (At: at, State: history.StateAt(at)))
            .Select(t => new NetworkTimeView(t.At, t.State.EndorsementPolicy, [.. t.State.Hospitals.Keys.Order(StringComparer.Ordinal)]))];
    }

    private static async Task<LedgerView?> LedgerAsync(IEventStore store, LedgerQuery ledger, string streamId, IReadOnlyList<EnvelopeView> events, CancellationToken ct)
    {
        if (await ledger.LatestAsync(ct) is not { } latest) return null;
        EnvelopeView? head = null;
        await foreach (var e in store.ReadStreamAsync(HealthEvents.Application.Ledger.LedgerStream.StreamId, latest.StreamVersion, ct))
        {
            head = View(e);
            break;
        }
        if (head is null) return null;
        // The last of the patient's events the head covers proves the whole prefix through the chain: found in one query.
        if (await ledger.LastCoveredAsync(streamId, latest.TreeSize, ct) is { } covered
            && events.Any(e => e.EventId == covered)
            && (await ledger.InclusionAsync(covered, latest.TreeSize, ct)).Proof is { } proof)
            return new LedgerView(head, covered, proof);
        return new LedgerView(head, null, null);
    }

    private static EnvelopeView View(EventEnvelope e) =>
        new(e.EventId, e.Version, e.Type, Convert.ToBase64String(e.Data), Convert.ToBase64String(e.Metadata),
            Convert.ToBase64String(e.PrevHash), Convert.ToBase64String(e.Hash),
            e.Endorsement is null ? null : Convert.ToBase64String(JsonSerializer.SerializeToUtf8Bytes(e.Endorsement, EndorsementJson)));
}
