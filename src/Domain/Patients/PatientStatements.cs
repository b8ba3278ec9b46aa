using System.Buffers.Binary;
using System.Text;
using HealthEvents.Domain.Common;

namespace HealthEvents.Domain.Patients;

/// <summary>
/// What a patient's device key signs: a statement of the command, built alike by the browser (wwwroot/js/statement.js)
/// and here, from the command's own fields — so what every endorser re-executes is exactly what the patient signed.
/// <para>
/// Bytes: the ASCII tag <c>healthevents/patient-statement/v1</c>, then fields, each a 4-byte big-endian length and its
/// bytes: the stream id (<c>patient-{id}</c>, UTF-8), the action (<see cref="GrantConsentAction"/> …), the signing
/// key's id, the signing time; then the action's own fields. Texts are UTF-8 (ids in Unicode NFC, enum values
/// kebab-case, GUIDs lowercase with dashes); times are 100-nanosecond ticks since the Unix epoch (.NET's precision, so
/// every stored time has exactly one encoding) as 8-byte big-endian integers; an absent time is an empty field; a list
/// is one field holding its items, each length-prefixed.
/// </para>
/// <list type="bullet">
/// <item><c>grant-consent</c>: consent id, grantee kind, grantee id, categories, purposes, actions (lists, in the
/// command's order), valid from, valid until.</item>
/// <item><c>narrow-consent</c>: consent id, then the consent as it becomes — categories, purposes, actions, valid until —
/// as the decided <see cref="ConsentNarrowed"/> holds it (the command may leave parts out; the patient signs the result).</item>
/// <item><c>revoke-consent</c>: consent id.</item>
/// <item><c>forget</c>: nothing more.</item>
/// <item><c>enrol-device-key</c>: the new public key (base64 SubjectPublicKeyInfo), signed by that very key.</item>
/// </list>
/// </summary>
public static class PatientStatements
{
    public const string GrantConsentAction = "grant-consent";
    public const string NarrowConsentAction = "narrow-consent";
    public const string RevokeConsentAction = "revoke-consent";
    public const string ForgetAction = "forget";
    public const string EnrolAction = "enrol-device-key";

    /// <summary>How long before the command's time a signature may have been made (the page signs right before it sends).</summary>
    public static readonly TimeSpan MaxAge = TimeSpan.FromMinutes(10);

    /// <summary>How far a device's clock may run ahead of the command's time.</summary>
    public static readonly TimeSpan MaxAhead = TimeSpan.FromMinutes(2);

    private static readonly byte[] Tag = "healthevents/patient-statement/v1"u8.ToArray();

    /// <summary>The statement's action for each command the patient signs; every <see cref="IPatientSigned"/> has one.</summary>
    public static string ActionOf(IPatientSigned command) => command switch
    {
        GrantConsent => GrantConsentAction,
        NarrowConsent => NarrowConsentAction,
        RevokeConsent => RevokeConsentAction,
        ForgetPatient => ForgetAction,
        _ => throw new ArgumentException($"No statement is defined for {command.GetType().Name}.", nameof(command)),
    };

    /// <summary>
    /// The statement of <paramref name="command"/> on <paramref name="patientId"/>'s stream, signed by <paramref name="keyId"/> at
    /// <paramref name="signedAt"/>. A narrowing's is the consent as it becomes: give the events it was decided into.
    /// </summary>
    /// <exception cref="ArgumentException">A narrowing without its <see cref="ConsentNarrowed"/>.</exception>
    public static byte[] Of(IPatientSigned command, Guid patientId, string keyId, DateTimeOffset signedAt, IReadOnlyList<IPatientEvent>? decided = null) => command switch
    {
        GrantConsent g => Grant(patientId, keyId, signedAt,
            new ConsentGranted(g.ConsentId, g.Grantee, g.Categories, g.Purposes, g.Actions, g.ValidFrom, g.ValidUntil)),
        NarrowConsent n => decided?.OfType<ConsentNarrowed>().SingleOrDefault(e => e.ConsentId == n.ConsentId) is { } narrowed
            ? Narrow(patientId, keyId, signedAt, narrowed)
            : throw new ArgumentException("A narrowing's statement is the consent as it becomes: its decided event is needed.", nameof(decided)),
        RevokeConsent r => Revoke(patientId, keyId, signedAt, r.ConsentId),
        ForgetPatient => Forget(patientId, keyId, signedAt),
        _ => throw new ArgumentException($"No statement is defined for {command.GetType().Name}.", nameof(command)),
    };

