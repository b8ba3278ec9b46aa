using Marten;

namespace HealthEvents.Projections.Views.Insurance;

/// <summary>A patient's insurance periods, oldest first; InsuranceEnded ends the latest open one.</summary>
public sealed record InsuranceDocument
{
    /// <summary>The patient id (the document id).</summary>
    public Guid Id { get; init; }

    public Guid PatientId { get; init; }
    public IReadOnlyList<InsurancePeriodView> Periods { get; init; } = [];
}

/// <summary>ValidFrom inclusive; ValidUntil and EndedAt exclusive (as the domain's InsurancePeriod).</summary>
public sealed record InsurancePeriodView(
    string Insurer, DateTimeOffset ValidFrom, DateTimeOffset ValidUntil, DateTimeOffset? EndedAt, DateTimeOffset LinkedAt)
{
    public bool Covers(DateTimeOffset at) => ValidFrom <= at && at < ValidUntil && (EndedAt is not { } ended || at < ended);

    /// <summary>When cover actually stops: the earlier of ValidUntil and EndedAt.</summary>
    public DateTimeOffset EffectiveUntil => EndedAt is { } ended && ended < ValidUntil ? ended : ValidUntil;
}

/// <summary>Whether a patient is insured at a date; insurer and end of cover only when valid.</summary>
public sealed record InsuranceValidity(bool Valid, string? Insurer, DateTimeOffset? ValidUntil)
{
    public static readonly InsuranceValidity None = new(false, null, null);
}

public sealed class InsuranceQuery(ReadModelStore readModels)
{
    /// <summary>The insurance covering the patient at <paramref name="at"/> (the latest linked period that covers it).</summary>
    public async Task<InsuranceValidity> ValidityAtAsync(Guid patientId, DateTimeOffset at, CancellationToken ct = default)
    {
        await using var session = await readModels.QuerySessionAsync(ct);
        var doc = await session.LoadAsync<InsuranceDocument>(patientId, ct);
        var period = doc?.Periods.LastOrDefault(p => p.Covers(at));
        return period is null ? InsuranceValidity.None : new InsuranceValidity(true, period.Insurer, period.EffectiveUntil);
    }
}
