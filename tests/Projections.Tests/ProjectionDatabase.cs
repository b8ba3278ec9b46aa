using System.Collections.Concurrent;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Patients;
using HealthEvents.Infrastructure.Postgres;
using HealthEvents.Projections.Runner;
using HealthEvents.TestSupport;
using Marten;
using Npgsql;

namespace HealthEvents.Projections.Tests;

/// <summary>
/// A fresh database per test: the real PostgreSQL event store (public schema) and the read models (schema readmodels)
/// side by side, as on a single machine. Events go in through the store with real serializer bytes.
/// </summary>
public sealed class ProjectionDatabase : IAsyncDisposable
{
    private readonly List<IAsyncDisposable> _owned = [];
    private readonly List<ReadModelStore> _readModels = [];

    private ProjectionDatabase(string connectionString, PostgresEventStore events)
    {
        ConnectionString = connectionString;
        Events = events;
    }

    public string ConnectionString { get; }
    public PostgresEventStore Events { get; }

    public static async Task<ProjectionDatabase> CreateAsync()
    {
        var cs = await TestPostgres.CreateDatabaseAsync();
        var events = new PostgresEventStore(cs, pollInterval: TimeSpan.FromMilliseconds(100));
        await events.EnsureSchemaAsync();
        return new ProjectionDatabase(cs, events);
    }

    /// <summary>A read-model store of its own (as each node has), disposed with the database.</summary>
    public ReadModelStore NewReadModels()
    {
        var store = ReadModelStore.Create(ConnectionString, o =>
        {
            o.Schema.For<AppliedCount>();
            o.Schema.For<ClaimedKey>().Index(x => x.Key, i => (i.IsUnique, i.Name) = (true, ClaimedKey.UniqueIndex));
        });
        _readModels.Add(store);
        return store;
    }

    public static ProjectionRunnerOptions FastOptions(int batchSize = 500) => new()
    {
        BatchSize = batchSize,
        LockRetryInterval = TimeSpan.FromMilliseconds(200),
        LeaseCheckInterval = TimeSpan.FromMilliseconds(200),
        MinBackoff = TimeSpan.FromMilliseconds(50),
        MaxBackoff = TimeSpan.FromMilliseconds(400),
        RemoteCheckpointPollInterval = TimeSpan.FromMilliseconds(20),
    };

    public ProjectionRunner NewRunner(
        IEnumerable<IProjection> projections, ProjectionRunnerOptions? options = null, ReadModelStore? readModels = null,
        CapturingLogger<ProjectionRunner>? logger = null) =>
        new(Events, readModels ?? NewReadModels(), projections, EventSerializer.Default, options ?? FastOptions(), logger);

    public PatientWriter Patient(Guid? id = null) => new(Events, id ?? Guid.NewGuid());

    /// <summary>Appends <paramref name="count"/> small patient events over a few streams; returns the stored envelopes.</summary>
    public async Task<List<EventEnvelope>> AppendManyAsync(int count, int streams = 5, int perAppend = 20)
    {
        var writers = Enumerable.Range(0, streams).Select(_ => Patient()).ToList();
        var all = new List<EventEnvelope>();
        var n = 0;
        while (n < count)
        {
            var w = writers[n / perAppend % streams];
            var take = Math.Min(perAppend, count - n);
            var batch = Enumerable.Range(0, take)
                .Select(i => (IPatientEvent)new PatientDetailsCorrected(1950 + (n + i) % 50, Sex.Unknown, "ciphertext"))
                .ToArray();
            all.AddRange((await w.AppendAsync(PatientWriter.DrA, batch)).Events);
            n += take;
        }
        return all;
    }

