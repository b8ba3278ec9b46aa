using Npgsql;

namespace HealthEvents.Projections.Runner;

/// <summary>
/// One batch's transaction on its own pooled connection (see <see cref="ReadModelStore.BeginApplyAsync"/>). Disposing
/// it rolls back anything not committed and returns the connection.
/// </summary>
internal sealed class ApplyTransaction(NpgsqlConnection connection, NpgsqlTransaction transaction) : IAsyncDisposable
{
    public NpgsqlTransaction Transaction { get; } = transaction;

    public Task CommitAsync(CancellationToken ct) => Transaction.CommitAsync(ct);

    public async ValueTask DisposeAsync()
    {
        await Transaction.DisposeAsync();
        await connection.DisposeAsync();
    }
}
