using System.Text.Json;
using HealthEvents.Application.Research;
using HealthEvents.Application.Serialization;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Patients;
using HealthEvents.Domain.Research;
using HealthEvents.Projections.Research;
using static HealthEvents.Projections.Tests.Research.CohortPatient;

namespace HealthEvents.Projections.Tests.Research;

/// <summary>Consent filter, revocation, expiry, forgetting, pseudonymisation and k-anonymity of a research projection over a small cohort.</summary>
public sealed class ResearchProjectionTests : IAsyncLifetime
{
    private ResearchBed _bed = null!;

    public async Task InitializeAsync() => _bed = await ResearchBed.CreateAsync();
    public async Task DisposeAsync() => await _bed.DisposeAsync();

    private static Dictionary<string, int?> BySex(ResearchResult r) =>
        r.View.Rows.ToDictionary(row => row.Group["sex"], row => row.Count);

    [Fact]
    public async Task Only_admitted_patients_count_and_they_leave_on_revocation_expiry_and_forgetting()
    {
        var db = _bed.Db;
        var until = ResearchBed.T0.AddMonths(2);
        var f1 = await WriteAsync(db, Sex.Female, 1960, ToResearchers());
        var f2 = await WriteAsync(db, Sex.Female, 1970, (Grantee.Practitioner("researcher-1"), [Category.Conditions], Purpose.Research, null));
        var f3 = await WriteAsync(db, Sex.Female, 1980, (Grantee.Hospital(ResearchBed.Organisation), [Category.Conditions], Purpose.Research, until));
        var m1 = await WriteAsync(db, Sex.Male, 1975, ToResearchers());
        var m5 = await WriteAsync(db, Sex.Male, 1990, ToResearchers(Category.Conditions, Category.Medications));
        // Not admitted: a consent for another category, for treatment, to another researcher, none at all.
        var m2 = await WriteAsync(db, Sex.Male, 1985, ToResearchers(Category.Medications));
        var m3 = await WriteAsync(db, Sex.Male, 1986, (Grantee.OfRole(Role.Researcher), [Category.Conditions], Purpose.Treatment, null));
        var f4 = await WriteAsync(db, Sex.Female, 1987, (Grantee.Practitioner("researcher-2"), [Category.Conditions], Purpose.Research, null));
        var m4 = await WriteAsync(db, Sex.Male, 1988);
        // Consent first, entry later: the entry still counts (consent is about use, evaluated when rows are computed).
        var late = db.Patient();
        await late.AppendAsync(PatientWriter.DrA, new PatientRegistered(late.Id, "h1", 1950, Sex.Male, "enc"));
        await late.AppendAsync(late.Self, new ConsentGranted(Guid.NewGuid(), Grantee.OfRole(Role.Researcher), [Category.Conditions],
            [Purpose.Research], [AccessAction.Read], ResearchBed.T0.AddDays(-1), null));
        var declared = await _bed.DeclareAsync("by-sex", [ResearchDimension.Sex], k: 2);
        var lateEntry = await late.AppendAsync(PatientWriter.DrA, new RecordEntryAdded(Guid.NewGuid(), Category.Conditions, "http://hl7.org/fhir/sid/icd-10", "E11",
            "enc-late", ResearchBed.T0, "dr-a", "h1"));

        await using var running = await _bed.Runner.StartedAsync();
        await _bed.CatchUpAsync("by-sex", lateEntry.Events[0].Position!.Value);
        Assert.True(declared.Events[0].Position < lateEntry.Events[0].Position);

        var r = (await _bed.Query.GetAsync("by-sex"))!;
        Assert.Equal(ResearchStatus.Live, r.View.Status);
        Assert.Equal(new Dictionary<string, int?> { ["female"] = 3, ["male"] = 3 }, BySex(r));
        Assert.Equal(new ResearchCount(6, false), r.View.Total);
        Assert.Equal(6, (await _bed.SubjectsAsync("by-sex")).Count);
        Assert.Equal(new[] { f1.Id, f2.Id, f3.Id, m1.Id, m5.Id, late.Id }.Order(), r.Uses.Select(u => u.PatientId));
        var m5Use = r.Uses.Single(u => u.PatientId == m5.Id);
        Assert.Equal([Category.Conditions], m5Use.Categories);
        Assert.Equal(m5.ConsentIds, m5Use.ConsentIds);
        Assert.DoesNotContain(r.Uses, u => new[] { m2.Id, m3.Id, f4.Id, m4.Id }.Contains(u.PatientId));

        // Revoked: m5 leaves the aggregate and the store.
        var revoked = await m5.Writer.AppendAsync(m5.Writer.Self, new ConsentRevoked(m5.ConsentIds[0]));
        var late2 = await late.AppendAsync(late.Self, new PatientForgotten(ResearchBed.T0));
        await _bed.CatchUpAsync("by-sex", late2.Events[0].Position!.Value);
        Assert.True(revoked.Events[0].Position < late2.Events[0].Position);
        r = (await _bed.Query.GetAsync("by-sex"))!;
        // One man left: his cell is suppressed, and the women's too, or the total would give his away by subtraction.
        Assert.Equal(new Dictionary<string, int?> { ["female"] = null, ["male"] = null }, BySex(r));
        Assert.All(r.View.Rows, row => Assert.True(row.Suppressed));
        Assert.Equal(new ResearchCount(4, false), r.View.Total);
        Assert.Equal(4, (await _bed.SubjectsAsync("by-sex")).Count);

        // Expired: f3's consent ends at T0 + 2 months; no event, the rows change with the clock.
        _bed.Clock.UtcNow = until;
        r = (await _bed.Query.GetAsync("by-sex"))!;
        Assert.Equal(new ResearchCount(3, false), r.View.Total);
        Assert.DoesNotContain(r.Uses, u => u.PatientId == f3.Id);

        // Forgotten: f2 goes as well.
        var forgotten = await f2.Writer.AppendAsync(f2.Writer.Self, new PatientForgotten(ResearchBed.T0));
        await _bed.CatchUpAsync("by-sex", forgotten.Events[0].Position!.Value);
        r = (await _bed.Query.GetAsync("by-sex"))!;
        Assert.Equal(new ResearchCount(2, false), r.View.Total);
        Assert.Equal(new[] { f1.Id, m1.Id }.Order(), r.Uses.Select(u => u.PatientId));
        Assert.All(r.View.Rows, row => Assert.True(row.Suppressed && row.Count is null));
        Assert.Equal(3, (await _bed.SubjectsAsync("by-sex")).Count); // f1, m1, and f3 (expired, still granted)
    }

