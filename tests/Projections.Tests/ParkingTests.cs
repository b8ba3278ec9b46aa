using System.Text.Json;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;
using HealthEvents.Projections.Runner;
using HealthEvents.TestSupport;
using Marten;
using Npgsql;

namespace HealthEvents.Projections.Tests;

/// <summary>
/// No single bad event stalls a view: an event a projection itself fails on is parked — recorded where it is and why,
/// never its data — and the view goes on past it, every other event applied exactly once. A failure of the moment
/// (the connection killed) is retried instead, and a projection that takes every event (the ledger) never parks.
/// </summary>
public sealed class ParkingTests : IAsyncLifetime
{
    private ProjectionDatabase _db = null!;

    public async Task InitializeAsync() => _db = await ProjectionDatabase.CreateAsync();

    public async Task DisposeAsync() => await _db.DisposeAsync();

    [Fact]
    public async Task An_event_a_projection_fails_on_is_parked_the_rest_applied_exactly_once_and_a_rebuild_applies_it_once_fixed()
    {
        var events = await _db.AppendManyAsync(1200);
        var poison = events[700]; // mid-way through the second batch of 500
        var failing = new CountingProjection("count", e => e.Envelope.EventId == poison.EventId);
        var logger = new CapturingLogger<ProjectionRunner>();
        var rm = _db.NewReadModels();
        var runner = _db.NewRunner([failing, new CountingProjection("other")], readModels: rm, logger: logger);
        await using (await runner.StartedAsync())
        {
            await runner.WaitForOrFailAsync(events[^1].Position!.Value);
            var status = runner.Status.Single(s => s.Name == "count");
            Assert.Equal((1L, $"{poison.StreamId}@{poison.Version}"), (status.ParkedEvents, status.LastParked));
            Assert.False(status.Stalled);
            Assert.Null(status.LastErrorType);
            Assert.Equal(0, runner.Status.Single(s => s.Name == "other").ParkedEvents);
        }
        await AssertAppliedExactlyOnceButAsync("count", events, poison);
        await _db.AssertAppliedExactlyOnceAsync("other", events);
        var checkpoint = (await _db.CheckpointAsync("count"))!;
        Assert.Equal(1, checkpoint.ParkedEvents);

        // The parked row says where and why, never the event's data or the exception's message.
        var parked = Assert.Single(await _db.AllAsync<ParkedEvent>());
        Assert.Equal(("count", poison.StreamId, poison.Version, poison.EventId, poison.Type),
            (parked.Projection, parked.StreamId, parked.StreamVersion, parked.EventId, parked.EventType));
        Assert.Equal(poison.Position, new GlobalPosition(parked.Commit, parked.Prepare));
        Assert.Equal(typeof(InvalidOperationException).FullName, parked.ExceptionType);
        Assert.Equal($"thrown in {typeof(CountingProjection).FullName}.{nameof(CountingProjection.ApplyAsync)}", parked.Reason);
        Assert.DoesNotContain("HIV", JsonSerializer.Serialize(parked));
        var lines = logger.Lines.ToList();
        Assert.Single(lines, l => l.Message.Contains($"count parked the event {poison.StreamId}@{poison.Version} at position {poison.Position}", StringComparison.Ordinal));
        Assert.All(lines, l => Assert.Null(l.Exception));
        Assert.DoesNotContain(lines, l => l.Message.Contains("HIV", StringComparison.Ordinal));

        // Fixed, a rebuild applies everything again, the parked event included, and forgets it was parked.
        failing.FailWhen = null;
        var rebuilder = new ProjectionRebuilder(_db.Events, rm, [failing], EventSerializer.Default, options: ProjectionDatabase.FastOptions());
        await rebuilder.RebuildAsync("count");
        await _db.AssertAppliedExactlyOnceAsync("count", events);
        Assert.Empty(await _db.AllAsync<ParkedEvent>());
        Assert.Equal(0, (await _db.CheckpointAsync("count"))!.ParkedEvents);
    }

