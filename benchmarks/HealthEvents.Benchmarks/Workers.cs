using System.Security.Cryptography;
using System.Text.Json;
using HealthEvents.Application.Ports;
using HealthEvents.Infrastructure.Postgres;
using Npgsql;

namespace HealthEvents.Benchmarks;

public static class Cases
{
    public const string RawSingle = "raw INSERT, 1 row/tx";
    public const string RawBatched = "raw INSERT, 100 rows/tx";
    public const string Store = "AppendAsync, 1 event";
    public const string StoreAlone = "AppendAsync, no group commit";
    public const int BatchRows = 100;
}

/// <summary>The bytes of one realistic event (precomputed): ~500 B of JSON data, ~200 B of metadata, a 2-of-3 endorsement.</summary>
public sealed class RowShape
{
    public const string Type = "RecordEntryAdded";
    /// <summary>The event's stored type name (<see cref="Type"/> for the made-up event).</summary>
    public string TypeName { get; } = Type;
    public byte[] Data { get; }
    public byte[] Metadata { get; }
    public TransactionEndorsement EndorsementValue { get; }
    /// <summary>The endorsement as the store writes it, so raw rows are byte-for-byte the same shape.</summary>
    public byte[] Endorsement { get; }
    public byte[] PrevHash { get; } = RandomNumberGenerator.GetBytes(32);
    public byte[] Hash { get; } = RandomNumberGenerator.GetBytes(32);

    public RowShape()
    {
        Data = JsonSerializer.SerializeToUtf8Bytes(new
        {
            patientId = Guid.NewGuid(),
            entryId = Guid.NewGuid(),
            category = "laboratory",
            code = new { system = "http://loinc.org", code = "2345-7" },
            content = new
            {
                alg = "A256GCM",
                kid = "dk-7",
                nonce = RandomNumberGenerator.GetBytes(12),
                ct = RandomNumberGenerator.GetBytes(190),
            },
            author = "practitioner-0042",
            hospital = "hospital-a",
        });
        Metadata = JsonSerializer.SerializeToUtf8Bytes(new
        {
            actor = "practitioner-0042",
            role = "physician",
            hospital = "hospital-a",
            commandId = Guid.NewGuid(),
            correlationId = Guid.NewGuid(),
            occurredAt = "2025-06-01T10:15:30.123Z",
        });
        EndorsementValue = new TransactionEndorsement(0, 1, RandomNumberGenerator.GetBytes(32), 0, 1, [],
        [
            new EndorsementSignature("hospital-a", "hospital-a-2025", RandomNumberGenerator.GetBytes(64)),
            new EndorsementSignature("hospital-b", "hospital-b-2025", RandomNumberGenerator.GetBytes(64)),
        ]);
        Endorsement = JsonSerializer.SerializeToUtf8Bytes(EndorsementValue, new JsonSerializerOptions(JsonSerializerDefaults.Web));
    }

    /// <summary>The bytes of an event the service stored (what a command over HTTP wrote), for baselines of exactly that event.</summary>
    public RowShape(EventEnvelope stored)
    {
        TypeName = stored.Type;
        Data = stored.Data;
        Metadata = stored.Metadata;
        EndorsementValue = stored.Endorsement ?? throw new ArgumentException("The stored event carries no endorsement.", nameof(stored));
        Endorsement = EndorsementValue.ToJson();
    }
}

/// <summary>The store, the raw baseline table (the events table's exact layout) and the server settings.</summary>
public sealed class Setup
{
    private readonly NpgsqlDataSource _dataSource;

    private Setup(NpgsqlDataSource dataSource, PostgresEventStore store) =>
        (_dataSource, Store, StoreAlone) = (dataSource, store, new PostgresEventStore(dataSource, groupCommit: false));

    public PostgresEventStore Store { get; }

    /// <summary>The same store committing each append in its own transaction (<c>EventStore:GroupCommit=false</c>): group commit's baseline.</summary>
    public PostgresEventStore StoreAlone { get; }
    public RowShape Shape { get; } = new();
    public string ServerVersion { get; private set; } = "";
    public string Fsync { get; private set; } = "";
    public string SynchronousCommit { get; private set; } = "";

    public static async Task<Setup> PrepareAsync(NpgsqlDataSource dataSource, CancellationToken ct)
    {
        var setup = new Setup(dataSource, new PostgresEventStore(dataSource));
        await setup.Store.EnsureSchemaAsync(ct);
        await setup.ExecAsync("CREATE TABLE IF NOT EXISTS he_raw (LIKE he_events INCLUDING ALL)", ct);
        await using var cmd = dataSource.CreateCommand("SELECT version(), current_setting('fsync'), current_setting('synchronous_commit')");
        await using var r = await cmd.ExecuteReaderAsync(ct);
        await r.ReadAsync(ct);
        setup.ServerVersion = r.GetString(0).Split(" on ")[0];
        setup.Fsync = r.GetString(1);
        setup.SynchronousCommit = r.GetString(2);
        return setup;
    }

    /// <summary>Every case starts on empty tables and a fresh checkpoint.</summary>
    public async Task ResetAsync(CancellationToken ct)
    {
        await ExecAsync("TRUNCATE he_raw, he_events RESTART IDENTITY", ct);
        await ExecAsync("VACUUM ANALYZE he_raw", ct);
        await ExecAsync("VACUUM ANALYZE he_events", ct);
        await ExecAsync("CHECKPOINT", ct);
    }

    private async Task ExecAsync(string sql, CancellationToken ct)
    {
        await using var cmd = _dataSource.CreateCommand(sql);
        await cmd.ExecuteNonQueryAsync(ct);
    }
}

