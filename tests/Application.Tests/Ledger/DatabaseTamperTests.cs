using HealthEvents.Application.Ports;
using HealthEvents.Application.Ledger;
using HealthEvents.Infrastructure.Postgres;
using HealthEvents.TestSupport;
using Npgsql;
using static HealthEvents.Application.Tests.Ledger.Chains;

namespace HealthEvents.Application.Tests.Ledger;

/// <summary>
/// Someone with write access to the database edits rows behind the store's back;
/// the verifier, reading through the store, names the exact version.
/// </summary>
public sealed class DatabaseTamperTests : IAsyncLifetime
{
    private NpgsqlDataSource _dataSource = null!;
    private PostgresEventStore _store = null!;
    private readonly string _stream = "patient-" + Guid.NewGuid().ToString("N");

    public async Task InitializeAsync()
    {
        _dataSource = NpgsqlDataSource.Create(await TestPostgres.CreateDatabaseAsync());
        _store = new PostgresEventStore(_dataSource);
        await _store.EnsureSchemaAsync();
        // Seven events in three transactions, as commands would append them.
        await _store.AppendAsync(_stream, ExpectedVersion.NoStream, [Proposed(0), Proposed(1)]);
        await _store.AppendAsync(_stream, ExpectedVersion.Exactly(1), [Proposed(2), Proposed(3), Proposed(4)]);
        await _store.AppendAsync(_stream, ExpectedVersion.Exactly(4), [Proposed(5), Proposed(6)]);
    }

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        await _dataSource.DisposeAsync();
    }

    [Fact]
    public async Task An_untouched_stream_verifies()
    {
        var report = await VerifyAsync();

        Assert.True(report.Verified);
        Assert.Equal(7, report.Events);
    }

    [Fact]
    public async Task A_byte_of_data_changed_in_place_is_reported_at_its_version()
    {
        await SqlAsync("UPDATE he_events SET data = set_byte(data, 3, get_byte(data, 3) # 1) WHERE stream_id = $1 AND version = 3");

        var report = await VerifyAsync();

        Assert.Equal(3, report.FirstBrokenVersion);
        Assert.Equal(VerificationCodes.HashMismatch, Assert.Single(report.Problems).Code);
    }

    [Fact]
    public async Task A_byte_of_metadata_changed_in_place_is_reported_at_its_version()
    {
        await SqlAsync("UPDATE he_events SET metadata = set_byte(metadata, 2, get_byte(metadata, 2) # 1) WHERE stream_id = $1 AND version = 5");

        var report = await VerifyAsync();

        Assert.Equal(5, report.FirstBrokenVersion);
        Assert.Equal(VerificationCodes.HashMismatch, Assert.Single(report.Problems).Code);
    }

    [Fact]
    public async Task A_deleted_row_is_reported_at_its_version()
    {
        await SqlAsync("DELETE FROM he_events WHERE stream_id = $1 AND version = 2");

        var report = await VerifyAsync();

        Assert.Equal(2, report.FirstBrokenVersion);
        Assert.Equal(VerificationCodes.MissingEvent, Assert.Single(report.Problems).Code);
    }

    [Fact]
    public async Task Two_rows_with_swapped_contents_are_reported_at_the_first_of_them()
    {
        // The FROM side reads the rows as they were before the statement, so this is a true swap.
        await SqlAsync("""
            UPDATE he_events t
               SET type = o.type, data = o.data, metadata = o.metadata, prev_hash = o.prev_hash, hash = o.hash
              FROM he_events o
             WHERE t.stream_id = $1 AND o.stream_id = $1
               AND ((t.version = 2 AND o.version = 3) OR (t.version = 3 AND o.version = 2))
            """);

        var report = await VerifyAsync();

        Assert.Equal(2, report.FirstBrokenVersion);
        Assert.Contains(report.Problems, p => p is { Version: 2, Code: VerificationCodes.HashMismatch });
    }

    [Fact]
    public async Task Two_rows_with_swapped_versions_are_reported_at_the_first_of_them()
    {
        // In three steps: the primary key is checked row by row.
        await SqlAsync("""
            UPDATE he_events SET version = 1000000 WHERE stream_id = $1 AND version = 2;
            UPDATE he_events SET version = 2 WHERE stream_id = $1 AND version = 3;
            UPDATE he_events SET version = 3 WHERE stream_id = $1 AND version = 1000000;
            """);

        var report = await VerifyAsync();

        Assert.Equal(2, report.FirstBrokenVersion);
        Assert.Contains(report.Problems, p => p is { Version: 2, Code: VerificationCodes.BrokenLink });
    }

    /// <summary>The chain's limit, at the database level too: the signed ledger checkpoints catch a cut-off tail.</summary>
    [Fact]
    public async Task Deleting_the_last_row_is_not_detectable_by_the_chain_alone()
    {
        await SqlAsync("DELETE FROM he_events WHERE stream_id = $1 AND version = 6");

        var report = await VerifyAsync();

        Assert.True(report.Verified);
        Assert.Equal(6, report.Events);
    }

    private Task<VerificationReport> VerifyAsync() => StreamVerifier.VerifyAsync(_store.ReadStreamAsync(_stream));

    private async Task SqlAsync(string sql)
    {
        await using var batch = _dataSource.CreateBatch();
        foreach (var statement in sql.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var command = new NpgsqlBatchCommand(statement);
            command.Parameters.Add(new NpgsqlParameter { Value = _stream });
            batch.BatchCommands.Add(command);
        }
        var affected = await batch.ExecuteNonQueryAsync();
        Assert.True(affected > 0, "the tampering statement changed nothing");
    }
}
