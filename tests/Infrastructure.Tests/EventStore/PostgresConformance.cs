using System.Collections.Concurrent;
using HealthEvents.Application.Ports;
using HealthEvents.Infrastructure.Postgres;
using HealthEvents.TestSupport;
using Npgsql;
using NpgsqlTypes;

namespace HealthEvents.Infrastructure.Tests.EventStore;

// The conformance suite on PostgreSQL, concern by concern; what only PostgreSQL has is in PostgresEventStoreTests.
[Collection(nameof(GlobalLogCollection))]
public sealed class PostgresAppendTests() : AppendConformance(new PostgresUnderTest());

[Collection(nameof(GlobalLogCollection))]
public sealed class PostgresReadTests() : ReadConformance(new PostgresUnderTest());

[Collection(nameof(GlobalLogCollection))]
public sealed class PostgresGlobalLogTests() : GlobalLogConformance(new PostgresUnderTest());

[Collection(nameof(GlobalLogCollection))]
public sealed class PostgresSubscriptionTests() : SubscriptionConformance(new PostgresUnderTest());

[Collection(nameof(GlobalLogCollection))]
public sealed class PostgresIdempotencyTests() : IdempotencyConformance(new PostgresUnderTest());

/// <summary>
/// The PostgreSQL suites run alone on the test server: their global reads wait below the cluster-wide oldest open
/// transaction, so another class's deliberately held transaction would hold back the events their timing tests wait for.
/// </summary>
[CollectionDefinition(nameof(GlobalLogCollection), DisableParallelization = true)]
public sealed class GlobalLogCollection;

/// <summary>PostgreSQL under the suite: a fresh database per store, and appends held open in a real transaction.</summary>
public sealed class PostgresUnderTest : StoreUnderTest
{
    private readonly List<string> _databases = [];
    private readonly ConcurrentBag<long> _committedPastHeldTransactions = [];

    /// <summary>A new database per store: the whole global log is the test's, asserted unfiltered from its start.</summary>
    public override bool OwnsWholeLog => true;

    public override string StreamPrefix => "patient-";

    public override async Task<IEventStore> CreateStoreAsync()
    {
        var connectionString = await TestPostgres.CreateDatabaseAsync();
        _databases.Add(new NpgsqlConnectionStringBuilder(connectionString).Database!);
        var store = new PostgresEventStore(connectionString);
        await store.EnsureSchemaAsync();
        return store;
    }

    public override async ValueTask DisposeAsync()
    {
        if (_databases.Count == 0) return;
        var server = await TestPostgres.InstanceAsync();
        await using var conn = new NpgsqlConnection(server.ConnectionString());
        await conn.OpenAsync();
        foreach (var db in _databases)
        {
            await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {db} WITH (FORCE)", conn);
            await drop.ExecuteNonQueryAsync();
        }
    }

    /// <summary>
    /// A real late commit: the append runs in a transaction that took its id (and inserted its rows) early and
    /// commits only after <paramref name="holdFor"/>, while other writers commit transactions with higher ids.
    /// </summary>
    public override async Task<AppendResult> AppendHeldOpenAsync(
        IEventStore store, string streamId, ExpectedVersion expected, IReadOnlyList<ProposedEvent> events, TimeSpan holdFor)
    {
        var pg = (PostgresEventStore)store;
        await using var conn = await pg.DataSource.OpenConnectionAsync();
        await using var tx = await conn.BeginTransactionAsync();
        var result = await pg.AppendAsync(tx, streamId, expected, events);
        await Task.Delay(holdFor);
        _committedPastHeldTransactions.Add(await CountCommittedAfterAsync(pg, result.Events[0].Position!.Value.Commit));
        await tx.CommitAsync();
        return result;
    }

    /// <summary>Without holding back, a reader would have skipped these held transactions: later ones committed first.</summary>
    public override void AssertLateCommitsWereOvertaken()
    {
        Assert.NotEmpty(_committedPastHeldTransactions);
        Assert.Contains(_committedPastHeldTransactions, n => n > 0);
    }

    private static async Task<long> CountCommittedAfterAsync(PostgresEventStore store, ulong transactionId)
    {
        await using var cmd = store.DataSource.CreateCommand("SELECT count(*) FROM he_events WHERE transaction_id > $1");
        cmd.Parameters.Add(new NpgsqlParameter<ulong> { TypedValue = transactionId, NpgsqlDbType = NpgsqlDbType.Xid8 });
        return (long)(await cmd.ExecuteScalarAsync())!;
    }
}
