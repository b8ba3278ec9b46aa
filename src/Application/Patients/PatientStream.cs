using HealthEvents.Application.Commands;
using HealthEvents.Application.Ports;
using HealthEvents.Domain.Patients;

namespace HealthEvents.Application.Patients;

/// <summary>The patient stream's entry point for handlers: one place that names the stream and the decider.</summary>
public sealed class PatientStream(CommandExecutor executor, IClock clock, PatientDirectory patients)
{
    /// <summary>Stands in for ciphertext while a sealed command is judged before anything is encrypted.</summary>
    public const string SealPending = "sealed-content-pending";

    public const string StreamPrefix = "patient-";

    public static string StreamId(Guid patientId) => StreamPrefix + patientId;

    /// <summary>
    /// The patient whose stream this is, only for the one canonical spelling (<see cref="StreamId"/>: lowercase, dashed).
    /// Another spelling of the same id (uppercase, braces, no dashes) would be a second stream for the same patient, in
    /// which a member could write what the patient's own stream would refuse; nothing reads or endorses it.
    /// </summary>
    public static bool TryParseStreamId(string? streamId, out Guid patientId)
    {
        patientId = default;
        return streamId is not null && streamId.StartsWith(StreamPrefix, StringComparison.Ordinal)
            && Guid.TryParseExact(streamId.AsSpan(StreamPrefix.Length), "D", out patientId)
            && string.Equals(StreamId(patientId), streamId, StringComparison.Ordinal);
    }

    public Task<CommandResult<IPatientEvent>> ExecuteAsync(
        Guid patientId, Func<DateTimeOffset, IPatientCommand> command, CommandContext context, CancellationToken ct)
    {
        var at = clock.UtcNow;
        return executor.ExecuteAsync<PatientDecider, PatientState, IPatientCommand, IPatientEvent>(
            StreamId(patientId), command(at), at, context, ct);
    }

    /// <summary>
    /// For commands that need a side effect on the patient's key first — content encrypted under it, or the key
    /// destroyed: the command is judged first, with a placeholder for the ciphertext, against the stream as it is — so
    /// a command that would be refused (not allowed, unknown patient) makes no data key, destroys none and stores
    /// nothing — then <paramref name="seal"/> runs and the real command goes the one command path, decided again there.
    /// </summary>
    public async Task<CommandResult<IPatientEvent>> ExecuteSealedAsync(
        Guid patientId, Func<CancellationToken, Task<string>> seal, Func<string, DateTimeOffset, IPatientCommand> command,
        CommandContext context, CancellationToken ct)
    {
        var at = clock.UtcNow;
        PatientDecider.Decide(command(SealPending, at), await patients.StateAsync(patientId, ct)); // throws the refusal
        var content = await seal(ct);
        return await executor.ExecuteAsync<PatientDecider, PatientState, IPatientCommand, IPatientEvent>(
            StreamId(patientId), command(content, at), at, context, ct);
    }
}
