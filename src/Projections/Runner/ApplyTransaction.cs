using System.Data;
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

    /// <summary>
    /// Whether the connection is gone (the server ended it, the network broke). Npgsql then completes the transaction,
    /// and the next command fails with "transaction is already completed" — an <see cref="InvalidOperationException"/>
    /// that says nothing of the database by its type alone.
    /// </summary>
    public bool ConnectionLost => connection.State != ConnectionState.Open || Transaction.Connection is null;

    public async ValueTask DisposeAsync()
    {
        await Transaction.DisposeAsync();
        await connection.DisposeAsync();
    }
}
