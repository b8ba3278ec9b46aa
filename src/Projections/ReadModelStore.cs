using HealthEvents.Application.Serialization;
using HealthEvents.Projections.Runner;
using HealthEvents.Projections.Views.Audit;
using HealthEvents.Projections.Views.Consents;
using HealthEvents.Projections.Views.Insurance;
using JasperFx;
using Marten;
using Marten.Services;
using Npgsql;
using Weasel.Core;

namespace HealthEvents.Projections;

/// <summary>
/// The one Marten document store of the read side: its own schema (<see cref="SchemaName"/>), System.Text.Json with
/// the project's JSON options (camelCase, enums as kebab-case strings), and schema objects created or updated on use.
/// </summary>
public sealed class ReadModelStore : IDisposable
{
    public const string SchemaName = "readmodels";

    // Marten's sessions and the batches' own transactions share this one pool, which ends with the store.
    private readonly NpgsqlDataSource _dataSource;

    private ReadModelStore(DocumentStore store, string connectionString, NpgsqlDataSource dataSource)
    {
        Store = store;
        ConnectionString = connectionString;
        _dataSource = dataSource;
    }

    public IDocumentStore Store { get; }

    /// <summary>The read-model database; projection advisory locks are taken there too.</summary>
    public string ConnectionString { get; }

    /// <param name="configure">Extra Marten configuration (tests: their own document types).</param>
    public static ReadModelStore Create(string connectionString, Action<StoreOptions>? configure = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(connectionString);
        var dataSource = NpgsqlDataSource.Create(connectionString);
        var options = new StoreOptions();
        options.Connection(dataSource);
        options.DatabaseSchemaName = SchemaName;
        options.AutoCreateSchemaObjects = AutoCreate.CreateOrUpdate;
        options.UseSystemTextJsonForSerialization(casing: Casing.CamelCase, configure: o =>
        {
            Json.Configure(o);
            o.Converters.Add(new StorableTextConverter()); // hostile text in old events must not stall a view
        });
        Configure(options);
        configure?.Invoke(options);
        return new ReadModelStore(new DocumentStore(options), connectionString, dataSource);
    }

    /// <summary>The documents and indexes of the built-in views.</summary>
    private static void Configure(StoreOptions options)
    {
        options.Schema.For<ProjectionCheckpoint>().Identity(x => x.Id).UseNumericRevisions(true);
        options.Schema.For<ParkedEvent>().Identity(x => x.Id).Index(x => x.Projection, i => i.Name = "he_parked_projection_ix");
        options.Schema.For<AuditEntry>()
            .Index([x => x.PatientId, x => x.StreamVersion], i => i.Name = "he_audit_patient_version_ix");
        options.Schema.For<AuditEntryCategory>();
        options.Schema.For<ConsentDocument>().Index(x => x.PatientId, i => i.Name = "he_consent_patient_ix");
        options.Schema.For<InsuranceDocument>();
        Research.ResearchStore.Configure(options);
        Ledger.LedgerStore.Configure(options);
    }

    /// <summary>Serialises schema changes across nodes ("HERM" + 1); concurrent CREATE TABLE IF NOT EXISTS races on the catalog.</summary>
    private const long SchemaLockKey = 0x4845_524D_0000_0001;

    private readonly SemaphoreSlim _schemaGate = new(1, 1);
    private volatile bool _schemaReady;

    /// <summary>
    /// Creates or updates every configured table and index, once per store, under a database-wide advisory lock (Marten's
    /// lazy per-type creation would otherwise race between sessions and nodes on a fresh database). Every session this
    /// class hands out waits for it.
    /// </summary>
    public async Task EnsureSchemaAsync(CancellationToken ct = default)
    {
        if (_schemaReady) return;
        await _schemaGate.WaitAsync(ct);
        try
        {
            if (_schemaReady) return;
            await using var conn = new NpgsqlConnection(LockConnectionString);
            await conn.OpenAsync(ct);
            await using (var lockCmd = new NpgsqlCommand("SELECT pg_advisory_lock($1)", conn) { CommandTimeout = 0 })
            {
                lockCmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = SchemaLockKey });
                await lockCmd.ExecuteNonQueryAsync(ct);
            }
            // Closing this unpooled connection releases the lock, whatever happens below.
            await Store.Storage.Database.ApplyAllConfiguredChangesToDatabaseAsync(ct: ct);
            _schemaReady = true;
        }
        finally
        {
            _schemaGate.Release();
        }
    }

    /// <summary>A read-only session, once the schema exists.</summary>
    public async Task<IQuerySession> QuerySessionAsync(CancellationToken ct = default)
    {
        await EnsureSchemaAsync(ct);
        return Store.QuerySession();
    }

    /// <summary>A session with an identity map (a document stored earlier in the session loads as stored), once the schema exists.</summary>
    internal async Task<IDocumentSession> IdentitySessionAsync(CancellationToken ct)
    {
        await EnsureSchemaAsync(ct);
        return Store.IdentitySession();
    }

    /// <summary>
    /// A transaction on a connection of its own for applying a batch, once the schema exists: it commits without waiting
    /// for the WAL flush (<c>SET LOCAL synchronous_commit = off</c>; visible to every reader at once, durable within
    /// about three times <c>wal_writer_delay</c>). Only for what can be replayed from the log with its checkpoint.
    /// Disposing it rolls back what was not committed and returns the connection to the pool.
    /// </summary>
    internal async Task<ApplyTransaction> BeginApplyAsync(CancellationToken ct)
    {
        await EnsureSchemaAsync(ct);
        var conn = _dataSource.CreateConnection();
        try
        {
            await conn.OpenAsync(ct);
            var tx = await conn.BeginTransactionAsync(ct);
            await using (var relaxed = new NpgsqlCommand("SET LOCAL synchronous_commit TO off", conn, tx))
                await relaxed.ExecuteNonQueryAsync(ct);
            return new ApplyTransaction(conn, tx);
        }
        catch
        {
            await conn.DisposeAsync();
            throw;
        }
    }

    /// <summary>A session with an identity map that runs inside <paramref name="tx"/> and leaves committing to its owner.</summary>
    internal IDocumentSession IdentitySession(ApplyTransaction tx) =>
        Store.IdentitySession(SessionOptions.ForTransaction(tx.Transaction, shouldAutoCommit: false));

    internal async Task<IDocumentSession> LightweightSessionAsync(CancellationToken ct)
    {
        await EnsureSchemaAsync(ct);
        return Store.LightweightSession();
    }

    /// <summary>A connection string for a dedicated, unpooled connection (advisory locks live as long as it does).</summary>
    internal string LockConnectionString => new NpgsqlConnectionStringBuilder(ConnectionString)
    {
        Pooling = false,
        ApplicationName = "healthevents-projection-lock",
    }.ConnectionString;

    public void Dispose()
    {
        Store.Dispose();
        _dataSource.Dispose();
        _schemaGate.Dispose();
    }
}