    [Fact]
    public async Task A_narrowed_consent_counts_only_what_it_keeps_for_as_long_as_it_keeps_it()
    {
        var db = _bed.Db;
        var researchers = Grantee.OfRole(Role.Researcher);
        var both = ToResearchers(Category.Conditions, Category.Medications);
        var fewer = await WriteAsync(db, Sex.Female, 1960, both);
        var kept = await WriteAsync(db, Sex.Female, 1961, both);
        var alsoKept = await WriteAsync(db, Sex.Male, 1964, both);
        var treatmentOnly = await WriteAsync(db, Sex.Male, 1962, both);
        var shorter = await WriteAsync(db, Sex.Male, 1963, both);
        await _bed.DeclareAsync("by-sex", [ResearchDimension.Sex], k: 2, categories: [Category.Conditions, Category.Medications]);
        // Each has one conditions entry: narrowed to medications, it counts no more; without research, the subject goes;
        // ended earlier, it counts until then.
        await fewer.Writer.AppendAsync(fewer.Writer.Self, new ConsentNarrowed(fewer.ConsentIds[0], researchers, [Category.Medications],
            [Purpose.Research], [AccessAction.Read], null));
        await treatmentOnly.Writer.AppendAsync(treatmentOnly.Writer.Self, new ConsentNarrowed(treatmentOnly.ConsentIds[0], researchers,
            [Category.Conditions, Category.Medications], [Purpose.Treatment], [AccessAction.Read], null));
        var end = _bed.Clock.UtcNow.AddMonths(1);
        var last = await shorter.Writer.AppendAsync(shorter.Writer.Self, new ConsentNarrowed(shorter.ConsentIds[0], researchers,
            [Category.Conditions, Category.Medications], [Purpose.Research], [AccessAction.Read], end));

        await using var running = await _bed.Runner.StartedAsync();
        await _bed.CatchUpAsync("by-sex", last.Events[0].Position!.Value);
        var r = (await _bed.Query.GetAsync("by-sex"))!;
        Assert.Equal(new[] { kept.Id, alsoKept.Id, shorter.Id }.Order(), r.Uses.Select(u => u.PatientId));
        // The narrowed one stays (medications still count here) with nothing to count; the treatment-only one is gone.
        Assert.Equal(4, (await _bed.SubjectsAsync("by-sex")).Count);

        _bed.Clock.UtcNow = end;
        r = (await _bed.Query.GetAsync("by-sex"))!;
        Assert.Equal(new[] { kept.Id, alsoKept.Id }.Order(), r.Uses.Select(u => u.PatientId));
    }

