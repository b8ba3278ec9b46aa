using HealthEvents.TestSupport;
using System.Collections.Concurrent;
using System.Text.Json;
using HealthEvents.Application.Research;
using HealthEvents.Application.Serialization;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Patients;
using HealthEvents.Domain.Research;
using HealthEvents.Projections.Research;
using HealthEvents.Projections.Runner;
using HealthEvents.Projections.Views.Audit;
using static HealthEvents.Projections.Tests.Research.CohortPatient;

namespace HealthEvents.Projections.Tests.Research;

/// <summary>Research projections on the runner and the rebuilder: joining at run time, rebuilding one alone, and research uses in the audit view.</summary>
public sealed class ResearchRunnerTests : IAsyncLifetime
{
    private ResearchBed _bed = null!;

    public async Task InitializeAsync() => _bed = await ResearchBed.CreateAsync();
    public async Task DisposeAsync() => await _bed.DisposeAsync();

    private sealed class Reports : IProgress<RebuildProgress>
    {
        public ConcurrentQueue<RebuildProgress> All { get; } = new();
        public void Report(RebuildProgress value) => All.Enqueue(value);
    }

    [Fact]
    public async Task A_projection_added_to_a_running_runner_replays_from_the_start_and_a_known_name_is_not_added_twice()
    {
        var events = await _bed.Db.AppendManyAsync(700);
        await using var running = await _bed.Runner.StartedAsync();
        await _bed.Runner.WaitForOrFailAsync(events[^1].Position!.Value);

        var late = new CountingProjection("late");
        Assert.True(_bed.Runner.Add(late));
        Assert.False(_bed.Runner.Add(new CountingProjection("late")));
        Assert.False(_bed.Runner.Add(new AuditProjection()));
        Assert.True(await _bed.Runner.WaitForAsync("late", events[^1].Position!.Value, Patience.Deadline));
        Assert.Equal(700, (await _bed.Db.CheckpointAsync("late"))!.EventsProcessed);
        Assert.Contains("late", _bed.Runner.ProjectionNames);

        // A declaration in the research stream is picked up by polling the catalog, without anyone adding it.
        var declared = await _bed.DeclareAsync("polled", [ResearchDimension.Sex]);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!_bed.Runner.ProjectionNames.Contains(ResearchProjectionNames.Of("polled")) && DateTime.UtcNow < deadline) await Task.Delay(50);
        Assert.True(await _bed.Runner.WaitForAsync(ResearchProjectionNames.Of("polled"), declared.Events[0].Position!.Value, Patience.Deadline));
    }

    [Fact]
    public async Task Rebuilding_one_research_projection_with_progress_leaves_the_other_and_the_views_untouched()
    {
        for (var i = 0; i < 8; i++) await WriteAsync(_bed.Db, i % 3 == 0 ? Sex.Male : Sex.Female, 1940 + i * 6, ToResearchers());
        await _bed.Db.AppendManyAsync(1100);
        await _bed.DeclareAsync("by-sex", [ResearchDimension.Sex]);
        var last = await _bed.DeclareAsync("by-age", [ResearchDimension.AgeBand]);
        await using var running = await _bed.Runner.StartedAsync();
        await _bed.CatchUpAsync("by-sex", last.Events[0].Position!.Value);
        await _bed.CatchUpAsync("by-age", last.Events[0].Position!.Value);

        async Task<string> SnapshotAsync() => JsonSerializer.Serialize(new
        {
            ByAge = (await _bed.SubjectsAsync("by-age")).OrderBy(s => s.Id).ToList(),
            AgeCheckpoint = await _bed.Db.CheckpointAsync(ResearchProjectionNames.Of("by-age")),
            Audit = (await _bed.Db.AllAsync<AuditEntry>()).OrderBy(a => a.Id).ToList(),
            AuditCheckpoint = await _bed.Db.CheckpointAsync(AuditProjection.ProjectionName),
        }, Json.Options);
        var before = await SnapshotAsync();
        var rowsBefore = JsonSerializer.Serialize((await _bed.Query.GetAsync("by-sex"))!.View.Rows, Json.Options);
        var subjectsBefore = (await _bed.SubjectsAsync("by-sex")).Select(s => s.Id).ToHashSet();

        // The rebuilder learns research projections from the catalog, as `./run.sh rebuild research-by-sex` does.
        var rebuilder = new ProjectionRebuilder(_bed.Db.Events, _bed.ReadModels, [new AuditProjection()], EventSerializer.Default,
            _bed.Statistics, ProjectionDatabase.FastOptions(), null, [_bed.Catalog]);
        await rebuilder.RefreshAsync();
        Assert.Contains(ResearchProjectionNames.Of("by-sex"), rebuilder.ProjectionNames);
        var reports = new Reports();
        var final = await rebuilder.RebuildAsync(ResearchProjectionNames.Of("by-sex"), reports);

        var total = await _bed.Db.CountEventsAsync();
        Assert.Equal((RebuildPhase.Completed, total, total), (final.Phase, final.EventsDone, final.EventsTotal));
        var replaying = reports.All.Where(r => r.Phase == RebuildPhase.Replaying).ToList();
        Assert.True(replaying.Count >= 3);
        Assert.All(replaying, r => Assert.Equal(total, r.EventsTotal));

        Assert.Equal(before, await SnapshotAsync());
        // Same rows; a new research key, so new pseudonyms.
        Assert.True(await _bed.Runner.WaitForAsync(ResearchProjectionNames.Of("by-sex"), final.Position!.Value, Patience.Deadline));
        var rebuilt = (await _bed.Query.GetAsync("by-sex"))!;
        Assert.Equal(ResearchStatus.Live, rebuilt.View.Status);
        Assert.Equal(rowsBefore, JsonSerializer.Serialize(rebuilt.View.Rows, Json.Options));
        var subjectsAfter = (await _bed.SubjectsAsync("by-sex")).Select(s => s.Id).ToHashSet();
        Assert.Equal(subjectsBefore.Count, subjectsAfter.Count);
        Assert.Empty(subjectsBefore.Intersect(subjectsAfter));
    }

    [Fact]
    public async Task A_publication_shows_in_each_counted_patients_audit_after_their_events_and_pages_without_gap_or_overlap()
    {
        var p = await WriteAsync(_bed.Db, Sex.Female, 1960, ToResearchers());
        var q = await WriteAsync(_bed.Db, Sex.Male, 1970, ToResearchers());
        var other = await WriteAsync(_bed.Db, Sex.Male, 1971, ToResearchers());
        await _bed.DeclareAsync("by-sex", [ResearchDimension.Sex]);
        var publication = Guid.NewGuid();
        var published = await _bed.AppendResearchAsync(new ResearchResultsPublished("by-sex", publication, "researcher-1", "digest-1", 1, 1,
            [new ResearchUse(p.Id, [Category.Conditions], [p.ConsentIds[0]]), new ResearchUse(q.Id, [Category.Conditions], [q.ConsentIds[0]])],
            ResearchBed.T0));
        await _bed.AppendResearchAsync(new ResearchResultsPublished("by-sex", Guid.NewGuid(), "researcher-1", "digest-2", 1, 1,
            [new ResearchUse(p.Id, [Category.Conditions], [p.ConsentIds[0]])], ResearchBed.T0));
        var after = await p.Writer.AppendAsync(PatientWriter.DrA, new RecordEntryAmended(p.EntryId, "enc-2", "typo", "dr-a", "h1"));

        await using var running = await _bed.Runner.StartedAsync();
        await _bed.Runner.WaitForOrFailAsync(after.Events[0].Position!.Value);
        var audit = new AuditQuery(_bed.ReadModels);
        var rows = (await audit.QueryAsync(p.Id)).Items;
        Assert.Equal(["patient-registered", "entry-added", "consent-granted", "research-use", "research-use", "entry-amended"], rows.Select(r => r.Action));
        var use = rows[3];
        Assert.Equal((2L, published.Events[0].Version + 1, "research"), (use.StreamVersion, use.Sequence, use.SourceStream));
        Assert.Equal(("researcher-1", Role.Researcher, "by-sex"), (use.Actor.Id, use.Actor.Role, use.ResearchProjection));
        Assert.Equal((Purpose.Research, p.ConsentIds[0]), (use.Purpose, use.ConsentId));
        Assert.Equal([Category.Conditions], use.Categories);
        Assert.Equal(Convert.ToHexStringLower(published.Events[0].Hash), use.Hash);
        Assert.Equal(published.Events[0].EventId, use.EventId);

        Assert.Single((await audit.QueryAsync(q.Id, action: AuditActions.ResearchUse)).Items);
        Assert.Empty((await audit.QueryAsync(other.Id, action: AuditActions.ResearchUse)).Items);

        // Paging one row at a time crosses the research rows (same stream version, higher sequence) exactly once.
        var paged = new List<Guid>();
        string? cursor = null;
        do
        {
            var page = await audit.QueryAsync(p.Id, cursor: cursor, limit: 1);
            paged.AddRange(page.Items.Select(i => i.Id));
            cursor = page.Next;
        } while (cursor is not null);
        Assert.Equal(rows.Select(r => r.Id), paged);
    }
}
