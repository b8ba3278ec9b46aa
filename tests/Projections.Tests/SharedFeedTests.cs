using HealthEvents.Application.Ports;
using HealthEvents.Projections.Runner;
using HealthEvents.TestSupport;
using Npgsql;

namespace HealthEvents.Projections.Tests;

/// <summary>
/// The live log is read once for every projection a node runs, and each batch applied to all of them in one
/// transaction: their documents and checkpoints move together or not at all, and one projection's failure costs only
/// itself.
/// </summary>
public sealed class SharedFeedTests : IAsyncLifetime
{
    private ProjectionDatabase _db = null!;

    public async Task InitializeAsync() => _db = await ProjectionDatabase.CreateAsync();

    public async Task DisposeAsync() => await _db.DisposeAsync();

    [Fact]
    public async Task A_live_batch_moves_every_projections_documents_and_checkpoint_in_one_transaction()
    {
        var earlier = await _db.AppendManyAsync(30);
        var runner = _db.NewRunner([new CountingProjection("a"), new CountingProjection("b"), new CountingProjection("c")]);
        await using (await runner.StartedAsync())
        {
            await runner.WaitForOrFailAsync(earlier[^1].Position!.Value);
            await RunnerTests.WaitUntilAsync(() => runner.SharedProjections == 3);

            var live = (await _db.Patient().AppendAsync(PatientWriter.DrA, CrashReplayTests.Corrections(3))).Events;
            await runner.WaitForOrFailAsync(live[^1].Position!.Value);

            // One transaction wrote all three checkpoints and the nine documents of the batch: one xmin for all twelve rows.
            var writers = await XminsAsync(
                "SELECT xmin::text FROM readmodels.mt_doc_projectioncheckpoint WHERE id = ANY($1) " +
                "UNION ALL SELECT xmin::text FROM readmodels.mt_doc_appliedcount WHERE data->>'eventId' = ANY($2)",
                ["a", "b", "c"], [.. live.Select(e => e.EventId.ToString())]);
            Assert.Equal(12, writers.Count);
            Assert.Single(writers.Distinct());
            foreach (var name in new[] { "a", "b", "c" })
                await _db.AssertAppliedExactlyOnceAsync(name, [.. earlier, .. live]);
        }
    }

    [Fact]
    public async Task A_projection_failing_on_the_moment_in_the_shared_batch_stalls_alone_and_rejoins_once_it_passes()
    {
        var earlier = await _db.AppendManyAsync(20);
        var poisoned = new CountingProjection("z");
        var runner = _db.NewRunner([new CountingProjection("a"), new CountingProjection("b"), poisoned]);
        await using (await runner.StartedAsync())
        {
            await runner.WaitForOrFailAsync(earlier[^1].Position!.Value);
            await RunnerTests.WaitUntilAsync(() => runner.SharedProjections == 3);

            // z is applied last in the shared transaction, after a and b wrote theirs: its failure must not cost them.
            var patient = _db.Patient();
            poisoned.Failure = CountingProjection.Timeout; // the moment's failure: retried, not parked
            poisoned.FailWhen = e => e.StreamId == patient.StreamId && e.StreamVersion == 1;
            var live = (await patient.AppendAsync(PatientWriter.DrA, CrashReplayTests.Corrections(3))).Events;
            var more = await _db.AppendManyAsync(10); // the others keep going while z is stuck
            foreach (var name in new[] { "a", "b" })
                Assert.True(await runner.WaitForAsync(name, more[^1].Position!.Value, Patience.Deadline));

            // z applies what comes before the bad event on its own and then stalls there, saying where.
            await RunnerTests.WaitUntilAsync(() => runner.Status.Single(s => s.Name == "z").ConsecutiveFailures >= ProjectionStatus.StalledAfter);
            var z = runner.Status.Single(s => s.Name == "z");
            Assert.Equal(live[0].Position, z.Checkpoint);
            Assert.Equal(live[1].Position, z.FailingPosition);
            Assert.Equal(2, runner.SharedProjections);

            poisoned.FailWhen = null;
            // Not WaitForAsync: it answers "no" at once while z counts as stalled.
            await RunnerTests.WaitUntilAsync(() => runner.Status.All(s => s.Checkpoint >= more[^1].Position));
            await RunnerTests.WaitUntilAsync(() => runner.SharedProjections == 3);
            var last = await _db.AppendManyAsync(5);
            await runner.WaitForOrFailAsync(last[^1].Position!.Value);
            foreach (var name in new[] { "a", "b", "z" })
                await _db.AssertAppliedExactlyOnceAsync(name, [.. earlier, .. live, .. more, .. last]);
        }
    }

    [Fact]
    public async Task A_session_killed_mid_batch_moves_no_projection_and_the_batch_is_then_applied_exactly_once()
    {
        var earlier = await _db.AppendManyAsync(20);
        using var gate = new ManualResetEventSlim();
        var blocked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var patient = _db.Patient();
        // z comes last in the shared transaction: when it blocks, a and b have written their documents and checkpoints.
        var z = new CountingProjection("z", e =>
        {
            if (e.StreamId != patient.StreamId || gate.IsSet) return false;
            blocked.TrySetResult();
            gate.Wait(TimeSpan.FromSeconds(Patience.Seconds));
            return false;
        });
        var runner = _db.NewRunner([new CountingProjection("a"), new CountingProjection("b"), z]);
        await using (await runner.StartedAsync())
        {
            await runner.WaitForOrFailAsync(earlier[^1].Position!.Value);
            await RunnerTests.WaitUntilAsync(() => runner.SharedProjections == 3);
            var before = await CheckpointsAsync();

            var live = (await patient.AppendAsync(PatientWriter.DrA, CrashReplayTests.Corrections(3))).Events;
            await blocked.Task.WaitAsync(TimeSpan.FromSeconds(Patience.Seconds));
            Assert.Equal(1, await TerminateOpenTransactionsAsync()); // the batch's session dies mid-transaction

            // Nothing of the batch is stored for anyone, a and b included.
            Assert.Equal(before, await CheckpointsAsync());
            Assert.DoesNotContain(await _db.AllAsync<AppliedCount>(), c => live.Any(e => e.EventId == c.EventId));

            gate.Set();
            await runner.WaitForOrFailAsync(live[^1].Position!.Value);
            foreach (var name in new[] { "a", "b", "z" })
                await _db.AssertAppliedExactlyOnceAsync(name, [.. earlier, .. live]);
        }
    }

    private async Task<List<string>> XminsAsync(string sql, string[] first, string[] second)
    {
        await using var conn = new NpgsqlConnection(_db.ConnectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, conn) { Parameters = { new() { Value = first }, new() { Value = second } } };
        await using var r = await cmd.ExecuteReaderAsync();
        var xmins = new List<string>();
        while (await r.ReadAsync()) xmins.Add(r.GetString(0));
        return xmins;
    }

    private async Task<int> TerminateOpenTransactionsAsync()
    {
        await using var conn = new NpgsqlConnection(_db.ConnectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity " +
            "WHERE datname = current_database() AND state = 'idle in transaction' AND pid <> pg_backend_pid()", conn);
        return (int)(long)(await cmd.ExecuteScalarAsync())!;
    }

    private async Task<string> CheckpointsAsync()
    {
        var all = new List<string>();
        foreach (var name in new[] { "a", "b", "z" })
            all.Add($"{name}@{(await _db.CheckpointAsync(name))?.Position}");
        return string.Join(", ", all);
    }
}