    [Fact]
    public async Task Stored_research_documents_hold_no_patient_consent_or_entry_identifier_nor_any_content()
    {
        var db = _bed.Db;
        var patients = new List<CohortPatient>();
        for (var i = 0; i < 6; i++) patients.Add(await WriteAsync(db, i % 2 == 0 ? Sex.Female : Sex.Male, 1950 + i * 7, ToResearchers()));
        await _bed.DeclareAsync("by-age", [ResearchDimension.AgeBand, ResearchDimension.Code, ResearchDimension.EntryYear, ResearchDimension.Hospital]);
        var last = await _bed.DeclareAsync("by-sex", [ResearchDimension.Sex]);
        await using var running = await _bed.Runner.StartedAsync();
        await _bed.CatchUpAsync("by-age", last.Events[0].Position!.Value);
        await _bed.CatchUpAsync("by-sex", last.Events[0].Position!.Value);

        var stored = await _bed.StoredResearchJsonAsync();
        Assert.Equal(6 * 2 + 2, stored.Count); // a subject per patient per projection, a key per projection
        var secrets = patients.SelectMany(p => new[] { p.Id, p.EntryId }.Concat(p.ConsentIds))
            .SelectMany(id => new[] { id.ToString(), id.ToString("N"), Convert.ToBase64String(id.ToByteArray()) })
            .Concat(patients.Select(p => $"{p.EntryId:N}")).Concat(["enc-"])
            .ToList();
        foreach (var row in stored)
        foreach (var secret in secrets)
            Assert.DoesNotContain(secret, row, StringComparison.OrdinalIgnoreCase);

        // Each projection has its own key: the same patient has unrelated pseudonyms in the two.
        var pseudonyms = (await db.AllAsync<ResearchSubject>()).GroupBy(s => s.Projection).ToDictionary(g => g.Key, g => g.Select(s => s.Id.Split('/')[1]).ToHashSet());
        Assert.Empty(pseudonyms[ResearchProjectionNames.Of("by-age")].Intersect(pseudonyms[ResearchProjectionNames.Of("by-sex")]));
        // Only grouped facts are kept: the by-sex subjects have no birth year, code, year or hospital.
        Assert.All(await _bed.SubjectsAsync("by-sex"), s => Assert.True(s.BirthYear is null && s.Sex is not null
            && s.Entries.All(e => e.Code is null && e.Year is null && e.Hospital is null)));

        // What the researcher sees holds no patient either.
        var view = JsonSerializer.Serialize((await _bed.Query.GetAsync("by-age"))!.View, Json.Options);
        Assert.All(secrets, secret => Assert.DoesNotContain(secret, view, StringComparison.OrdinalIgnoreCase));
        Assert.Contains("\"age-band\"", view);
    }

    [Fact]
    public async Task A_projection_is_building_with_progress_until_it_has_replayed_the_log()
    {
        await WriteAsync(_bed.Db, Sex.Female, 1960, ToResearchers());
        await _bed.DeclareAsync("by-sex", [ResearchDimension.Sex]);
        var r = (await _bed.Query.GetAsync("by-sex"))!; // the runner is not running yet
        Assert.Equal(ResearchStatus.Building, r.View.Status);
        Assert.Equal(new ResearchProgress(0, await _bed.Db.CountEventsAsync()), r.View.Progress);
        Assert.Empty(r.View.Rows);
        Assert.Null(r.View.Total);
        Assert.Empty(r.Uses);
        Assert.Null(await _bed.Query.GetAsync("nope"));
    }
}
