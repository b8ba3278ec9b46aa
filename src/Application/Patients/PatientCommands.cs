using HealthEvents.Application.Commands;
using HealthEvents.Application.Ports;
using HealthEvents.Domain.Patients;

namespace HealthEvents.Application.Patients;

/// <summary>The patient stream's entry point for handlers: one place that names the stream and the decider.</summary>
public sealed class PatientCommands(CommandExecutor executor, IClock clock)
{
    public const string StreamPrefix = "patient-";

    public static string StreamId(Guid patientId) => StreamPrefix + patientId;

    public Task<CommandResult<IPatientEvent>> ExecuteAsync(
        Guid patientId, Func<DateTimeOffset, IPatientCommand> command, CommandContext context, CancellationToken ct)
    {
        var at = clock.UtcNow;
        return executor.ExecuteAsync<PatientDecider, PatientState, IPatientCommand, IPatientEvent>(
            StreamId(patientId), command(at), at, context, ct);
    }
}
