using System.Diagnostics;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;
using HealthEvents.Domain.Patients;
using HealthEvents.Infrastructure.Postgres;
using HealthEvents.Projections.Runner;
using HealthEvents.TestSupport;
using Npgsql;

namespace HealthEvents.Projections.Tests;

/// <summary>
/// The read side commits its batches without waiting for the WAL flush: a database crash may lose the last of them.
/// Since the checkpoint moves in the same transaction as the documents, the views then replay those events, never
/// applying one twice or skipping one. On a private, durable PostgreSQL of its own, stopped in immediate mode.
/// </summary>
public sealed class CrashReplayTests
{
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

    /// <summary>n small events of one append (one transaction).</summary>
    private static IPatientEvent[] Corrections(int n) =>
        Enumerable.Range(0, n).Select(i => (IPatientEvent)new PatientDetailsCorrected(1950 + i, Domain.Common.Sex.Unknown, "ciphertext")).ToArray();
}
