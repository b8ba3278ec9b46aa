using System.Runtime.ExceptionServices;
using HealthEvents.Application.Ports;

namespace HealthEvents.Projections.Runner;

public sealed partial class ProjectionRunner
{
    /// <summary>
    /// The live log read once for every projection this node runs: one subscription, and each batch applied to every
    /// member projection in one transaction (<see cref="ReadModelStore.BeginApplyAsync"/>: no WAL flush waited for), each
    /// member's checkpoint moved in that same transaction — a crash replays the whole batch for all of them, never a
    /// part. A member joins once it has caught up alone; the feed then reads again from the lowest member checkpoint, so
    /// nothing between the two is skipped. A member that fails on the batch leaves it (its worker backs off and carries
    /// on alone, then rejoins) and the others apply the batch again without it, in a fresh transaction.
    /// </summary>
    private sealed class SharedFeed(ProjectionRunner runner)
    {
        private readonly Lock _gate = new();
        private readonly List<Member> _members = [];
        // Held while a batch is applied: a member leaves (and its worker gives up its lock) only between batches.
        private readonly SemaphoreSlim _applying = new(1, 1);
        private TaskCompletionSource _joined = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private CancellationTokenSource? _reread; // ends the current read when a member joins

        private sealed class Member(Worker worker, ProjectionCheckpoint? checkpoint)
        {
            public Worker Worker { get; } = worker;

            /// <summary>Changed only while <see cref="_applying"/> is held.</summary>
            public ProjectionCheckpoint? Checkpoint { get; set; } = checkpoint;

            /// <summary>Completed with the reason the member had to leave.</summary>
            public TaskCompletionSource<Exception> Expelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        /// <summary>Projections in the feed now.</summary>
        public int Count
        {
            get { lock (_gate) return _members.Count; }
        }

        /// <summary>
        /// Applies <paramref name="w"/>'s projection in the shared batches from <paramref name="checkpoint"/> on. Returns
        /// only by exception: the projection's failure (rethrown as it was thrown) or <paramref name="ct"/> ending; no
        /// batch is applied to it once this has ended.
        /// </summary>
        public async Task FollowAsync(Worker w, ProjectionCheckpoint? checkpoint, CancellationToken ct)
        {
            var member = new Member(w, checkpoint);
            CancellationTokenSource? reread;
            lock (_gate)
            {
                _members.Add(member);
                _joined.TrySetResult();
                reread = _reread;
            }
            try
            {
                reread?.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // that read has ended anyway; the next one starts from the lowest checkpoint, this member's included
            }
            try
            {
                ExceptionDispatchInfo.Throw(await member.Expelled.Task.WaitAsync(ct));
            }
            finally
            {
                await _applying.WaitAsync(CancellationToken.None);
                try
                {
                    lock (_gate) _members.Remove(member);
                }
                finally
                {
                    _applying.Release();
                }
            }
        }

        /// <summary>Feeds the members until <paramref name="stop"/>; idle while there are none.</summary>
        public async Task RunAsync(CancellationToken stop)
        {
            while (!stop.IsCancellationRequested)
            {
                Task joined;
                CancellationTokenSource? reread = null;
                lock (_gate)
                {
                    joined = _joined.Task;
                    if (_members.Count > 0)
                    {
                        _joined = new(TaskCreationOptions.RunContinuationsAsynchronously);
                        _reread = reread = CancellationTokenSource.CreateLinkedTokenSource(stop);
                    }
                }
                try
                {
                    if (reread is null) await joined.WaitAsync(stop);
                    else await FeedAsync(reread.Token, stop);
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    return;
                }
                catch (OperationCanceledException) when (reread?.IsCancellationRequested == true)
                {
                    // a member joined: read again from the lowest checkpoint
                }
                catch (Exception e)
                {
                    // The log could not be read, or a batch not committed: every member carries on alone for now (each
                    // worker logs it and backs off), then rejoins.
                    ExpelAll(e);
                }
                finally
                {
                    lock (_gate)
                        if (ReferenceEquals(_reread, reread)) _reread = null;
                    reread?.Dispose();
                }
            }
        }

