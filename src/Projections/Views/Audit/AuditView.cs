using System.Buffers.Text;
using System.Globalization;
using System.Text;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Patients;
using Marten;

namespace HealthEvents.Projections.Views.Audit;

/// <summary>
/// One row of a patient's audit trail: one per event of the patient's stream (accesses, changes, consent decisions,
/// emergency uses), and one per research publication that counted the patient (recorded in the research stream).
/// Holds who, when, why and under which consent — never clinical content.
/// </summary>
public sealed record AuditEntry
{
    /// <summary>The event id (the document id).</summary>
    public Guid Id { get; init; }

    public Guid EventId { get; init; }
    public Guid PatientId { get; init; }

    /// <summary>The event's version in the patient's stream; for a research use, the patient's version it followed.</summary>
    public long StreamVersion { get; init; }

    /// <summary>Order among rows of the same <see cref="StreamVersion"/>: 0 for the patient's own event, then research uses in the order they were published.</summary>
    public long Sequence { get; init; }

    /// <summary>Where the event is, when not in the patient's own stream ("research" for a research use); its hash and endorsements are that event's.</summary>
    public string? SourceStream { get; init; }

    /// <summary>Research uses: the research projection whose published rows counted the patient.</summary>
    public string? ResearchProjection { get; init; }

    /// <summary>The command's time (metadata occurredAt).</summary>
    public DateTimeOffset At { get; init; }

    /// <summary>One of <see cref="AuditActions"/>.</summary>
    public string Action { get; init; } = "";

    public AuditActor Actor { get; init; } = new("", Role.Patient, "");
    public Purpose? Purpose { get; init; }

    /// <summary>Categories touched: released (granted / emergency), requested (denied), of the entry, or granted by a consent (as narrowed).</summary>
    public IReadOnlyList<Category> Categories { get; init; } = [];

    /// <summary>The first consent the access relied on, or the consent granted / revoked.</summary>
    public Guid? ConsentId { get; init; }

    public IReadOnlyList<Guid> ConsentIds { get; init; } = [];

    /// <summary>One of <see cref="AuditOutcomes"/>.</summary>
    public string Outcome { get; init; } = AuditOutcomes.Recorded;

    /// <summary>Why it was denied, the break-glass reason, or the amendment / retraction reason.</summary>
    public string? Reason { get; init; }

    public Guid? EntryId { get; init; }

    /// <summary>Access attempts: what was asked for (granted or denied).</summary>
    public IReadOnlyList<Category>? CategoriesRequested { get; init; }

    /// <summary>Consent grants and narrowings: to whom, and for which purposes and actions.</summary>
    public Grantee? Grantee { get; init; }

    public IReadOnlyList<Purpose>? Purposes { get; init; }
    public IReadOnlyList<AccessAction>? Actions { get; init; }

    /// <summary>Consent grants and narrowings: when the consent ends (exclusive); null when open-ended or not a consent row.</summary>
    public DateTimeOffset? ValidUntil { get; init; }
    public Guid? AccessId { get; init; }

    /// <summary>The event hash, lowercase hex.</summary>
    public string Hash { get; init; } = "";

    /// <summary>Hospitals that endorsed the transaction of this event.</summary>
    public IReadOnlyList<string> EndorsedBy { get; init; } = [];

    /// <summary>The patient's device key that signed this consent change or forgetting (patient.command-signed.v1); null when unsigned.</summary>
    public string? SignedWithKey { get; init; }

    /// <summary>Device key enrolments and replacements: the key enrolled.</summary>
    public string? DeviceKeyId { get; init; }
}

public sealed record AuditActor(string Id, Role Role, string Hospital);

public static class AuditActions
{
    public const string PatientRegistered = "patient-registered";
    public const string DetailsCorrected = "details-corrected";
    public const string EntryAdded = "entry-added";
    public const string EntryAmended = "entry-amended";
    public const string EntryRetracted = "entry-retracted";
    public const string ConsentGranted = "consent-granted";
    public const string ConsentRevoked = "consent-revoked";

    /// <summary>The patient narrowed a consent: the row gives what it grants from then on.</summary>
    public const string ConsentNarrowed = "consent-narrowed";
    public const string AccessGranted = "access-granted";
    public const string AccessDenied = "access-denied";
    public const string EmergencyAccess = "emergency-access";

    /// <summary>A practitioner asked what they may see and was told (nothing was released).</summary>
    public const string AccessExplained = "access-explained";
    public const string InsuranceLinked = "insurance-linked";
    public const string InsuranceEnded = "insurance-ended";
    public const string PatientForgotten = "patient-forgotten";
    public const string DeviceKeyEnrolled = "device-key-enrolled";

    /// <summary>The home hospital replaced the patient's device key (a lost device): shown as prominently as an emergency access.</summary>
    public const string DeviceKeyReplaced = "device-key-replaced";

    /// <summary>A research projection's published rows counted the patient (anonymously: the researcher never learns who).</summary>
    public const string ResearchUse = "research-use";

    public static readonly IReadOnlySet<string> All = new HashSet<string>(StringComparer.Ordinal)
    {
        PatientRegistered, DetailsCorrected, EntryAdded, EntryAmended, EntryRetracted, ConsentGranted, ConsentRevoked,
        ConsentNarrowed, AccessGranted, AccessDenied, EmergencyAccess, AccessExplained, InsuranceLinked, InsuranceEnded, PatientForgotten, ResearchUse,
        DeviceKeyEnrolled, DeviceKeyReplaced,
    };
}

public static class AuditOutcomes
{
    public const string Granted = "granted";
    public const string Denied = "denied";
    public const string Recorded = "recorded";
    public const string Emergency = "emergency";
}

