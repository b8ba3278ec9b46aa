namespace HealthEvents.Domain.Patients;

public sealed record InsurancePeriod(
    string Insurer, DateTimeOffset ValidFrom, DateTimeOffset ValidUntil, DateTimeOffset? EndedAt)
{
    /// <summary>ValidFrom inclusive; ValidUntil and EndedAt exclusive.</summary>
    public bool Covers(DateTimeOffset at) =>
        ValidFrom <= at && at < ValidUntil && (EndedAt is not { } ended || at < ended);
}
