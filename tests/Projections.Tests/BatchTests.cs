using System.Diagnostics;
using System.Text;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Patients;
using HealthEvents.Infrastructure.Postgres;
using HealthEvents.Projections.Runner;
using HealthEvents.TestSupport;
using Npgsql;

namespace HealthEvents.Projections.Tests;

/// <summary>
/// Batches as the read side now commits them: one transaction per batch, not waiting for the WAL flush. A bad event
/// inside a batch costs only itself; a database crash that loses the last commits makes the views replay, never
/// apply an event twice or skip one.
/// </summary>
public sealed class BatchTests : IAsyncLifetime
{
    private ProjectionDatabase _db = null!;

    public async Task InitializeAsync() => _db = await ProjectionDatabase.CreateAsync();

    public async Task DisposeAsync() => await _db.DisposeAsync();

    [Fact]
    public async Task A_live_batch_with_an_unreadable_event_applies_the_others_in_one_commit_and_moves_past_it()
    {
        var earlier = await _db.AppendManyAsync(10);
        var logger = new CapturingLogger<ProjectionRunner>();
        var runner = _db.NewRunner([new CountingProjection("a"), new CountingProjection("b")], logger: logger);
        var stream = $"patient-{Guid.NewGuid()}";
        AppendResult appended;
        await using (await runner.StartedAsync())
        {
            await runner.WaitForOrFailAsync(earlier[^1].Position!.Value);
            var revisions = new[] { (await _db.CheckpointAsync("a"))!.Revision, (await _db.CheckpointAsync("b"))!.Revision };

            // One append, one transaction: the subscription hands it to each projection as one batch, the bad event inside.
            appended = await _db.Events.AppendAsync(stream, ExpectedVersion.NoStream, [Good(), Bad(), Good()]);
            await runner.WaitForOrFailAsync(appended.Events[^1].Position!.Value);

            foreach (var (name, revision) in new[] { ("a", revisions[0]), ("b", revisions[1]) })
            {
                var checkpoint = (await _db.CheckpointAsync(name))!;
                Assert.Equal(appended.Events[^1].Position, checkpoint.Position);
                Assert.Equal(revision + 1, checkpoint.Revision); // the three events moved it once: one batch, one commit
                Assert.Equal(1, checkpoint.UnreadableEvents);
                Assert.Equal($"{stream}@1", checkpoint.LastUnreadable);
                Assert.Equal(13, checkpoint.EventsProcessed);
            }
        }
        var counts = await _db.AllAsync<AppliedCount>();
        foreach (var name in new[] { "a", "b" })
        {
            var mine = counts.Where(c => c.Projection == name).ToList();
            Assert.All(mine, c => Assert.Equal(1, c.Count));
            Assert.Equal(12, mine.Count); // the ten before and the two good ones of the batch
            Assert.DoesNotContain(mine, c => c.EventId == appended.Events[1].EventId);
        }
        Assert.Contains(logger.Lines, l => l.Message.Contains($"unreadable event {stream}@1", StringComparison.Ordinal));
        Assert.DoesNotContain(logger.Lines, l => l.Message.Contains("secret", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_database_crash_right_after_batches_commit_replays_them_without_duplicates_or_gaps()
    {
        var dir = Path.Combine(Path.GetTempPath(), "healthevents-crash-" + Guid.NewGuid().ToString("N")[..12]);
        var server = await LocalPostgres.StartAsync(Path.Combine(dir, "pg"), durable: true);
        try
        {
            await using (var admin = new NpgsqlConnection(server.ConnectionString()))
            {
                await admin.OpenAsync();
                await using var create = new NpgsqlCommand("CREATE DATABASE crash", admin);
                await create.ExecuteNonQueryAsync();
            }
            var cs = server.ConnectionString("crash");
            await using var events = new PostgresEventStore(cs, pollInterval: TimeSpan.FromMilliseconds(100));
            await events.EnsureSchemaAsync();
            using var readModels = ReadModelStore.Create(cs, o => o.Schema.For<AppliedCount>());
            var writer = new PatientWriter(events, Guid.NewGuid());
            var all = new List<EventEnvelope>();
            var runner = new ProjectionRunner(events, readModels, [new CountingProjection("count")], EventSerializer.Default,
                ProjectionDatabase.FastOptions(batchSize: 20));
            await using (await runner.StartedAsync())
            {
                for (var i = 0; i < 10; i++) all.AddRange((await writer.AppendAsync(PatientWriter.DrA, Corrections(7))).Events);
                await runner.WaitForOrFailAsync(all[^1].Position!.Value);

                // At once, as a power cut would: the last batches' commits may not have reached the disk yet.
                await CrashAsync(server);
                await server.RestartAsync(CancellationToken.None);

                // The runner finds its way back (reloading the stored checkpoint) and carries on with new events.
                all.AddRange((await RetryAsync(() => writer.AppendAsync(PatientWriter.DrA, Corrections(5)))).Events);
                // Not WaitForAsync: it answers "no" at once while the runner counts its failures of the outage.
                await RunnerTests.WaitUntilAsync(() => runner.Status[0].Checkpoint >= all[^1].Position);
            }
            // Every event the log holds (appends are durable) applied exactly once, the checkpoint on the last.
            await using var session = await readModels.QuerySessionAsync();
            var counts = await Marten.QueryableExtensions.ToListAsync(session.Query<AppliedCount>());
            Assert.All(counts, c => Assert.Equal(1, c.Count));
            Assert.Equal(all.Select(e => e.EventId).Order(), counts.Select(c => c.EventId).Order());
            var checkpoint = await session.LoadAsync<ProjectionCheckpoint>("count");
            Assert.Equal(all[^1].Position, checkpoint!.Position);
            Assert.Equal(all.Count, checkpoint.EventsProcessed);
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await server.StopAsync();
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>Immediate shutdown (SIGQUIT to the postmaster): no shutdown checkpoint, crash recovery at the next start.</summary>
    private static async Task CrashAsync(LocalPostgres server)
    {
        var pid = (await File.ReadAllLinesAsync(Path.Combine(server.DataDir, "postmaster.pid")))[0];
        using (var kill = Process.Start("kill", ["-QUIT", pid])) await kill.WaitForExitAsync();
        var deadline = DateTime.UtcNow + Patience.Deadline;
        while (server.IsRunning)
        {
            Assert.True(DateTime.UtcNow < deadline, "PostgreSQL did not stop");
            await Task.Delay(50);
        }
    }

    /// <summary>The first statements after a restart may meet pooled connections the crash broke.</summary>
    private static async Task<T> RetryAsync<T>(Func<Task<T>> action)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await action();
            }
            catch (NpgsqlException) when (attempt < 10)
            {
                await Task.Delay(200);
            }
        }
    }

    private static IPatientEvent[] Corrections(int n) =>
        Enumerable.Range(0, n).Select(i => (IPatientEvent)new PatientDetailsCorrected(1950 + i, Sex.Unknown, "ciphertext")).ToArray();

    private static readonly byte[] Metadata =
        new EventMetadata("dr-a", Role.Physician, "h1", Guid.NewGuid(), Guid.NewGuid(), DateTimeOffset.UtcNow).ToBytes();

    private static ProposedEvent Good()
    {
        var e = new PatientDetailsCorrected(1970, Sex.Unknown, "ciphertext");
        return new ProposedEvent(Guid.NewGuid(), EventSerializer.Default.NameOf(e), EventSerializer.Default.Serialize(e), Metadata);
    }

    /// <summary>A known type whose data is not JSON (written past the service): no view can read it.</summary>
    private static ProposedEvent Bad() => new(Guid.NewGuid(), EventSerializer.Default.NameOf(new PatientDetailsCorrected(1970, Sex.Unknown, "x")),
        Encoding.UTF8.GetBytes("{\"birthYear\": \"secret"), Metadata);
}