    [Fact]
    public async Task A_live_event_a_projection_fails_on_in_the_shared_batch_is_parked_and_the_projection_rejoins()
    {
        var earlier = await _db.AppendManyAsync(20);
        var failing = new CountingProjection("z");
        var runner = _db.NewRunner([new CountingProjection("a"), failing]);
        await using (await runner.StartedAsync())
        {
            await runner.WaitForOrFailAsync(earlier[^1].Position!.Value);
            await RunnerTests.WaitUntilAsync(() => runner.SharedProjections == 2);

            var patient = _db.Patient();
            failing.FailWhen = e => e.StreamId == patient.StreamId && e.StreamVersion == 1;
            var live = (await patient.AppendAsync(PatientWriter.DrA, CrashReplayTests.Corrections(3))).Events;
            var more = await _db.AppendManyAsync(10);
            await runner.WaitForOrFailAsync(more[^1].Position!.Value);
            await RunnerTests.WaitUntilAsync(() => runner.SharedProjections == 2);
            var last = await _db.AppendManyAsync(5);
            await runner.WaitForOrFailAsync(last[^1].Position!.Value);

            Assert.Equal($"{patient.StreamId}@1", runner.Status.Single(s => s.Name == "z").LastParked);
            await _db.AssertAppliedExactlyOnceAsync("a", [.. earlier, .. live, .. more, .. last]);
            await AssertAppliedExactlyOnceButAsync("z", [.. earlier, .. live, .. more, .. last], live[1]);
            Assert.Equal(live[1].EventId, Assert.Single(await _db.AllAsync<ParkedEvent>()).EventId);
        }
    }

    [Fact]
    public async Task A_unique_index_an_event_breaks_when_the_batch_is_saved_parks_that_event_alone()
    {
        var events = await _db.AppendManyAsync(600);
        var poison = events[333];
        var claiming = new ClaimingProjection("claims", e => e.Envelope.EventId == poison.EventId ? events[10].EventId.ToString() : null);
        var runner = _db.NewRunner([claiming]);
        await using (await runner.StartedAsync())
            await runner.WaitForOrFailAsync(events[^1].Position!.Value);

        await AssertAppliedExactlyOnceButAsync("claims", events, poison);
        var parked = Assert.Single(await _db.AllAsync<ParkedEvent>());
        Assert.Equal(poison.EventId, parked.EventId);
        // SQLSTATE 23505 unique_violation (PostgreSQL Appendix A), on the index: no key's value.
        Assert.Equal($"SQLSTATE 23505 on constraint {ClaimedKey.UniqueIndex}", parked.Reason);
        Assert.Equal(events.Count - 1, (await _db.AllAsync<ClaimedKey>()).Count);
    }

