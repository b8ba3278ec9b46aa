using HealthEvents.Application.Serialization;
using HealthEvents.Application.Ports;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Patients;

namespace HealthEvents.Benchmarks;

/// <summary>
/// A generated patient history, as the benchmarks write it straight to a store: per patient three phases (registration
/// and early entries; consents and accesses; later entries, amendments, accesses, revocations) and a fourth that tops
/// the log up with entries to an exact size. About 20 events per patient, in transactions of up to 20 events.
/// </summary>
internal static class HistoryPlan
{
    private static readonly Category[] EntryCategories =
        [Category.Conditions, Category.Conditions, Category.Conditions, Category.Medications, Category.Medications,
         Category.LabResults, Category.LabResults, Category.Allergies, Category.Vaccinations, Category.Imaging];

    private static readonly Dictionary<Category, (string System, string[] Codes)> CodeBook = new()
    {
        [Category.Conditions] = ("http://hl7.org/fhir/sid/icd-10", ["E11", "I10", "J45", "E78.5", "F41.1", "M54.5", "K21.9", "N39.0"]),
        [Category.Medications] = ("http://www.whocc.no/atc", ["A10BA02", "C09AA05", "R03AC02", "C10AA05", "N02BE01"]),
        [Category.LabResults] = ("http://loinc.org", ["4548-4", "2345-7", "2093-3", "718-7"]),
        [Category.Allergies] = ("http://snomed.info/sct", ["91936005", "300913006"]),
        [Category.Vaccinations] = ("http://snomed.info/sct", ["871875004", "1119349007"]),
        [Category.Imaging] = ("http://loinc.org", ["36643-5", "24627-2"]),
    };

    /// <summary>The hospitals of the research benchmark's history (no network: only the projections read it).</summary>
    public static readonly string[] ResearchHospitals = ["h1", "h2", "h3"];

    /// <summary>One patient's history in three appends (phases), interleaved across patients by concurrent writers.</summary>
    internal sealed class PatientPlan(Guid id, int seed)
    {
        /// <summary>The i-th generated patient's id (deterministic, so a run can name its patients again).</summary>
        public static Guid IdOf(int i) => new(i + 1, 0xbe, 0xef, [0x80, 0, 0, 0, 0, 0, 0, 1]);

        public byte[] LastHash { get; set; } = Application.Ledger.HashChain.Genesis;

        public Guid Id { get; } = id;
        public Random Random { get; } = new(seed);
        public long Version { get; set; } = -1;
        public string Home { get; set; } = "h1";
        public List<Guid> Entries { get; } = [];
        public Guid? ResearchConsent { get; set; }
    }

    internal sealed record Planned(IPatientEvent Event, ProposedEvent Proposed);

    /// <summary>The next transaction of <paramref name="p"/> in <paramref name="phase"/> (0-3): its events, stamped <paramref name="occurredAt"/>, by <paramref name="hospitals"/>' staff.</summary>
    /// <param name="fill">Phase 3: how many entries to add (at most 20).</param>
    public static List<Planned> EventsOf(PatientPlan p, int phase, DateTimeOffset start, DateTimeOffset occurredAt, long fill, string[] hospitals)
    {
        var r = p.Random;
        var events = new List<(IPatientEvent Event, Actor Actor)>();
        var doctor = new Actor($"{p.Home}-physician", Role.Physician, p.Home);
        var self = new Actor($"patient-{p.Id:N}", Role.Patient, p.Home, p.Id);
        DateTimeOffset Day() => start.AddDays(r.Next(0, 3650)).AddMinutes(r.Next(0, 1440));

        void Entry()
        {
            var category = EntryCategories[r.Next(EntryCategories.Length)];
            var (system, codes) = CodeBook[category];
            var id = Guid.NewGuid();
            p.Entries.Add(id);
            events.Add((new RecordEntryAdded(id, category, system, codes[r.Next(codes.Length)],
                "v1.dk." + Convert.ToBase64String(Guid.NewGuid().ToByteArray()) + new string('A', 96), Day(), doctor.Id, doctor.Hospital), doctor));
        }

        switch (phase)
        {
            case 0:
                p.Home = hospitals[r.Next(hospitals.Length)];
                doctor = new Actor($"{p.Home}-physician", Role.Physician, p.Home);
                events.Add((new PatientRegistered(p.Id, p.Home, r.Next(1930, 2015), r.Next(2) == 0 ? Sex.Female : Sex.Male,
                    "v1.dk." + new string('B', 120)), doctor));
                for (var i = r.Next(5, 9); i > 0; i--) Entry();
                break;
            case 1:
                if (r.NextDouble() < 0.6)
                {
                    p.ResearchConsent = Guid.NewGuid();
                    events.Add((new ConsentGranted(p.ResearchConsent.Value, Grantee.OfRole(Role.Researcher),
                        [Category.Conditions, Category.Medications, Category.LabResults], [Purpose.Research], [AccessAction.Read],
                        start, r.NextDouble() < 0.2 ? DateTimeOffset.UtcNow.AddYears(1) : null), self));
                }
                events.Add((new ConsentGranted(Guid.NewGuid(), Grantee.Hospital(hospitals[r.Next(hospitals.Length)]), [Category.Allergies, Category.Medications],
                    [Purpose.Treatment], [AccessAction.Read], start, null), self));
                for (var i = r.Next(2, 5); i > 0; i--)
                {
                    var other = new Actor($"{hospitals[r.Next(3)]}-nurse", Role.Nurse, hospitals[r.Next(3)]);
                    events.Add(r.NextDouble() < 0.7
                        ? (new AccessGranted(Guid.NewGuid(), other, Purpose.Treatment, [Category.Allergies], [Category.Allergies], [Guid.NewGuid()]), other)
                        : (new AccessDenied(Guid.NewGuid(), other, Purpose.Treatment, [Category.MentalHealth], DenialReasons.NoConsent), other));
                }
                break;
            case 2:
                for (var i = r.Next(3, 8); i > 0; i--) Entry();
                for (var i = r.Next(1, 4); i > 0; i--)
                {
                    var other = new Actor($"{hospitals[r.Next(3)]}-physician", Role.Physician, hospitals[r.Next(3)]);
                    events.Add((new AccessGranted(Guid.NewGuid(), other, Purpose.Treatment, [Category.Allergies], [Category.Allergies], [Guid.NewGuid()]), other));
                }
                if (p.Entries.Count > 0 && r.NextDouble() < 0.3)
                    events.Add((new RecordEntryAmended(p.Entries[r.Next(p.Entries.Count)], "v1.dk." + new string('C', 120), "correction", doctor.Id, doctor.Hospital), doctor));
                if (p.ResearchConsent is { } consent && r.NextDouble() < 0.05)
                    events.Add((new ConsentRevoked(consent), self));
                break;
            default:
                while (events.Count < fill) Entry();
                break;
        }
        return events.Select(x => new Planned(x.Event, new ProposedEvent(Guid.NewGuid(), EventSerializer.Default.NameOf(x.Event),
            EventSerializer.Default.Serialize(x.Event),
            new EventMetadata(x.Actor.Id, x.Actor.Role, x.Actor.Hospital, Guid.NewGuid(), Guid.NewGuid(), occurredAt).ToBytes()))).ToList();
    }
}
