using System.Collections.Concurrent;
using System.Text.Json;
using HealthEvents.Application.Serialization;
using HealthEvents.Projections.Runner;
using HealthEvents.Projections.Views.Audit;
using HealthEvents.Projections.Views.Consents;

namespace HealthEvents.Projections.Tests;

public sealed class RebuildTests : IAsyncLifetime
{
    private ProjectionDatabase _db = null!;

    public async Task InitializeAsync() => _db = await ProjectionDatabase.CreateAsync();

    public async Task DisposeAsync() => await _db.DisposeAsync();

    private sealed class Statistics(ProjectionDatabase db) : IEventLogStatistics
    {
        public async Task<long?> CountEventsAsync(CancellationToken ct = default) => await db.CountEventsAsync();
    }

    private sealed class SyncProgress : IProgress<RebuildProgress>
    {
        public ConcurrentQueue<RebuildProgress> Reports { get; } = new();
        public void Report(RebuildProgress value) => Reports.Enqueue(value);
    }

    private async Task<string> SnapshotAsync<T>(Func<T, Guid> id) where T : notnull =>
        JsonSerializer.Serialize((await _db.AllAsync<T>()).OrderBy(id).ToList(), Json.Options);

    [Fact]
    public async Task Rebuilding_one_projection_while_the_runner_is_live_yields_identical_documents_and_leaves_others_alone()
    {
        var history = await PatientHistory.WriteAsync(_db);
        var filler = await _db.AppendManyAsync(1100); // a few batches to replay
        var rm = _db.NewReadModels();
        IProjection[] views = [new AuditProjection(), new ConsentProjection()];
        var runner = _db.NewRunner(views, readModels: rm);
        await using var running = await runner.StartedAsync();
        await runner.WaitForOrFailAsync(filler[^1].Position!.Value);

        var auditBefore = await SnapshotAsync<AuditEntry>(a => a.Id);
        var categoriesBefore = await SnapshotAsync<AuditEntryCategory>(a => a.Id);
        var consentCheckpoint = JsonSerializer.Serialize(await _db.CheckpointAsync(ConsentProjection.ProjectionName));
        var consentsBefore = await SnapshotAsync<ConsentDocument>(c => c.Id);
        Assert.Contains(history.P.Id.ToString(), auditBefore);

        var progress = new SyncProgress();
        var rebuilder = new ProjectionRebuilder(_db.Events, rm, views, EventSerializer.Default, new Statistics(_db), ProjectionDatabase.FastOptions());
        var final = await rebuilder.RebuildAsync(AuditProjection.ProjectionName, progress);

        var total = await _db.CountEventsAsync();
        Assert.Equal(RebuildPhase.Completed, final.Phase);
        Assert.Equal(total, final.EventsDone);
        Assert.Equal(total, final.EventsTotal);
        var reports = progress.Reports.ToList();
        Assert.Equal(RebuildPhase.WaitingForLock, reports[0].Phase);
        var replaying = reports.Where(r => r.Phase == RebuildPhase.Replaying).ToList();
        Assert.True(replaying.Count >= 3);
        Assert.All(replaying, r => Assert.Equal(total, r.EventsTotal));
        Assert.Equal(replaying.Select(r => r.EventsDone).Order(), replaying.Select(r => r.EventsDone));
        Assert.True(final.EventsPerSecond > 0);

        Assert.Equal(auditBefore, await SnapshotAsync<AuditEntry>(a => a.Id));
        Assert.Equal(categoriesBefore, await SnapshotAsync<AuditEntryCategory>(a => a.Id));
        Assert.Equal(consentCheckpoint, JsonSerializer.Serialize(await _db.CheckpointAsync(ConsentProjection.ProjectionName)));
        Assert.Equal(consentsBefore, await SnapshotAsync<ConsentDocument>(c => c.Id));
        var auditCheckpoint = await _db.CheckpointAsync(AuditProjection.ProjectionName);
        Assert.Equal(total, auditCheckpoint!.EventsProcessed);

        // The runner takes the audit back after the rebuild and goes on from the rebuilt checkpoint.
        var more = await _db.AppendManyAsync(10);
        await runner.WaitForOrFailAsync(more[^1].Position!.Value);
        Assert.Equal(total + 10, (await _db.CheckpointAsync(AuditProjection.ProjectionName))!.EventsProcessed);
        Assert.Equal(Enumerable.Range(0, 18).Count(v => v != 9), (await new AuditQuery(rm).QueryAsync(history.P.Id)).Items.Count);
    }

    [Fact]
    public async Task Rebuilding_an_unknown_projection_is_refused()
    {
        var rebuilder = new ProjectionRebuilder(_db.Events, _db.NewReadModels(), [new AuditProjection()]);
        await Assert.ThrowsAsync<ArgumentException>(() => rebuilder.RebuildAsync("nope"));
    }
}
