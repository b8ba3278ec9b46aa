using HealthEvents.Application.Commands;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Patients;

namespace HealthEvents.Application.Patients;

/// <summary>
/// A patient's write-side state (the cached fold of their stream), for authorization decisions that must not wait
/// for a projection or depend on one: who speaks for the patient, who may see that they exist.
/// </summary>
public sealed class PatientDirectory(StreamLoader loader)
{
    public async Task<PatientState> StateAsync(Guid patientId, CancellationToken ct) =>
        (await loader.LoadAsync<PatientDecider, PatientState, IPatientCommand, IPatientEvent>(PatientCommands.StreamId(patientId), ct)).State;

    /// <summary>Whether <paramref name="actor"/> is a registered patient vouched for by their home hospital.</summary>
    public async Task<bool> IsThePatientAsync(Actor actor, CancellationToken ct) =>
        actor is { Role: Role.Patient, PatientId: { } id } && (await StateAsync(id, ct)).IsThePatient(actor);
}
