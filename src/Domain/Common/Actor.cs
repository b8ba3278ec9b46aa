namespace HealthEvents.Domain.Common;

public enum Role { Physician, Nurse, HomeCare, Pharmacist, Admin, Researcher, Patient }

/// <summary>Who issues a command: the authenticated subject, their role and hospital (patients: their patient id).</summary>
public sealed record Actor(string Id, Role Role, string Hospital, Guid? PatientId = null)
{
    public bool IsPractitioner => Role is Role.Physician or Role.Nurse or Role.HomeCare or Role.Pharmacist or Role.Admin;

    public bool IsPatient(Guid patientId) => Role == Role.Patient && PatientId == patientId;
}
