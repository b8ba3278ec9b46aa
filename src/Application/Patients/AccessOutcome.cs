using HealthEvents.Application.Commands;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Patients;

namespace HealthEvents.Application.Patients;

/// <summary>
/// The answer to an access request. Granted or denied, the decision is already on the record;
/// entries are those of the released categories only, decrypted for this response.
/// </summary>
public sealed record AccessOutcome(
    Guid AccessId,
    bool Granted,
    bool Emergency,
    IReadOnlyList<Category> CategoriesReleased,
    string? Reason,
    IReadOnlyList<RecordEntryView> Entries,
    Receipt Receipt);

public sealed class AccessOutcomes(IRecordReader records)
{
    public async Task<AccessOutcome> FromAsync(Guid patientId, CommandResult<IPatientEvent> result, CancellationToken ct)
    {
        switch (result.Events.Single())
        {
            case AccessGranted g:
                return new(g.AccessId, true, false, g.CategoriesReleased, null,
                    await records.ReadEntriesAsync(patientId, g.CategoriesReleased, ct), result.Receipt);
            case EmergencyAccessUsed e:
                return new(e.AccessId, true, true, e.CategoriesReleased, e.Reason,
                    await records.ReadEntriesAsync(patientId, e.CategoriesReleased, ct), result.Receipt);
            case AccessDenied d:
                return new(d.AccessId, false, false, [], d.Reason, [], result.Receipt);
            default:
                throw new InvalidOperationException("An access decision produced an unexpected event.");
        }
    }
}
