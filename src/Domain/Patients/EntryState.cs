using HealthEvents.Domain.Common;

namespace HealthEvents.Domain.Patients;

public sealed record EntryState(Category Category, string AuthorHospital, bool Retracted);
