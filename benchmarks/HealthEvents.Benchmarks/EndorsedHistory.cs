using System.Diagnostics;
using HealthEvents.Application.Endorsement;
using HealthEvents.Application.Ledger;
using HealthEvents.Application.Patients;
using HealthEvents.Application.Ports;
using HealthEvents.Infrastructure.Identity;
using HealthEvents.Infrastructure.Postgres;
using Npgsql;
using NpgsqlTypes;
using static HealthEvents.Benchmarks.HistoryPlan;

namespace HealthEvents.Benchmarks;

/// <summary>
/// Writes <see cref="HistoryPlan"/>'s history straight into the PostgreSQL store's events table, each transaction
/// hash-chained by <see cref="HashChain.Link"/> (the store's own linking) and endorsed as the endorsers would sign it:
/// the patient's home hospital and the next member sign (2 of 3, the demo policy) with their endorsement keys, one
/// signature per hospital per <c>batch</c> transactions (the RFC 9162 root of their hashes; a batch of one signs the
/// transaction hash). Rows go in with binary COPY, about <see cref="CopyEvents"/> events per database transaction, so a
/// million events take minutes, not the hour one append per transaction takes on a busy 2-core machine; whole-store
/// verification afterwards checks every chain and signature written here. Endorsers' re-execution is not what is
/// measured: the events are valid by construction.
/// </summary>
internal static class EndorsedHistory
{
    public sealed record Written(PatientPlan[] Patients, long Events, long Transactions, double Seconds, GlobalPosition End);

    /// <summary>Events per COPY (one database transaction, one WAL flush).</summary>
    private const int CopyEvents = 10_000;

    private const string CopySql =
        "COPY he_events (event_id, stream_id, version, type, data, metadata, prev_hash, hash, endorsement) FROM STDIN (FORMAT BINARY)";

    /// <summary>One endorsed transaction as stored: its linked events and, on each row, its endorsement's JSON.</summary>
    private sealed record Row(IReadOnlyList<EventEnvelope> Events, byte[] Endorsement);

