using HealthEvents.Application.Ports;
using HealthEvents.Application.Ledger;
using HealthEvents.Domain.Ledger;
using Marten;

namespace HealthEvents.Projections.Ledger;

/// <summary>
/// The ledger builder's read side: appends each event of the global log (in global order, exactly once, through the
/// projection runner) as a leaf of the global Merkle tree — its stored hash — and records the signed tree heads of the
/// <c>ledger</c> stream, each with its place in the log (<see cref="LedgerTreeHead.LeafIndex"/>). The ledger stream's own events are not leaves: a head certifying heads would call for another.
/// It also keeps the tree's right edge and stores every perfect subtree as it completes (<see cref="LedgerNode"/>, on
/// average one per leaf), so proofs read O(log n) stored hashes. An event this build cannot read (written past the
/// service: an unknown type, the server's reserved <c>$&gt;</c> included) is a leaf all the same
/// (<see cref="IEveryEventProjection"/>): the endorsers' witnesses (<see cref="LedgerWitness"/>) and <c>verify</c> count
/// every event of the log, so the tree does too, or its heads would stop being endorsed from that event on.
/// </summary>
public sealed class LedgerProjection : IEveryEventProjection
{
    public const string ProjectionName = "ledger";

    public string Name => ProjectionName;

    public IReadOnlyCollection<Type> DocumentTypes { get; } = [typeof(LedgerLeaf), typeof(LedgerProgress), typeof(LedgerTreeHead), typeof(LedgerNode)];

    public async Task ApplyAsync(IDocumentSession session, ProjectedEvent e, CancellationToken ct)
    {
        if (!LedgerStream.IsLeaf(e.StreamId))
        {
            if (e.Event is TreeHeadSigned head)
            {
                // Its place in the log: every leaf from here on was stored after it.
                var leafIndex = (await session.LoadAsync<LedgerProgress>(LedgerProgress.SingletonId, ct))?.Size ?? 0;
                session.Store(new LedgerTreeHead
                {
                    LeafIndex = leafIndex,
                    Id = e.Envelope.EventId,
                    TreeSize = head.TreeSize,
                    RootHash = head.RootHash,
                    At = head.At,
                    StreamVersion = e.StreamVersion,
                    EndorsedBy = e.Envelope.Endorsement?.Signatures.Select(s => s.HospitalId).ToList() ?? [],
                    // A signer signs leaves already in the log, so an honest head never counts more than the log held before it.
                    BeyondLog = head.TreeSize > leafIndex,
                });
            }
            return;
        }
        await AppendLeafAsync(session, e.Envelope, ct);
    }

    public Task ApplyUnreadableAsync(IDocumentSession session, EventEnvelope envelope, CancellationToken ct) =>
        LedgerStream.IsLeaf(envelope.StreamId) ? AppendLeafAsync(session, envelope, ct) : Task.CompletedTask;

    /// <summary>The event's stored hash as the tree's next leaf, with the subtrees it completes.</summary>
    private static async Task AppendLeafAsync(IDocumentSession session, EventEnvelope envelope, CancellationToken ct)
    {
        // Identity session: the progress stored by an earlier event of the batch loads as stored.
        var progress = await session.LoadAsync<LedgerProgress>(LedgerProgress.SingletonId, ct) ?? new LedgerProgress { Frontier = [] };
        var frontier = await FrontierAsync(session, progress, ct);
        session.Store(new LedgerLeaf
        {
            Id = envelope.EventId,
            LeafIndex = progress.Size,
            Hash = Convert.ToHexStringLower(envelope.Hash),
            StreamId = envelope.StreamId,
            StreamVersion = envelope.Version,
        });
        frontier.Append(envelope.Hash, (height, index, hash) => session.Store(new LedgerNode
        {
            Id = LedgerNode.IdOf(height, index), Height = height, Index = index, Hash = Convert.ToHexStringLower(hash),
        }));
        session.Store(progress with { Size = frontier.Size, Frontier = [.. frontier.SubtreeRoots.Select(Convert.ToHexStringLower)] });
    }

    private static async Task<MerkleFrontier> FrontierAsync(IDocumentSession session, LedgerProgress progress, CancellationToken ct)
    {
        if (progress.Frontier is { } stored) return new MerkleFrontier(progress.Size, [.. stored.Select(Convert.FromHexString)]);
        // A ledger from before the edge was kept: read its leaves once. Its older subtrees have no nodes; proofs over
        // them read the leaves until `rebuild ledger` stores them.
        var frontier = new MerkleFrontier();
        var leaves = await session.Query<LedgerLeaf>().Where(l => l.LeafIndex < progress.Size).OrderBy(l => l.LeafIndex)
            .Select(l => l.Hash).ToListAsync(ct);
        foreach (var leaf in leaves) frontier.Append(Convert.FromHexString(leaf));
        return frontier;
    }
}
