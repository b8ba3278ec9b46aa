using HealthEvents.Application.Patients;

namespace HealthEvents.Api.Endpoints;

// The HTTP shapes of the contract (docs/architecture.md, "The HTTP contract"). Unknown fields are refused by the JSON options.
public sealed record RegisterPatientRequest(Guid? PatientId, string HomeHospital, int BirthYear, string Sex, string Name);

public sealed record AddEntryRequest(Guid? EntryId, string Category, CodeInput Code, string Text, DateTimeOffset? RecordedAt);

public sealed record AmendEntryRequest(string Text, string Reason);

public sealed record RetractEntryRequest(string Reason);

public sealed record GrantConsentRequest(
    Guid? ConsentId, GranteeInput Grantee, IReadOnlyList<string> Categories, IReadOnlyList<string> Purposes,
    IReadOnlyList<string> Actions, DateTimeOffset? ValidFrom, DateTimeOffset? ValidUntil);

/// <summary>What the consent keeps (an absent list keeps that part whole) and an earlier end; at least one of them.</summary>
public sealed record NarrowConsentRequest(
    IReadOnlyList<string>? Categories, IReadOnlyList<string>? Purposes, IReadOnlyList<string>? Actions, DateTimeOffset? ValidUntil);

public sealed record AccessRequest(string Purpose, IReadOnlyList<string> Categories);

public sealed record EmergencyAccessRequest(string Reason);

public sealed record InsuranceRequest(string Insurer, string PolicyReference, DateTimeOffset ValidFrom, DateTimeOffset ValidUntil);
