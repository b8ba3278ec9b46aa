using HealthEvents.Domain.Common;
using HealthEvents.Domain.Patients;
using HealthEvents.Projections.Views.Audit;

namespace HealthEvents.Projections.Tests;

/// <summary>Filters and cursor paging over one patient with a long trail (and a neighbour whose rows must never show).</summary>
public sealed class AuditQueryTests : IAsyncLifetime
{
    private ProjectionDatabase _db = null!;
    private ReadModelStore _rm = null!;
    private PatientWriter _p = null!;
    private AuditQuery _query = null!;
    private static readonly DateTimeOffset T0 = PatientHistory.T0;

    public async Task InitializeAsync()
    {
        _db = await ProjectionDatabase.CreateAsync();
        _p = _db.Patient();
        var other = _db.Patient();
        await _p.AppendAsync(PatientWriter.DrA, new PatientRegistered(_p.Id, "h1", 1970, Sex.Female, "enc"));
        await other.AppendAsync(PatientWriter.DrA, new PatientRegistered(other.Id, "h1", 1971, Sex.Male, "enc"));
        // 120 accesses, one a minute: dr-b granted, nurse-x denied, every 10th an emergency by dr-c
        for (var i = 1; i <= 120; i++)
        {
            IPatientEvent e = i % 10 == 0
                ? new EmergencyAccessUsed(Guid.NewGuid(), PatientWriter.DrC, "emergency", [Category.Allergies])
                : i % 2 == 0
                    ? new AccessGranted(Guid.NewGuid(), PatientWriter.DrB, Purpose.Treatment, [Category.Allergies], [Category.Allergies], [Guid.NewGuid()])
                    : new AccessDenied(Guid.NewGuid(), PatientWriter.NurseX, Purpose.Treatment, [Category.Genetics], "no-active-consent");
            var actor = e switch { EmergencyAccessUsed => PatientWriter.DrC, AccessGranted => PatientWriter.DrB, _ => PatientWriter.NurseX };
            await _p.AppendAsync(actor, e);
            await other.AppendAsync(actor, e);
        }
        _rm = _db.NewReadModels();
        var runner = _db.NewRunner([new AuditProjection()], readModels: _rm);
        _db.Own(await runner.StartedAsync());
        var last = await _db.Events.ReadLastAsync(other.StreamId);
        await runner.WaitForOrFailAsync(last!.Position!.Value);
        _query = new AuditQuery(_rm);
    }

    public async Task DisposeAsync() => await _db.DisposeAsync();

    private async Task<List<AuditEntry>> AllPagesAsync(int limit, DateTimeOffset? from = null, DateTimeOffset? to = null,
        string? actor = null, string? action = null)
    {
        var all = new List<AuditEntry>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await _query.QueryAsync(_p.Id, from, to, actor, action, cursor, limit);
            Assert.True(page.Items.Count <= limit);
            if (page.Next is not null) Assert.Equal(limit, page.Items.Count);
            all.AddRange(page.Items);
            cursor = page.Next;
            Assert.True(++pages < 1000);
        } while (cursor is not null);
        return all;
    }

    [Fact]
    public async Task Cursor_paging_has_no_overlap_and_no_gap()
    {
        var all = await AllPagesAsync(limit: 7);
        Assert.Equal(Enumerable.Range(0, 121).Select(v => (long)v), all.Select(a => a.StreamVersion));
        Assert.All(all, a => Assert.Equal(_p.Id, a.PatientId));

        var exact = await AllPagesAsync(limit: 121); // one full page: no next
        Assert.Equal(121, exact.Count);
        var lastPage = await _query.QueryAsync(_p.Id, limit: 121);
        Assert.Null(lastPage.Next);
    }

    [Fact]
    public async Task Limit_defaults_to_50_and_is_capped_at_200()
    {
        var first = await _query.QueryAsync(_p.Id);
        Assert.Equal(50, first.Items.Count);
        Assert.NotNull(first.Next);
        Assert.Equal(121, (await _query.QueryAsync(_p.Id, limit: 1000)).Items.Count);
        await Assert.ThrowsAnyAsync<ArgumentException>(() => _query.QueryAsync(_p.Id, limit: 0));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => _query.QueryAsync(_p.Id, cursor: "not-a-cursor"));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => _query.QueryAsync(_p.Id, action: "drop-table"));
    }

    [Fact]
    public async Task Filters_by_time_actor_and_action_combine_with_paging()
    {
        // v0 at T0, access i at T0 + i minutes (the writer's clock moves a minute per append, both patients interleaved)
        var from = T0.AddMinutes(40);
        var to = T0.AddMinutes(80);
        var window = await AllPagesAsync(limit: 4, from: from, to: to);
        Assert.NotEmpty(window);
        Assert.All(window, a => Assert.True(a.At >= from && a.At < to));
        var everything = await AllPagesAsync(limit: 200);
        Assert.Equal(everything.Where(a => a.At >= from && a.At < to).Select(a => a.EventId), window.Select(a => a.EventId));

        var byNurse = await AllPagesAsync(limit: 9, actor: "nurse-x");
        Assert.Equal(60, byNurse.Count);
        Assert.All(byNurse, a => Assert.Equal(("nurse-x", "access-denied", AuditOutcomes.Denied), (a.Actor.Id, a.Action, a.Outcome)));

        var emergencies = await AllPagesAsync(limit: 5, action: "emergency-access");
        Assert.Equal(12, emergencies.Count);
        Assert.All(emergencies, a => Assert.Equal(AuditOutcomes.Emergency, a.Outcome));

        var combined = await AllPagesAsync(limit: 3, from: from, to: to, actor: "dr-b", action: "access-granted");
        Assert.Equal(everything.Where(a => a.At >= from && a.At < to && a.Actor.Id == "dr-b" && a.Action == "access-granted").Select(a => a.StreamVersion),
            combined.Select(a => a.StreamVersion));
        Assert.NotEmpty(combined);
        Assert.Empty((await _query.QueryAsync(_p.Id, actor: "dr-b", action: "access-denied")).Items);
    }
}