    public static async Task<Written> WriteAsync(
        string connectionString, HospitalKeyring keyring, string[] hospitals, long target, int batch, int writers, CancellationToken ct)
    {
        const int perPatient = 22;
        var patients = (int)Math.Max(1, target / perPatient);
        var plans = Enumerable.Range(0, patients).Select(i => new PatientPlan(PatientPlan.IdOf(i), i)).ToArray();
        var start = new DateTimeOffset(2015, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var clock = Stopwatch.StartNew();
        long written = 0, transactions = 0, left = target;
        var lastPrint = TimeSpan.Zero;
        var gate = new Lock();
        await using var db = NpgsqlDataSource.Create(connectionString);

        // A patient's phases follow each other: each phase is copied in full before the next begins.
        for (var phase = 0; phase < 4; phase++)
        {
            var current = phase;
            var next = -1;
            await Task.WhenAll(Enumerable.Range(0, writers).Select(_ => Task.Run(async () =>
            {
                // Each writer signs with its own key objects (an ECDsa instance is not documented as thread-safe).
                var keys = hospitals.ToDictionary(h => h, h => keyring.Get(h, HospitalKeyUse.Endorsement));
                var ids = keys.ToDictionary(k => k.Key, k => PublicKeys.KeyId(k.Value));
                var rows = new List<Row>();
                try
                {
                    while (true)
                    {
                        // A batch: up to `batch` transactions of distinct patients, signed together.
                        var pending = new List<(PatientPlan Plan, IReadOnlyList<EventEnvelope> Linked)>();
                        while (pending.Count < batch)
                        {
                            var index = Interlocked.Increment(ref next);
                            if (current < 3 && index >= plans.Length) break;
                            if (current == 3 && Interlocked.Read(ref left) <= 0) break;
                            var plan = plans[index % plans.Length];
                            var owed = current < 3 ? -1 : Interlocked.Add(ref left, -20) + 20;
                            var events = EventsOf(plan, current, start, DateTimeOffset.UtcNow, Math.Min(owed, 20), hospitals);
                            if (events.Count == 0) continue;
                            if (current < 3) Interlocked.Add(ref left, -events.Count);
                            var linked = HashChain.Link(PatientStream.StreamId(plan.Id), plan.Version, plan.LastHash,
                                events.Select(e => e.Proposed).ToList(), endorsement: null);
                            pending.Add((plan, linked));
                            (plan.Version, plan.LastHash) = (linked[^1].Version, linked[^1].Hash);
                        }
                        if (pending.Count == 0) break;

                        var hashes = pending.Select(p => p.Linked[^1].Hash).ToList();
                        var root = EndorsementSignatures.BatchRoot(hashes);
                        // One signature per hospital per batch, whichever of its patients' transactions it endorses.
                        var signatures = hospitals.ToDictionary(h => h, h => new EndorsementSignature(h, ids[h], EndorsementSignatures.Sign(keys[h], root)));
                        for (var leaf = 0; leaf < pending.Count; leaf++)
                        {
                            var (plan, linked) = pending[leaf];
                            var signers = new[] { plan.Home, hospitals[(Array.IndexOf(hospitals, plan.Home) + 1) % hospitals.Length] };
                            var endorsement = EndorsementSignatures.InBatch(linked[0].Version, linked.Count, hashes, leaf,
                                [.. signers.Order(StringComparer.Ordinal).Select(h => signatures[h])]);
                            rows.Add(new Row(linked, endorsement.ToJson()));
                        }
                        if (rows.Sum(r => r.Events.Count) >= CopyEvents) await CopyAsync(rows);
                    }
                    await CopyAsync(rows);
                }
                finally
                {
                    foreach (var key in keys.Values) key.Dispose();
                }

                async Task CopyAsync(List<Row> copied)
                {
                    if (copied.Count == 0) return;
                    await CopyRowsAsync(db, copied, ct);
                    Interlocked.Add(ref written, copied.Sum(r => r.Events.Count));
                    Interlocked.Add(ref transactions, copied.Count);
                    copied.Clear();
                    lock (gate)
                    {
                        if (clock.Elapsed - lastPrint < TimeSpan.FromSeconds(2)) return;
                        lastPrint = clock.Elapsed;
                        Console.Error.WriteLine($"  writing (phase {current + 1}/4): {Interlocked.Read(ref written):N0}/{target:N0} events, " +
                                                $"{written / clock.Elapsed.TotalSeconds:N0}/s");
                    }
                }
            }, ct)));
        }
        return new Written(plans, written, transactions, clock.Elapsed.TotalSeconds, await EndAsync(db, ct));
    }

    /// <summary>One binary COPY of the transactions' rows (one database transaction), then the store's wake-up for its subscribers.</summary>
    private static async Task CopyRowsAsync(NpgsqlDataSource db, List<Row> rows, CancellationToken ct)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        await using (var copy = await conn.BeginBinaryImportAsync(CopySql, ct))
        {
            foreach (var row in rows)
            {
                foreach (var e in row.Events)
                {
                    await copy.StartRowAsync(ct);
                    await copy.WriteAsync(e.EventId, NpgsqlDbType.Uuid, ct);
                    await copy.WriteAsync(e.StreamId, NpgsqlDbType.Text, ct);
                    await copy.WriteAsync(e.Version, NpgsqlDbType.Bigint, ct);
                    await copy.WriteAsync(e.Type, NpgsqlDbType.Text, ct);
                    await copy.WriteAsync(e.Data, NpgsqlDbType.Bytea, ct);
                    await copy.WriteAsync(e.Metadata, NpgsqlDbType.Bytea, ct);
                    await copy.WriteAsync(e.PrevHash, NpgsqlDbType.Bytea, ct);
                    await copy.WriteAsync(e.Hash, NpgsqlDbType.Bytea, ct);
                    await copy.WriteAsync(row.Endorsement, NpgsqlDbType.Bytea, ct);
                }
            }
            await copy.CompleteAsync(ct);
        }
        await using var notify = new NpgsqlCommand($"SELECT pg_notify('{PostgresEventStore.NotificationChannel}', '')", conn);
        await notify.ExecuteNonQueryAsync(ct);
    }

    /// <summary>The last event's global position (transaction id, position), in the store's global order.</summary>
    private static async Task<GlobalPosition> EndAsync(NpgsqlDataSource db, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("SELECT transaction_id, position FROM he_events ORDER BY transaction_id DESC, position DESC LIMIT 1");
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? new GlobalPosition(reader.GetFieldValue<ulong>(0), (ulong)reader.GetInt64(1)) : GlobalPosition.Start;
    }
}
