using Npgsql;

namespace HealthEvents.Infrastructure.Postgres;

public sealed partial class PostgresEventStore
{
    /// <summary>
    /// Wakes subscribers (of any process) after appends commit: NOTIFY on a connection of its own, outside the
    /// appends' transactions. Requests coalesce: at most one NOTIFY in flight and one pending. The NOTIFY
    /// transaction commits without waiting for the WAL flush (it carries no data), so it costs a round trip on
    /// an idle connection, not a durable commit. A NOTIFY that fails is sent again on a fresh connection (waiting
    /// longer after each failure, up to 5 s): subscribers rely on it, and poll only rarely without it.
    /// </summary>
    private sealed class Notifier(NpgsqlDataSource dataSource) : IAsyncDisposable
    {
        private readonly SemaphoreSlim _signal = new(0);
        private readonly CancellationTokenSource _stop = new();
        private readonly Lock _startLock = new();
        private Task? _loop;
        private int _requested;
        private volatile bool _disposed;

        public void Request()
        {
            if (_disposed || Interlocked.Exchange(ref _requested, 1) != 0) return; // stopped, or one already pending
            if (_loop is null)
                lock (_startLock)
                    _loop ??= Task.Run(RunAsync);
            try
            {
                _signal.Release();
            }
            catch (ObjectDisposedException)
            {
                // disposed meanwhile: nobody to wake
            }
        }

        private async Task RunAsync()
        {
            NpgsqlConnection? conn = null;
            var failures = 0;
            try
            {
                while (!_stop.IsCancellationRequested)
                {
                    await _signal.WaitAsync(_stop.Token);
                    Volatile.Write(ref _requested, 0);
                    try
                    {
                        if (conn is null)
                        {
                            conn = await dataSource.OpenConnectionAsync(_stop.Token);
                            await using var setup = new NpgsqlCommand("SET synchronous_commit TO off", conn);
                            await setup.ExecuteNonQueryAsync(_stop.Token);
                        }
                        await using var notify = new NpgsqlCommand(NotifySql, conn);
                        await notify.ExecuteNonQueryAsync(_stop.Token);
                        failures = 0;
                    }
                    catch (Exception e) when ((e is NpgsqlException or InvalidOperationException or TimeoutException) && !_stop.IsCancellationRequested)
                    {
                        // the connection is gone: send this notification again on a fresh one
                        if (conn is not null) await conn.DisposeAsync();
                        conn = null;
                        await Task.Delay(Math.Min(5000, 100 << Math.Min(++failures, 6)), _stop.Token);
                        Request();
                    }
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
            }
            finally
            {
                if (conn is not null) await conn.DisposeAsync();
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (_disposed) return;
            _disposed = true;
            await _stop.CancelAsync();
            Task? loop;
            lock (_startLock) loop = _loop;
            if (loop is not null)
            {
                try
                {
                    await loop;
                }
                catch (Exception e) when (e is OperationCanceledException or NpgsqlException)
                {
                    // stopping
                }
            }
            _stop.Dispose();
            _signal.Dispose();
        }
    }
}
