using HealthEvents.Application.Ports;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Network;
using HealthEvents.Domain.Patients;

namespace HealthEvents.Projections.Tests;

/// <summary>
/// A realistic history: patient P with records, consents (active, upcoming, expired, revoked), granted, denied and
/// emergency accesses, amendments, a retraction and insurance; patient Q who is forgotten; a network event and an
/// event of an unknown type in between.
/// </summary>
public sealed class PatientHistory
{
    public static readonly DateTimeOffset T0 = new(2025, 3, 1, 8, 0, 0, TimeSpan.Zero);

    public required PatientWriter P { get; init; }
    public required PatientWriter Q { get; init; }
    public Guid AllergyEntry { get; } = Guid.NewGuid();
    public Guid MentalEntry { get; } = Guid.NewGuid();
    public Guid LabEntry { get; } = Guid.NewGuid();
    public Guid QEntry { get; } = Guid.NewGuid();
    public Guid ConsentDrB { get; } = Guid.NewGuid();
    public Guid ConsentH2Upcoming { get; } = Guid.NewGuid();
    public Guid ConsentHomeCareExpired { get; } = Guid.NewGuid();
    public Guid ConsentNurseOpen { get; } = Guid.NewGuid();
    public Guid ConsentQ { get; } = Guid.NewGuid();
    public List<EventEnvelope> Envelopes { get; } = [];
    public GlobalPosition Last => Envelopes.MaxBy(e => e.Position)!.Position!.Value;

    /// <summary>Versions of P's stream by action, to check the audit rows.</summary>
    public Dictionary<long, EventEnvelope> PByVersion { get; } = [];

    public static async Task<PatientHistory> WriteAsync(ProjectionDatabase db)
    {
        var h = new PatientHistory { P = db.Patient(), Q = db.Patient() };
        await h.WriteAsync(db.Events);
        return h;
    }

    private async Task<AppendResult> P_(Actor actor, params IPatientEvent[] events)
    {
        var r = await P.AppendAsync(actor, events);
        Envelopes.AddRange(r.Events);
        foreach (var e in r.Events) PByVersion[e.Version] = e;
        return r;
    }

    private async Task WriteAsync(IEventStore store)
    {
        var pid = P.Id;
        // v0, then v1+v2 in one transaction (endorsed by h1, h2, h3)
        await P_(PatientWriter.DrA, new PatientRegistered(pid, "h1", 1961, Sex.Female, "enc-demographics"));
        P.Endorsers = ["h1", "h2", "h3"];
        await P_(PatientWriter.DrA,
            new RecordEntryAdded(AllergyEntry, Category.Allergies, "http://snomed.info/sct", "91936005", "enc-allergy-v1", T0.AddMinutes(1), "dr-a", "h1"),
            new RecordEntryAdded(MentalEntry, Category.MentalHealth, "http://snomed.info/sct", "35489007", "enc-mental", T0.AddMinutes(1), "dr-a", "h1"));
        P.Endorsers = ["h1", "h2"];

        // a network event and an unknown type in the global log between P's events
        var network = await store.AppendAsync("network", ExpectedVersion.Any,
            [new ProposedEvent(Guid.NewGuid(), "network.practitioner-registered.v1",
                HealthEvents.Application.Serialization.EventSerializer.Default.Serialize(new PractitionerRegistered("h1", "dr-z", Role.Nurse)),
                new HealthEvents.Application.Serialization.EventMetadata("genesis", Role.Admin, "h1", Guid.NewGuid(), Guid.NewGuid(), T0).ToBytes())]);
        Envelopes.AddRange(network.Events);

        // v3..v6: consents (dr-b, h2 not started yet, home-care already expired, nurse-x open-ended)
        await P_(P.Self, new ConsentGranted(ConsentDrB, Grantee.Practitioner("dr-b"), [Category.Allergies, Category.Medications],
            [Purpose.Treatment], [AccessAction.Read], T0, T0.AddDays(30)));
        await P_(P.Self, new ConsentGranted(ConsentH2Upcoming, Grantee.Hospital("h2"), [Category.LabResults],
            [Purpose.Treatment], [AccessAction.Read], T0.AddDays(60), null));
        await P_(P.Self, new ConsentGranted(ConsentHomeCareExpired, Grantee.OfRole(Role.HomeCare), [Category.Medications],
            [Purpose.Treatment], [AccessAction.Read], T0.AddDays(-10), T0.AddDays(-1)));
        await P_(P.Self, new ConsentGranted(ConsentNurseOpen, Grantee.Practitioner("nurse-x"), [Category.Vaccinations],
            [Purpose.Treatment], [AccessAction.Read, AccessAction.Write], T0, null));

        // v7 granted, v8 denied, v9 unknown type, v10 emergency
        await P_(PatientWriter.DrB, new AccessGranted(Guid.NewGuid(), PatientWriter.DrB, Purpose.Treatment,
            [Category.Allergies, Category.MentalHealth], [Category.Allergies], [ConsentDrB]));
        await P_(PatientWriter.NurseX, new AccessDenied(Guid.NewGuid(), PatientWriter.NurseX, Purpose.Research,
            [Category.Genetics], "no-active-consent"));
        Envelopes.AddRange((await P.AppendUnknownAsync()).Events); // v9: a type unknown to this build, skipped
        await P_(PatientWriter.DrC, new EmergencyAccessUsed(Guid.NewGuid(), PatientWriter.DrC, "unconscious on arrival",
            [Category.Allergies, Category.Medications]));

        // amend, add, retract
        await P_(PatientWriter.DrA, new RecordEntryAmended(AllergyEntry, "enc-allergy-v2", "dose corrected", "dr-a", "h1"));
        await P_(PatientWriter.DrA, new RecordEntryAdded(LabEntry, Category.LabResults, "http://loinc.org", "2345-7", "enc-lab", T0.AddHours(2), "dr-a", "h1"));
        await P_(PatientWriter.DrA, new RecordEntryRetracted(MentalEntry, "entered in error", "dr-a", "h1"));

        // revoke dr-b's consent, insurance linked then ended
        await P_(P.Self, new ConsentRevoked(ConsentDrB));
        await P_(PatientWriter.Admin, new InsuranceLinked("acme-health", "policy-hash", T0, T0.AddYears(1)));
        await P_(PatientWriter.Admin, new InsuranceEnded(T0.AddMonths(6)));
        await P_(PatientWriter.Admin, new InsuranceLinked("other-insurer", "policy-hash-2", T0.AddMonths(7), T0.AddYears(2)));

        // Q: registered, an entry, a consent, then forgotten
        var q = Q.Id;
        Envelopes.AddRange((await Q.AppendAsync(PatientWriter.DrB, new PatientRegistered(q, "h2", 1980, Sex.Male, "enc-q"))).Events);
        Envelopes.AddRange((await Q.AppendAsync(PatientWriter.DrB,
            new RecordEntryAdded(QEntry, Category.Conditions, "http://snomed.info/sct", "44054006", "enc-q-entry", T0, "dr-b", "h2"))).Events);
        Envelopes.AddRange((await Q.AppendAsync(Q.Self, new ConsentGranted(ConsentQ, Grantee.Hospital("h1"), [Category.Conditions],
            [Purpose.Treatment], [AccessAction.Read], T0, null))).Events);
        Envelopes.AddRange((await Q.AppendAsync(Q.Self, new PatientForgotten(Q.Now))).Events);
    }
}
