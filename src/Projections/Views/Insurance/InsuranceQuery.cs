using Marten;

namespace HealthEvents.Projections.Views.Insurance;

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
