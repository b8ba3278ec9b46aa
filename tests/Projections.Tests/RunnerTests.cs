using HealthEvents.TestSupport;
using HealthEvents.Application.Ports;
using HealthEvents.Projections.Runner;
using HealthEvents.Projections.Views.Audit;

namespace HealthEvents.Projections.Tests;

public sealed class RunnerTests : IAsyncLifetime
{
    private ProjectionDatabase _db = null!;

    public async Task InitializeAsync() => _db = await ProjectionDatabase.CreateAsync();

    public async Task DisposeAsync() => await _db.DisposeAsync();

    [Fact]
    public async Task A_projection_failing_mid_batch_for_a_while_backs_off_and_applies_every_event_exactly_once()
    {
        var events = await _db.AppendManyAsync(1200);
        var poison = events[700].EventId; // mid-way through the second batch of 500
        var failures = 0;
        var counting = new CountingProjection("count", e => e.Envelope.EventId == poison && Interlocked.Increment(ref failures) <= 3)
            { Failure = CountingProjection.Timeout }; // the moment's, not the event's: retried, never parked
        var logger = new CapturingLogger<ProjectionRunner>();
        var runner = _db.NewRunner([counting], logger: logger);
        await using (await runner.StartedAsync())
        {
            await runner.WaitForOrFailAsync(events[^1].Position!.Value);
            var status = Assert.Single(runner.Status);
            Assert.True(status.RunningHere);
            Assert.True(status.CaughtUp);
            Assert.Null(status.LastErrorType);
        }
        Assert.Equal(4, failures);
        await _db.AssertAppliedExactlyOnceAsync("count", events);
        Assert.Empty(await _db.AllAsync<ParkedEvent>());

        // Logged: projection, position, exception type; never the message (it may carry personal data).
        var lines = logger.Lines.ToList();
        var failed = lines.Where(l => l.Message.Contains("failed at position", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, failed.Count);
        Assert.All(failed, l => Assert.Contains($"count failed at position {events[700].Position}", l.Message));
        Assert.All(failed, l => Assert.Contains(typeof(TimeoutException).FullName!, l.Message));
        Assert.All(lines, l => Assert.Null(l.Exception));
        Assert.DoesNotContain(lines, l => l.Message.Contains("HIV", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_projection_failing_for_good_on_the_moment_keeps_the_prefix_and_a_restarted_runner_finishes_exactly_once()
    {
        var events = await _db.AppendManyAsync(600);
        var poison = events[250].EventId;
        var stuck = new CountingProjection("count", e => e.Envelope.EventId == poison) { Failure = CountingProjection.Timeout };
        var runner = _db.NewRunner([stuck]);
        await using (await runner.StartedAsync())
        {
            // The batch before the poison event is committed on its own; the poison event then fails again and again.
            Assert.True(await runner.WaitForAsync("count", events[249].Position!.Value, Patience.Deadline));
            await WaitUntilAsync(() => runner.Status[0].ConsecutiveFailures >= 3);
            var status = runner.Status[0];
            Assert.Equal(events[249].Position, status.Checkpoint);
            Assert.Equal(typeof(TimeoutException).FullName, status.LastErrorType);
            Assert.Equal(events[250].Position, status.FailingPosition);
            Assert.False(status.CaughtUp);
        }
        Assert.Equal(events[249].Position, (await _db.CheckpointAsync("count"))!.Position);

        var fixedRunner = _db.NewRunner([new CountingProjection("count")]);
        await using (await fixedRunner.StartedAsync())
            await fixedRunner.WaitForOrFailAsync(events[^1].Position!.Value);
        await _db.AssertAppliedExactlyOnceAsync("count", events);
    }

    [Fact]
    public async Task Stopping_mid_stream_and_starting_a_new_runner_loses_and_repeats_nothing()
    {
        var events = await _db.AppendManyAsync(3000, streams: 10, perAppend: 50);
        var first = _db.NewRunner([new CountingProjection("a"), new CountingProjection("b")], ProjectionDatabase.FastOptions(batchSize: 100));
        await using (await first.StartedAsync())
            await WaitUntilAsync(() => first.Status.All(s => s.EventsProcessed >= 500));
        var stoppedAt = first.Status.Select(s => s.EventsProcessed).ToList();
        Assert.All(stoppedAt, n => Assert.True(n < events.Count, "stopped before the end"));

        // More events arrive while no runner runs; the next runner continues from the checkpoints.
        events.AddRange(await _db.AppendManyAsync(200));
        var second = _db.NewRunner([new CountingProjection("a"), new CountingProjection("b")], ProjectionDatabase.FastOptions(batchSize: 100));
        await using (await second.StartedAsync())
        {
            await second.WaitForOrFailAsync(events[^1].Position!.Value);
            // live: appended after catching up, applied from the subscription (how fast is the benchmark's business)
            var live = await _db.AppendManyAsync(3);
            events.AddRange(live);
            await second.WaitForOrFailAsync(live[^1].Position!.Value);
        }
        await _db.AssertAppliedExactlyOnceAsync("a", events);
        await _db.AssertAppliedExactlyOnceAsync("b", events);
    }

    [Fact]
    public async Task Two_runners_on_one_database_run_each_projection_once_and_fail_over()
    {
        var events = await _db.AppendManyAsync(400);
        var one = _db.NewRunner([new CountingProjection("a"), new CountingProjection("b")]);
        var two = _db.NewRunner([new CountingProjection("a"), new CountingProjection("b")]);
        var stopOne = await one.StartedAsync();
        await using (await two.StartedAsync())
        {
            await WaitUntilAsync(() => one.Status.Concat(two.Status).Count(s => s.RunningHere) == 2);
            events.AddRange(await _db.AppendManyAsync(400));
            await one.WaitForOrFailAsync(events[^1].Position!.Value);
            await two.WaitForOrFailAsync(events[^1].Position!.Value); // the node not running a projection reads its checkpoint
            foreach (var name in new[] { "a", "b" })
                Assert.Single(one.Status.Concat(two.Status), s => s.Name == name && s.RunningHere);
            await _db.AssertAppliedExactlyOnceAsync("a", events);
            await _db.AssertAppliedExactlyOnceAsync("b", events);

            // The first node stops: the second takes over whatever it ran.
            await stopOne.DisposeAsync();
            await WaitUntilAsync(() => two.Status.All(s => s.RunningHere));
            events.AddRange(await _db.AppendManyAsync(100));
            await two.WaitForOrFailAsync(events[^1].Position!.Value);
        }
        await _db.AssertAppliedExactlyOnceAsync("a", events);
        await _db.AssertAppliedExactlyOnceAsync("b", events);
    }

    [Fact]
    public async Task WaitFor_gives_read_your_writes_and_times_out_when_nothing_runs()
    {
        var rm = _db.NewReadModels();
        // The schema first: the 300 ms below is for the wait, not for creating tables on a busy machine.
        await rm.EnsureSchemaAsync();
        var idle = _db.NewRunner([new AuditProjection()], readModels: rm);
        var p = _db.Patient();
        var appended = await p.AppendAsync(PatientWriter.DrA, new Domain.Patients.PatientRegistered(p.Id, "h1", 1990, Domain.Common.Sex.Other, "enc"));
        Assert.False(await idle.WaitForAsync(appended.Events[0].Position!.Value, TimeSpan.FromMilliseconds(300)));

        var runner = _db.NewRunner([new AuditProjection()], readModels: rm);
        await using (await runner.StartedAsync())
        {
            await runner.WaitForOrFailAsync(appended.Events[0].Position!.Value);
            var next = await p.AppendAsync(PatientWriter.DrB, new Domain.Patients.AccessDenied(
                Guid.NewGuid(), PatientWriter.DrB, Domain.Common.Purpose.Treatment, [Domain.Common.Category.Allergies], "no-consent"));
            Assert.True(await runner.WaitForAsync(AuditProjection.ProjectionName, next.Events[0].Position!.Value, Patience.Deadline));
            var page = await new AuditQuery(rm).QueryAsync(p.Id);
            Assert.Equal(["patient-registered", "access-denied"], page.Items.Select(i => i.Action));
        }
    }

    [Fact]
    public async Task A_batch_from_a_stale_checkpoint_is_refused_whole()
    {
        var events = await _db.AppendManyAsync(30);
        var rm = _db.NewReadModels();
        await rm.EnsureSchemaAsync();
        var applier = new ProjectionApplier(rm, Application.Serialization.EventSerializer.Default);
        var counting = new CountingProjection("count");
        var first = await applier.ApplyBatchAsync(counting, null, events[..10], CancellationToken.None);

        // A second writer that also started from "nothing applied" (a node that lost its lock without noticing yet).
        await Assert.ThrowsAnyAsync<Exception>(() => applier.ApplyBatchAsync(counting, null, events[..20], CancellationToken.None));
        var second = await applier.ApplyBatchAsync(counting, first, events[10..20], CancellationToken.None);
        await Assert.ThrowsAnyAsync<Exception>(() => applier.ApplyBatchAsync(counting, first, events[10..30], CancellationToken.None));
        // A stale checkpoint is the moment's failure, never the events': nothing is parked for it.
        await Assert.ThrowsAsync<ProjectionApplyException>(() => applier.ApplyOrParkAsync(counting, first, events[10..30], _ => { }, CancellationToken.None));
        await applier.ApplyBatchAsync(counting, second, events[20..], CancellationToken.None);
        await _db.AssertAppliedExactlyOnceAsync("count", events);
        Assert.Empty(await _db.AllAsync<ParkedEvent>());
    }

    internal static async Task WaitUntilAsync(Func<bool> condition, int seconds = Patience.Seconds)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met in time");
            await Task.Delay(20);
        }
    }
}