/// <summary>The audit projection's own lookup: an entry's category, for the rows of its amendments and retraction.</summary>
public sealed record AuditEntryCategory(Guid Id, Guid PatientId, Category Category);

/// <summary>
/// The audit projection's own lookup: the last version of a patient's stream it applied, to place research uses, and
/// the patient's last own row, which a patient.command-signed.v1 right after it marks as signed.
/// </summary>
public sealed record AuditPatientHead(Guid Id, long LastVersion, Guid? LastRowId = null);

/// <summary>A page of a patient's audit trail; <see cref="Next"/> is the cursor of the following page, null at the end.</summary>
public sealed record AuditPage(IReadOnlyList<AuditEntry> Items, string? Next);

/// <summary>Reads the patient audit view, in stream order.</summary>
public sealed class AuditQuery(ReadModelStore readModels)
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 200;

    /// <summary>
    /// The last version of the patient's own stream the view has applied, or null when it holds none: what the stream
    /// served at some point, so a stream that now serves less was cut past the service.
    /// </summary>
    public async Task<long?> LastVersionAsync(Guid patientId, CancellationToken ct = default)
    {
        await using var session = await readModels.QuerySessionAsync(ct);
        return (await session.LoadAsync<AuditPatientHead>(patientId, ct))?.LastVersion is >= 0 and var last ? last : null;
    }

    /// <summary>
    /// A patient's audit rows ordered by stream version ascending (a research use follows the patient's event it came after). <paramref name="from"/> is inclusive and
    /// <paramref name="to"/> exclusive (on the event's time); <paramref name="actor"/> matches the actor id;
    /// <paramref name="action"/> is one of <see cref="AuditActions"/>. <paramref name="limit"/>: default 50, at most 200
    /// (larger values are capped). Throws <see cref="ArgumentException"/> for an unknown action, a malformed cursor or
    /// a limit below 1 (the API answers 400).
    /// </summary>
    public async Task<AuditPage> QueryAsync(
        Guid patientId,
        DateTimeOffset? from = null,
        DateTimeOffset? to = null,
        string? actor = null,
        string? action = null,
        string? cursor = null,
        int? limit = null,
        CancellationToken ct = default,
        bool newestFirst = false)
    {
        var take = limit ?? DefaultLimit;
        if (take < 1) throw new ArgumentOutOfRangeException(nameof(limit), "The limit is at least 1.");
        take = Math.Min(take, MaxLimit);
        if (action is not null && !AuditActions.All.Contains(action))
            throw new ArgumentException("Unknown audit action.", nameof(action));
        var (after, afterSequence) = cursor is null ? (newestFirst ? long.MaxValue : -2, newestFirst ? long.MaxValue : 0) : DecodeCursor(cursor);

        await using var session = await readModels.QuerySessionAsync(ct);
        // Newest first (the patient's page) walks the same order backwards: the cursor then marks the last row seen from the end.
        IQueryable<AuditEntry> query = newestFirst
            ? session.Query<AuditEntry>().Where(x => x.PatientId == patientId
                && (x.StreamVersion < after || (x.StreamVersion == after && x.Sequence < afterSequence)))
            : session.Query<AuditEntry>().Where(x => x.PatientId == patientId
                && (x.StreamVersion > after || (x.StreamVersion == after && x.Sequence > afterSequence)));
        if (from is { } f) query = query.Where(x => x.At >= f);
        if (to is { } t) query = query.Where(x => x.At < t);
        if (actor is not null) query = query.Where(x => x.Actor.Id == actor);
        if (action is not null) query = query.Where(x => x.Action == action);
        var ordered = newestFirst
            ? query.OrderByDescending(x => x.StreamVersion).ThenByDescending(x => x.Sequence)
            : query.OrderBy(x => x.StreamVersion).ThenBy(x => x.Sequence);
        var rows = await ordered.Take(take + 1).ToListAsync(ct);

        if (rows.Count <= take) return new AuditPage(rows, null);
        var page = rows.Take(take).ToList();
        return new AuditPage(page, EncodeCursor(page[^1].StreamVersion, page[^1].Sequence));
    }

    /// <summary>The cursor just after <paramref name="row"/>: in oldest-first order, the rows that came after it.</summary>
    public static string CursorOf(AuditEntry row) => EncodeCursor(row.StreamVersion, row.Sequence);

    /// <summary>Whether <paramref name="cursor"/> is one this query hands out (<see cref="CursorOf"/>, <see cref="AuditPage.Next"/>).</summary>
    public static bool IsCursor(string cursor)
    {
        try
        {
            DecodeCursor(cursor);
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    /// <summary>Opaque to callers: base64url of "v{streamVersion}", or "v{streamVersion}.{sequence}" after a research use.</summary>
    internal static string EncodeCursor(long streamVersion, long sequence = 0) =>
        Base64Url.EncodeToString(Encoding.ASCII.GetBytes("v" + streamVersion.ToString(CultureInfo.InvariantCulture)
            + (sequence == 0 ? "" : "." + sequence.ToString(CultureInfo.InvariantCulture))));

    internal static (long Version, long Sequence) DecodeCursor(string cursor)
    {
        try
        {
            var text = Encoding.ASCII.GetString(Base64Url.DecodeFromChars(cursor));
            var parts = text.Length > 1 && text[0] == 'v' ? text[1..].Split('.') : [];
            long sequence = 0;
            if (parts.Length is 1 or 2
                && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var version)
                && (parts.Length == 1 || long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out sequence)))
                return (version, sequence);
        }
        catch (FormatException)
        {
        }
        throw new ArgumentException("Malformed cursor.", nameof(cursor));
    }
}
