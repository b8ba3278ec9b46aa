using System.Collections.Concurrent;
using HealthEvents.Application.Ports;
using Npgsql;

namespace HealthEvents.Infrastructure.Postgres;

public sealed partial class PostgresEventStore
{
    private sealed record StreamHead(long Version, byte[] Hash);

    /// <summary>
    /// Last known (version, hash) of streams this store wrote or read, so an append whose expectation matches
    /// needs no read first. Only committed events go in, and a committed event never changes, so an entry can
    /// only be behind, never wrong: the primary key turns a behind entry into a conflict and the full path.
    /// Bounded: cleared when it grows past <see cref="Capacity"/> entries.
    /// </summary>
    private sealed class HeadCache
    {
        private const int Capacity = 100_000;
        private readonly ConcurrentDictionary<string, StreamHead> _heads = new(StringComparer.Ordinal);

        public StreamHead? Get(string streamId) => _heads.TryGetValue(streamId, out var head) ? head : null;

        public void Remember(EventEnvelope committed)
        {
            if (_heads.Count >= Capacity) _heads.Clear();
            var head = new StreamHead(committed.Version, committed.Hash);
            _heads.AddOrUpdate(committed.StreamId, head, (_, old) => old.Version >= head.Version ? old : head);
        }

        public void Forget(string streamId) => _heads.TryRemove(streamId, out _);
    }

    /// <summary>
    /// Wakes subscribers (of any process) after appends commit: NOTIFY on a connection of its own, outside the
    /// appends' transactions. Requests coalesce: at most one NOTIFY in flight and one pending. The NOTIFY
    /// transaction commits without waiting for the WAL flush (it carries no data), so it costs a round trip on
    /// an idle connection, not a durable commit. A lost notification only delays subscribers to their next poll.
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
                    }
                    catch (Exception e) when ((e is NpgsqlException or InvalidOperationException or TimeoutException) && !_stop.IsCancellationRequested)
                    {
                        // the connection is gone: open a fresh one for the next request; subscribers poll meanwhile
                        if (conn is not null) await conn.DisposeAsync();
                        conn = null;
                        await Task.Delay(100, _stop.Token);
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