/// <summary>One client: its own patient streams, one operation (a durable transaction) at a time.</summary>
public abstract class Worker(int index) : IAsyncDisposable
{
    private const int StreamsPerWorker = 1000;
    private readonly string[] _streams = Enumerable.Range(0, StreamsPerWorker).Select(_ => $"patient-{Guid.NewGuid()}").ToArray();
    private readonly long[] _lastVersion = Enumerable.Repeat(-1L, StreamsPerWorker).ToArray();
    private readonly Random _random = new(index);

    /// <summary>Rows written by one operation.</summary>
    public virtual int RowsPerOperation => 1;

    public virtual Task OpenAsync(CancellationToken ct) => Task.CompletedTask;

    public abstract Task RunOnceAsync(CancellationToken ct);

    public virtual ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>A random stream of this worker and the version its next event gets (nobody else writes there).</summary>
    protected (string Stream, long LastVersion, int Slot) PickStream()
    {
        var slot = _random.Next(StreamsPerWorker);
        return (_streams[slot], _lastVersion[slot], slot);
    }

    protected void Advance(int slot, long lastVersion) => _lastVersion[slot] = lastVersion;
}

/// <summary>Baseline (a): one autocommitted single-row INSERT per transaction.</summary>
public sealed class RawSingleRowWorker(NpgsqlDataSource dataSource, RowShape shape, int index) : Worker(index)
{
    private NpgsqlConnection? _conn;

    public override async Task OpenAsync(CancellationToken ct) => _conn = await dataSource.OpenConnectionAsync(ct);

    public override async Task RunOnceAsync(CancellationToken ct)
    {
        var (stream, last, slot) = PickStream();
        await using var cmd = new NpgsqlCommand(
            "INSERT INTO he_raw (event_id, stream_id, version, type, data, metadata, prev_hash, hash, endorsement) " +
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)", _conn);
        cmd.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = Guid.NewGuid() });
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = stream });
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = last + 1 });
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = shape.TypeName });
        cmd.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = shape.Data });
        cmd.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = shape.Metadata });
        cmd.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = shape.PrevHash });
        cmd.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = shape.Hash });
        cmd.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = shape.Endorsement });
        await cmd.ExecuteNonQueryAsync(ct);
        Advance(slot, last + 1);
    }

    public override async ValueTask DisposeAsync()
    {
        if (_conn is not null) await _conn.DisposeAsync();
    }
}

/// <summary>Baseline (b): one autocommitted multi-row INSERT of <see cref="Cases.BatchRows"/> identical-shape rows per transaction.</summary>
public sealed class RawBatchWorker(NpgsqlDataSource dataSource, RowShape shape, int index) : Worker(index)
{
    private const int N = Cases.BatchRows;
    private readonly string[] _types = Enumerable.Repeat(shape.TypeName, N).ToArray();
    private readonly byte[][][] _bytes = new[] { shape.Data, shape.Metadata, shape.PrevHash, shape.Hash, shape.Endorsement }
        .Select(b => Enumerable.Repeat(b, N).ToArray()).ToArray();
    private NpgsqlConnection? _conn;

    public override int RowsPerOperation => N;

    public override async Task OpenAsync(CancellationToken ct) => _conn = await dataSource.OpenConnectionAsync(ct);

    public override async Task RunOnceAsync(CancellationToken ct)
    {
        var ids = new Guid[N];
        var streams = new string[N];
        var versions = new long[N];
        var slots = new int[N];
        for (var i = 0; i < N; i++)
        {
            var (stream, last, slot) = PickStream();
            if (Array.IndexOf(slots, slot, 0, i) >= 0) { i--; continue; } // distinct streams: (stream_id, version) stays unique
            (ids[i], streams[i], versions[i], slots[i]) = (Guid.NewGuid(), stream, last + 1, slot);
        }
        await using var cmd = new NpgsqlCommand(
            "INSERT INTO he_raw (event_id, stream_id, version, type, data, metadata, prev_hash, hash, endorsement) " +
            "SELECT * FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::text[], $5::bytea[], $6::bytea[], $7::bytea[], $8::bytea[], $9::bytea[])",
            _conn);
        cmd.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = ids });
        cmd.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = streams });
        cmd.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = versions });
        cmd.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = _types });
        foreach (var column in _bytes) cmd.Parameters.Add(new NpgsqlParameter<byte[][]> { TypedValue = column });
        await cmd.ExecuteNonQueryAsync(ct);
        for (var i = 0; i < N; i++) Advance(slots[i], versions[i]);
    }

    public override async ValueTask DisposeAsync()
    {
        if (_conn is not null) await _conn.DisposeAsync();
    }
}

/// <summary>The measured path: the event store port's AppendAsync (PostgreSQL or EventStoreDB) of one chained event to a random patient stream, with its endorsement.</summary>
public sealed class StoreAppendWorker(IEventStore store, RowShape shape, int index) : Worker(index)
{
    private long _appends;

    /// <summary>Appends done, warm-up included (what a store's round-trip count is divided by).</summary>
    public long Appends => Interlocked.Read(ref _appends);

    public override async Task RunOnceAsync(CancellationToken ct)
    {
        var (stream, last, slot) = PickStream();
        var result = await store.AppendAsync(
            stream, ExpectedVersion.After(last),
            [new ProposedEvent(Guid.NewGuid(), shape.TypeName, shape.Data, shape.Metadata)],
            shape.EndorsementValue with { FirstVersion = last + 1 }, ct);
        Advance(slot, result.LastVersion);
        Interlocked.Increment(ref _appends);
    }
}