        /// <summary>Catches up from the lowest member checkpoint, then follows the live log. Returns only by exception.</summary>
        private async Task FeedAsync(CancellationToken read, CancellationToken stop)
        {
            GlobalPosition? at;
            lock (_gate) at = _members.Any(m => m.Checkpoint is null) ? null : _members.Min(m => m.Checkpoint!.Position);
            var size = runner._options.BatchSize;
            while (true)
            {
                var batch = await runner._eventStore.ReadAllAsync(at, size, read);
                if (batch.Count == 0) break;
                await ApplyAsync(at, batch, more: batch.Count == size, stop);
                at = batch[^1].Position;
                if (batch.Count < size) break;
            }
            await runner.FollowLiveAsync(at, async (batch, more) =>
            {
                await ApplyAsync(at, batch, more, stop);
                at = batch[^1].Position;
            }, read);
            // The subscription ended by itself (an adapter may end it): start over, but never in a hot loop.
            await Task.Delay(runner._options.MinBackoff, read);
        }

        /// <summary>
        /// Applies <paramref name="batch"/> (the events right after <paramref name="after"/>) to every member that has
        /// applied everything up to <paramref name="after"/>, each from its own checkpoint, in one transaction.
        /// </summary>
        private async Task ApplyAsync(GlobalPosition? after, IReadOnlyList<EventEnvelope> batch, bool more, CancellationToken ct)
        {
            await _applying.WaitAsync(ct);
            try
            {
                List<(Member Member, IReadOnlyList<EventEnvelope> Events)> work;
                lock (_gate)
                    work = [.. _members.Where(m => Follows(m.Checkpoint, after))
                        .Select(m => (m, Unapplied(batch, m.Checkpoint)))
                        .Where(x => x.Item2.Count > 0)
                        .OrderBy(x => x.m.Worker.Name, StringComparer.Ordinal)]; // the same order every batch, whoever joined first
                while (work.Count > 0)
                {
                    var applied = new List<(Member, ProjectionCheckpoint)>(work.Count);
                    await using (var tx = await runner._readModels.BeginApplyAsync(ct))
                    {
                        (Member Member, Exception Error)? failed = null;
                        foreach (var (m, events) in work)
                        {
                            try
                            {
                                applied.Add((m, await runner._applier.ApplyInAsync(tx, m.Worker.Projection, m.Checkpoint, events, ct)));
                            }
                            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
                            {
                                failed = (m, e);
                                break;
                            }
                        }
                        if (failed is { } f)
                        {
                            // The transaction may be aborted: drop it; the others apply the batch again without this one.
                            work.RemoveAll(x => x.Member == f.Member);
                            Expel(f.Member, f.Error);
                            continue;
                        }
                        await tx.CommitAsync(ct);
                    }
                    foreach (var (m, next) in applied)
                    {
                        m.Checkpoint = next;
                        m.Worker.Applied(next);
                        m.Worker.SetCaughtUp(!more);
                    }
                    return;
                }
            }
            finally
            {
                _applying.Release();
            }
        }

        /// <summary>Whether a member at <paramref name="checkpoint"/> has applied everything up to <paramref name="after"/>.</summary>
        private static bool Follows(ProjectionCheckpoint? checkpoint, GlobalPosition? after) =>
            after is not { } a || (checkpoint is not null && checkpoint.Position >= a);

        /// <summary>The events of <paramref name="batch"/> past <paramref name="checkpoint"/> (a member may be ahead of the feed).</summary>
        private static IReadOnlyList<EventEnvelope> Unapplied(IReadOnlyList<EventEnvelope> batch, ProjectionCheckpoint? checkpoint)
        {
            if (checkpoint is null) return batch;
            var i = 0;
            while (i < batch.Count && batch[i].Position!.Value <= checkpoint.Position) i++;
            return i == 0 ? batch : batch.Skip(i).ToList();
        }

        private void Expel(Member m, Exception reason)
        {
            lock (_gate) _members.Remove(m);
            m.Expelled.TrySetResult(reason);
        }

        private void ExpelAll(Exception reason)
        {
            Member[] all;
            lock (_gate) all = [.. _members];
            foreach (var m in all) Expel(m, reason);
        }
    }
}
