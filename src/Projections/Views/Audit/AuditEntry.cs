using HealthEvents.Domain.Common;
using HealthEvents.Domain.Patients;

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
