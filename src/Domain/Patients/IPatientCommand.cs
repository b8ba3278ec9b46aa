using HealthEvents.Domain.Common;

namespace HealthEvents.Domain.Patients;

/// <summary>A command on one patient's stream. The actor and time come with it, never from a clock.</summary>
public interface IPatientCommand : IDomainCommand;
