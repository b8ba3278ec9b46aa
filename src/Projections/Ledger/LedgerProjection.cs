using HealthEvents.Application.Ledger;
using HealthEvents.Domain.Ledger;
using Marten;

namespace HealthEvents.Projections.Ledger;

/// <summary>
/// The ledger builder's read side: appends each event of the global log (in global order, exactly once, through the
/// projection runner) as a leaf of the global Merkle tree — its stored hash — and records the signed tree heads of the
/// <c>ledger</c> stream. The ledger stream's own events are not leaves: a head certifying heads would call for another.
/// </summary>
public sealed class LedgerProjection : IProjection
{
    public const string ProjectionName = "ledger";

    public string Name => ProjectionName;

    public IReadOnlyCollection<Type> DocumentTypes { get; } = [typeof(LedgerLeaf), typeof(LedgerProgress), typeof(LedgerTreeHead)];

    public async Task ApplyAsync(IDocumentSession session, ProjectedEvent e, CancellationToken ct)
    {
        if (!LedgerStream.IsLeaf(e.StreamId))
        {
            if (e.Event is TreeHeadSigned head)
                session.Store(new LedgerTreeHead
                {
                    Id = e.Envelope.EventId,
                    TreeSize = head.TreeSize,
                    RootHash = head.RootHash,
                    At = head.At,
                    StreamVersion = e.StreamVersion,
                    EndorsedBy = e.Envelope.Endorsement?.Signatures.Select(s => s.HospitalId).ToList() ?? [],
                });
            return;
        }
        // Identity session: the progress stored by an earlier event of the batch loads as stored.
        var progress = await session.LoadAsync<LedgerProgress>(LedgerProgress.SingletonId, ct) ?? new LedgerProgress();
        session.Store(new LedgerLeaf
        {
            Id = e.Envelope.EventId,
            LeafIndex = progress.Size,
            Hash = Convert.ToHexStringLower(e.Envelope.Hash),
            StreamId = e.StreamId,
            StreamVersion = e.StreamVersion,
        });
        session.Store(progress with { Size = progress.Size + 1 });
    }
}