    [Fact]
    public async Task A_connection_killed_mid_batch_is_retried_not_parked_and_every_event_applied_exactly_once()
    {
        var events = await _db.AppendManyAsync(300);
        var killed = 0;
        var killing = new ConnectionKillingProjection(new CountingProjection("count"), _db.ConnectionString,
            e => e.Envelope.EventId == events[150].EventId && Interlocked.Exchange(ref killed, 1) == 0);
        var logger = new CapturingLogger<ProjectionRunner>();
        var runner = _db.NewRunner([killing], logger: logger);
        await using (await runner.StartedAsync())
            await runner.WaitForOrFailAsync(events[^1].Position!.Value);

        Assert.Equal(1, killed);
        await _db.AssertAppliedExactlyOnceAsync("count", events);
        Assert.Empty(await _db.AllAsync<ParkedEvent>());
        // Retried whole after a back-off, as the log says, never narrowed down as the event's own failure.
        Assert.Contains(logger.Lines, l => l.Message.Contains($"count failed at position {events[150].Position}", StringComparison.Ordinal));
        Assert.DoesNotContain(logger.Lines, l => l.Message.Contains("in parts", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_event_store_unavailable_to_a_projection_that_reads_it_is_retried_not_parked()
    {
        // A research projection reads a patient's history from the event store while applying an event: EventStoreDB
        // in a leader election is the moment's failure (the adapter's ITransientFailure), never the event's.
        var events = await _db.AppendManyAsync(50);
        var failures = 0;
        var reading = new CountingProjection("reads-store", e => e.Envelope.EventId == events[20].EventId && Interlocked.Increment(ref failures) <= 4)
            { Failure = () => new Infrastructure.EventStoreDb.EventStoreDbNotLeaderException(null) };
        var runner = _db.NewRunner([reading]);
        await using (await runner.StartedAsync()) // not WaitForAsync: it answers "no" at once while the view counts as stalled
            await RunnerTests.WaitUntilAsync(() => runner.Status[0].Checkpoint >= events[^1].Position);
        Assert.Equal(5, failures); // four failures (the event would have been parked by the fourth) and the success
        await _db.AssertAppliedExactlyOnceAsync("reads-store", events);
        Assert.Empty(await _db.AllAsync<ParkedEvent>());
    }

    [Fact]
    public async Task A_projection_that_takes_every_event_never_parks_it_and_stalls_saying_so()
    {
        var events = await _db.AppendManyAsync(100);
        var counting = new CountingProjection("ledger-like", e => e.Envelope.EventId == events[40].EventId);
        var logger = new CapturingLogger<ProjectionRunner>();
        var runner = _db.NewRunner([new EveryEventProjection(counting)], logger: logger);
        await using (await runner.StartedAsync())
        {
            Assert.True(await runner.WaitForAsync("ledger-like", events[39].Position!.Value, Patience.Deadline));
            await RunnerTests.WaitUntilAsync(() => runner.Status[0].Stalled);
            var status = runner.Status[0];
            Assert.Equal((events[39].Position, events[40].Position, 0L), (status.Checkpoint, status.FailingPosition, status.ParkedEvents));
            await RunnerTests.WaitUntilAsync(() => logger.Lines.Any(l => l.Message.Contains("never skips an event", StringComparison.Ordinal)));
        }
        Assert.Empty(await _db.AllAsync<ParkedEvent>());
        Assert.Equal(events[39].Position, (await _db.CheckpointAsync("ledger-like"))!.Position);
    }

    [Fact]
    public async Task A_projection_failing_on_every_event_parks_a_few_then_stalls_instead_of_parking_them_all()
    {
        var events = await _db.AppendManyAsync(60);
        var broken = new CountingProjection("broken", e => e.Envelope.EventId != events[0].EventId); // all but the first
        var logger = new CapturingLogger<ProjectionRunner>();
        var runner = _db.NewRunner([broken], logger: logger);
        var lastParked = events[ProjectionApplier.MostParkedInARow];
        await using (await runner.StartedAsync())
        {
            Assert.True(await runner.WaitForAsync("broken", lastParked.Position!.Value, Patience.Deadline));
            await RunnerTests.WaitUntilAsync(() => runner.Status[0].Stalled);
            var status = runner.Status[0];
            Assert.Equal((lastParked.Position, (long)ProjectionApplier.MostParkedInARow), (status.Checkpoint, status.ParkedEvents));
            Assert.Equal(events[ProjectionApplier.MostParkedInARow + 1].Position, status.FailingPosition);
            Assert.Contains(logger.Lines, l => l.Message.Contains("parks no more and stays stalled", StringComparison.Ordinal));
        }
        Assert.Equal(ProjectionApplier.MostParkedInARow, (await _db.AllAsync<ParkedEvent>()).Count);

        // Fixed, it goes on from there; only a rebuild would apply what it parked.
        broken.FailWhen = null;
        var restarted = _db.NewRunner([broken]);
        await using (await restarted.StartedAsync())
            await restarted.WaitForOrFailAsync(events[^1].Position!.Value);
        Assert.Equal(events.Count - ProjectionApplier.MostParkedInARow, (await _db.AllAsync<AppliedCount>()).Count);
        Assert.Equal(0, (await _db.CheckpointAsync("broken"))!.ParkedInARow);
    }

    /// <summary>Every event but <paramref name="parked"/> applied once, that one never, the checkpoint on the last, all counted as processed.</summary>
    private async Task AssertAppliedExactlyOnceButAsync(string projection, IReadOnlyList<EventEnvelope> events, EventEnvelope parked)
    {
        var counts = (await _db.AllAsync<AppliedCount>()).Where(c => c.Projection == projection).ToList();
        Assert.All(counts, c => Assert.Equal(1, c.Count));
        Assert.Equal(events.Where(e => e.EventId != parked.EventId).Select(e => e.EventId).Order(), counts.Select(c => c.EventId).Order());
        var checkpoint = (await _db.CheckpointAsync(projection))!;
        Assert.Equal(events[^1].Position, checkpoint.Position);
        Assert.Equal(events.Count, checkpoint.EventsProcessed);
        Assert.Equal(1, checkpoint.ParkedEvents);
    }

    /// <summary>
    /// Before applying an event <paramref name="killWhen"/> names, has the server end its own batch's connection
    /// (<c>pg_terminate_backend</c>, waiting until the backend is gone): the failure a crashed or restarted database gives.
    /// </summary>
    private sealed class ConnectionKillingProjection(CountingProjection inner, string connectionString, Func<ProjectedEvent, bool> killWhen) : IProjection
    {
        public string Name => inner.Name;

        public IReadOnlyCollection<Type> DocumentTypes => inner.DocumentTypes;

        public async Task ApplyAsync(IDocumentSession session, ProjectedEvent e, CancellationToken ct)
        {
            if (killWhen(e))
            {
                var pid = session.Connection!.ProcessID;
                await using var admin = new NpgsqlConnection(connectionString);
                await admin.OpenAsync(ct);
                await using var kill = new NpgsqlCommand("SELECT pg_terminate_backend($1, $2)", admin);
                kill.Parameters.Add(new NpgsqlParameter<int> { TypedValue = pid });
                kill.Parameters.Add(new NpgsqlParameter<long> { TypedValue = Patience.Seconds * 1000L });
                Assert.Equal(true, await kill.ExecuteScalarAsync(ct));
            }
            await inner.ApplyAsync(session, e, ct);
        }
    }
}