    public async Task<long> CountEventsAsync()
    {
        await using var conn = new NpgsqlConnection(ConnectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand("SELECT count(*) FROM he_events", conn);
        return (long)(await cmd.ExecuteScalarAsync())!;
    }

    public async Task<ProjectionCheckpoint?> CheckpointAsync(string projection)
    {
        var rm = _readModels.Count > 0 ? _readModels[0] : NewReadModels();
        await using var session = await rm.QuerySessionAsync();
        return await session.LoadAsync<ProjectionCheckpoint>(projection);
    }

    public async Task<IReadOnlyList<T>> AllAsync<T>() where T : notnull
    {
        var rm = _readModels.Count > 0 ? _readModels[0] : NewReadModels();
        await using var session = await rm.QuerySessionAsync();
        return await session.Query<T>().ToListAsync();
    }

    /// <summary>Every event of <paramref name="events"/> applied once to <paramref name="projection"/>, its checkpoint on the last.</summary>
    public async Task AssertAppliedExactlyOnceAsync(string projection, IReadOnlyList<EventEnvelope> events)
    {
        var counts = (await AllAsync<AppliedCount>()).Where(c => c.Projection == projection).ToList();
        Assert.All(counts, c => Assert.Equal(1, c.Count));
        Assert.Equal(events.Select(e => e.EventId).Order(), counts.Select(c => c.EventId).Order());
        var checkpoint = await CheckpointAsync(projection);
        Assert.NotNull(checkpoint);
        Assert.Equal(events.Max(e => e.Position!.Value), checkpoint.Position);
        Assert.Equal(events.Count, checkpoint.EventsProcessed);
    }

    public void Own(IAsyncDisposable d) => _owned.Add(d);

    public async ValueTask DisposeAsync()
    {
        foreach (var d in Enumerable.Reverse(_owned)) await d.DisposeAsync();
        foreach (var rm in _readModels) rm.Dispose();
        await Events.DisposeAsync();
        NpgsqlConnection.ClearPool(new NpgsqlConnection(ConnectionString));
        var server = await TestPostgres.InstanceAsync();
        await using var conn = new NpgsqlConnection(server.ConnectionString());
        await conn.OpenAsync();
        var db = new NpgsqlConnectionStringBuilder(ConnectionString).Database;
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {db} WITH (FORCE)", conn);
        await drop.ExecuteNonQueryAsync();
    }
}

/// <summary>Appends to one patient stream as the command path would: serializer bytes, metadata, endorsement.</summary>
public sealed class PatientWriter(IEventStore store, Guid patientId)
{
    public static readonly Actor DrA = new("dr-a", Role.Physician, "h1");
    public static readonly Actor DrB = new("dr-b", Role.Physician, "h2");
    public static readonly Actor DrC = new("dr-c", Role.Physician, "h3");
    public static readonly Actor NurseX = new("nurse-x", Role.Nurse, "h3");
    public static readonly Actor Admin = new("admin-1", Role.Admin, "h1");

    private long _last = -1;

    public Guid Id { get; } = patientId;
    public string StreamId => $"patient-{Id}";
    public Actor Self => new($"patient-{Id}", Role.Patient, "h1", Id);

    /// <summary>The command time of the next append; moves one minute per append.</summary>
    public DateTimeOffset Now { get; set; } = new(2025, 3, 1, 8, 0, 0, TimeSpan.Zero);

    public string[] Endorsers { get; set; } = ["h1", "h2"];

    public async Task<AppendResult> AppendAsync(Actor actor, params IPatientEvent[] events)
    {
        var metadata = new EventMetadata(actor.Id, actor.Role, actor.Hospital, Guid.NewGuid(), Guid.NewGuid(), Now).ToBytes();
        var proposed = events
            .Select(e => new ProposedEvent(Guid.NewGuid(), EventSerializer.Default.NameOf(e), EventSerializer.Default.Serialize(e), metadata))
            .ToList();
        var endorsement = new TransactionEndorsement(
            _last + 1, events.Length, new byte[32], 0, 1, [],
            Endorsers.Select(h => new EndorsementSignature(h, h + "-key-1", new byte[64])).ToList());
        var result = await store.AppendAsync(StreamId, ExpectedVersion.After(_last), proposed, endorsement);
        _last = result.LastVersion;
        Now = Now.AddMinutes(1);
        return result;
    }

    /// <summary>An event of a type this build does not know (a newer node wrote it): projections skip it.</summary>
    public async Task<AppendResult> AppendUnknownAsync()
    {
        var metadata = new EventMetadata(DrA.Id, DrA.Role, DrA.Hospital, Guid.NewGuid(), Guid.NewGuid(), Now).ToBytes();
        var result = await store.AppendAsync(StreamId, ExpectedVersion.After(_last),
            [new ProposedEvent(Guid.NewGuid(), "record.something-new.v9", "{}"u8.ToArray(), metadata)]);
        _last = result.LastVersion;
        return result;
    }
}

/// <summary>Keeps every log line, formatted, with the exception object if one was passed.</summary>
public sealed class CapturingLogger<T> : Microsoft.Extensions.Logging.ILogger<T>
{
    public ConcurrentQueue<(string Message, Exception? Exception)> Lines { get; } = new();

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

    public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state,
        Exception? exception, Func<TState, Exception?, string> formatter) =>
        Lines.Enqueue((formatter(state, exception), exception));
}
