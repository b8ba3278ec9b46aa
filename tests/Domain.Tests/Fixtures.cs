namespace HealthEvents.Domain.Tests;

public static class Ids
{
    public static Guid Of(int n) => new($"00000000-0000-0000-0000-{n:D12}");
}

public static class Times
{
    public static readonly DateTimeOffset Now = new(2025, 3, 1, 10, 0, 0, TimeSpan.Zero);

    public static DateTimeOffset Days(int days) => Now.AddDays(days);
}

public static class Hospitals
{
    public const string Home = "st-olav";
    public const string Other = "haukeland";
    public const string Third = "ahus";
}

public static class Actors
{
    public static readonly Guid PatientId = Ids.Of(1);

    public static readonly Actor Physician = new("dr-home", Role.Physician, Hospitals.Home);
    public static readonly Actor Nurse = new("nurse-home", Role.Nurse, Hospitals.Home);
    public static readonly Actor Admin = new("admin-home", Role.Admin, Hospitals.Home);
    public static readonly Actor OtherPhysician = new("dr-other", Role.Physician, Hospitals.Other);
    public static readonly Actor OtherNurse = new("nurse-other", Role.Nurse, Hospitals.Other);
    public static readonly Actor OtherPharmacist = new("pharmacist-other", Role.Pharmacist, Hospitals.Other);
    public static readonly Actor HomeCareNurse = new("home-care-other", Role.HomeCare, Hospitals.Other);
    public static readonly Actor OtherAdmin = new("admin-other", Role.Admin, Hospitals.Other);
    public static readonly Actor ThirdPhysician = new("dr-third", Role.Physician, Hospitals.Third);
    public static readonly Actor Researcher = new("researcher-1", Role.Researcher, Hospitals.Other);
    public static readonly Actor Patient = new("patient-1", Role.Patient, Hospitals.Home, PatientId);
    public static readonly Actor OtherPatient = new("patient-2", Role.Patient, Hospitals.Home, Ids.Of(2));
}