    /// <summary>
    /// The action a stored event was signed as — the first event of a command the patient signs, which the
    /// <see cref="SignedByPatient"/> right after it covers — or null for an event no patient signs. What a verifier of the
    /// stored stream asks, as the browser's <c>signedCommandOf</c> (wwwroot/js/statement.js) does.
    /// </summary>
    public static string? ActionOf(IPatientEvent decided) => decided switch
    {
        ConsentGranted => GrantConsentAction,
        ConsentNarrowed => NarrowConsentAction,
        ConsentRevoked => RevokeConsentAction,
        PatientForgotten => ForgetAction,
        _ => null,
    };

    /// <summary>
    /// The statement rebuilt from a stored event (<see cref="ActionOf(IPatientEvent)"/> not null): the same bytes the
    /// patient signed for the command that decided it, since each of these events repeats its command's signed fields.
    /// </summary>
    /// <exception cref="ArgumentException">An event no patient signs.</exception>
    public static byte[] OfDecided(IPatientEvent decided, Guid patientId, string keyId, DateTimeOffset signedAt) => decided switch
    {
        ConsentGranted g => Grant(patientId, keyId, signedAt, g),
        ConsentNarrowed n => Narrow(patientId, keyId, signedAt, n),
        ConsentRevoked r => Revoke(patientId, keyId, signedAt, r.ConsentId),
        PatientForgotten => Forget(patientId, keyId, signedAt),
        _ => throw new ArgumentException($"No patient signs a {decided.GetType().Name}.", nameof(decided)),
    };

    private static byte[] Grant(Guid patientId, string keyId, DateTimeOffset signedAt, ConsentGranted g) =>
        Build(patientId, GrantConsentAction, keyId, signedAt, w =>
        {
            w.Text(Id(g.ConsentId));
            w.Text(KebabCase.Of(g.Grantee.Kind));
            w.Text(g.Grantee.Id);
            w.List(g.Categories.Select(KebabCase.Of));
            w.List(g.Purposes.Select(KebabCase.Of));
            w.List(g.Actions.Select(KebabCase.Of));
            w.Time(g.ValidFrom);
            w.Time(g.ValidUntil);
        });

    private static byte[] Narrow(Guid patientId, string keyId, DateTimeOffset signedAt, ConsentNarrowed narrowed) =>
        Build(patientId, NarrowConsentAction, keyId, signedAt, w =>
        {
            w.Text(Id(narrowed.ConsentId));
            w.List(narrowed.Categories.Select(KebabCase.Of));
            w.List(narrowed.Purposes.Select(KebabCase.Of));
            w.List(narrowed.Actions.Select(KebabCase.Of));
            w.Time(narrowed.ValidUntil);
        });

    private static byte[] Revoke(Guid patientId, string keyId, DateTimeOffset signedAt, Guid consentId) =>
        Build(patientId, RevokeConsentAction, keyId, signedAt, w => w.Text(Id(consentId)));

    private static byte[] Forget(Guid patientId, string keyId, DateTimeOffset signedAt) => Build(patientId, ForgetAction, keyId, signedAt, _ => { });

    /// <summary>The statement a new device key signs to be enrolled (proof that someone holds it).</summary>
    public static byte[] Enrolment(Guid patientId, string keyId, DateTimeOffset signedAt, string publicKey) =>
        Build(patientId, EnrolAction, keyId, signedAt, w => w.Text(publicKey));

    private static string Id(Guid id) => id.ToString("D");

    private static byte[] Build(Guid patientId, string action, string keyId, DateTimeOffset signedAt, Action<Writer> fields)
    {
        var w = new Writer();
        w.Raw(Tag);
        w.Text("patient-" + Id(patientId));
        w.Text(action);
        w.Text(keyId);
        w.Time(signedAt);
        fields(w);
        return w.ToArray();
    }

    private sealed class Writer
    {
        private readonly MemoryStream _buffer = new();

        public void Raw(ReadOnlySpan<byte> bytes) => _buffer.Write(bytes);

        public void Field(ReadOnlySpan<byte> bytes)
        {
            Span<byte> length = stackalloc byte[4];
            BinaryPrimitives.WriteInt32BigEndian(length, bytes.Length);
            _buffer.Write(length);
            _buffer.Write(bytes);
        }

        public void Text(string text) => Field(Encoding.UTF8.GetBytes(text));

        public void List(IEnumerable<string> items)
        {
            var inner = new Writer();
            foreach (var item in items) inner.Text(item);
            Field(inner.ToArray());
        }

        public void Time(DateTimeOffset? time)
        {
            if (time is not { } t)
            {
                Field([]);
                return;
            }
            Span<byte> ticks = stackalloc byte[8];
            BinaryPrimitives.WriteInt64BigEndian(ticks, t.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks);
            Field(ticks);
        }

        public byte[] ToArray() => _buffer.ToArray();
    }
}
