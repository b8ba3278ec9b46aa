using HealthEvents.Domain.Common;

namespace HealthEvents.Domain.Patients;

/// <summary>An event of the <c>patient-{patientId}</c> stream.</summary>
public interface IPatientEvent : IEvent;
