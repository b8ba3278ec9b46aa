using System.Collections.Concurrent;
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
    private const int MaxHomes = 100_000;

    // A registration is the stream's first event and names the home hospital for good: once seen, no read is needed
    // to know it, so a patient's every request is not a database round trip.
    private readonly ConcurrentDictionary<Guid, string> _homes = new();

    /// <summary>
    /// The patient's state as this node folded it. By default a state it cached is taken without reading the stream's
    /// first event again (<see cref="StreamLoader"/>), so a patient whose stream's start was hidden since still reaches the
    /// verification that reports it; every command on the stream re-reads the start when it is decided.
    /// </summary>
    /// <param name="rereadStart">True for what a decision rests on beyond the stream's own command (an endorser judging a research use by the patient's consents).</param>
    public async Task<PatientState> StateAsync(Guid patientId, CancellationToken ct, bool rereadStart = false)
    {
        var state = (await loader.LoadAsync<PatientDecider, PatientState, IPatientCommand, IPatientEvent>(
            PatientStream.StreamId(patientId), ct, rereadStart: rereadStart)).State;
        if (state.Registered) Remember(patientId, state.HomeHospital);
        return state;
    }

    /// <summary>Whether <paramref name="actor"/> is a registered patient vouched for by their home hospital.</summary>
    public async Task<bool> IsThePatientAsync(Actor actor, CancellationToken ct)
    {
        if (actor is not { Role: Role.Patient, PatientId: { } id }) return false;
        if (_homes.TryGetValue(id, out var home)) return string.Equals(home, actor.Hospital, StringComparison.Ordinal);
        return (await StateAsync(id, ct)).IsThePatient(actor);
    }

    private void Remember(Guid patientId, string home)
    {
        if (_homes.Count >= MaxHomes) _homes.Clear(); // a miss only costs a read
        _homes.TryAdd(patientId, home);
    }
}
