using System.Security.Cryptography;
using HealthEvents.Application.Ledger;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Ledger;
using HealthEvents.Projections.Ledger;
using Marten;

namespace HealthEvents.Projections.Tests;

/// <summary>
/// The ledger's proofs come from the perfect subtrees the projection stores as the tree grows, and are exactly the
/// RFC 9162 proofs over all leaves — also for a ledger built before subtrees were stored, until it is rebuilt. And each
/// tree head's place in the global log (how many leaves came before it), as the projection records it within and across
/// batches: what dates a stream's transactions when it is verified on its own (the latest head at or before a leaf).
/// </summary>
public sealed class LedgerProofTests : IAsyncLifetime
{
    private static readonly EventMetadata Metadata = new("someone", Role.Physician, "northside", Guid.NewGuid(), Guid.NewGuid(), DateTimeOffset.UnixEpoch);
    private long _headVersion;
    private ProjectionDatabase _db = null!;
    private ReadModelStore _readModels = null!;
    private readonly LedgerProjection _projection = new();
    private readonly List<(Guid EventId, byte[] Hash)> _leaves = [];

    public async Task InitializeAsync()
    {
        _db = await ProjectionDatabase.CreateAsync();
        _readModels = _db.NewReadModels();
        await _readModels.EnsureSchemaAsync();
    }

    public async Task DisposeAsync() => await _db.DisposeAsync();

    [Fact]
    public async Task Proofs_from_stored_subtrees_equal_the_proofs_over_every_leaf()
    {
        await ProjectAsync(300, batch: 64);
        await SignAsync(1, 2, 3, 5, 6, 7, 64, 100, 255, 256, 257, 300);
        var query = new LedgerQuery(_readModels);

        await AssertProofsAsync(query, sizes: [1, 2, 3, 5, 6, 7, 64, 100, 255, 256, 257, 300]);
        Assert.Equal(300 - System.Numerics.BitOperations.PopCount(300), await CountAsync<LedgerNode>());
    }

    [Fact]
    public async Task A_ledger_built_before_subtrees_were_stored_still_proves_and_then_keeps_them()
    {
        await ProjectAsync(150, batch: 50);
        await using (var session = await _readModels.IdentitySessionAsync(default))
        {
            session.DeleteWhere<LedgerNode>(_ => true);
            var progress = await session.LoadAsync<LedgerProgress>(LedgerProgress.SingletonId);
            session.Store(progress! with { Frontier = null });
            await session.SaveChangesAsync();
        }
        await ProjectAsync(50, batch: 20);
        await SignAsync(7, 128, 150, 200);

        await AssertProofsAsync(new LedgerQuery(_readModels), sizes: [7, 128, 150, 200]);
    }

    [Fact]
    public async Task The_latest_head_before_a_leaf_is_the_last_one_the_log_stored_ahead_of_it()
    {
        await using (var session = await _readModels.IdentitySessionAsync(default))
        {
            // A head from before places were kept: never found, whatever its size.
            session.Store(new LedgerTreeHead { Id = Guid.NewGuid(), TreeSize = 1000, RootHash = "", At = DateTimeOffset.UnixEpoch, StreamVersion = 99 });
            await session.SaveChangesAsync();
        }
        // One batch: leaves 0 and 1, head a, leaf 2. The next: heads b and c with no leaf between, leaves 3 and 4.
        var (a, b, c) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        await ProjectAsync(Leaf(), Leaf(), Head(a), Leaf());
        await ProjectAsync(Head(b), Head(c), Leaf(), Leaf());

        var heads = await new LedgerQuery(_readModels).HeadsBeforeAsync([0, 1, 2, 3, 4]);

        Assert.False(heads.ContainsKey(0));
        Assert.False(heads.ContainsKey(1));
        Assert.Equal(a, heads[2].EventId);
        Assert.Equal(c, heads[3].EventId); // of two at one place, the later in the ledger stream
        Assert.Equal(c, heads[4].EventId);
    }

    private static ProjectedEvent Leaf()
    {
        var envelope = new EventEnvelope(Guid.NewGuid(), $"patient-{Guid.NewGuid()}", 0, "test", [], [], new byte[32],
            SHA256.HashData(Guid.NewGuid().ToByteArray()), null);
        return new ProjectedEvent(envelope, new TreeHeadSigned(0, "", DateTimeOffset.UnixEpoch), Metadata); // a leaf: its event is not read
    }

    private ProjectedEvent Head(Guid id)
    {
        var envelope = new EventEnvelope(id, LedgerStream.StreamId, _headVersion++, "ledger.tree-head.v1", [], [], new byte[32], new byte[32], null);
        return new ProjectedEvent(envelope, new TreeHeadSigned(1, "", DateTimeOffset.UnixEpoch), Metadata);
    }

    /// <summary>One batch of these events, as the runner applies it: one session.</summary>
    private async Task ProjectAsync(params ProjectedEvent[] events)
    {
        await using var session = await _readModels.IdentitySessionAsync(default);
        foreach (var e in events) await _projection.ApplyAsync(session, e, default);
        await session.SaveChangesAsync();
    }

    private async Task AssertProofsAsync(LedgerQuery query, long[] sizes)
    {
        var hashes = _leaves.Select(l => l.Hash).ToList();
        foreach (var size in sizes)
        {
            var tree = hashes.Take((int)size).ToList();
            var root = MerkleTree.Root(tree);
            foreach (var index in new[] { 0, size / 2, size - 1 }.Distinct())
            {
                var (proof, error) = await query.InclusionAsync(_leaves[(int)index].EventId, size);
                Assert.Equal(LedgerProofError.None, error);
                Assert.Equal(MerkleTree.InclusionPath(index, tree).Select(Convert.ToHexStringLower), proof!.Path);
                Assert.True(MerkleTree.VerifyInclusion(tree[(int)index], index, size, [.. proof.Path.Select(Convert.FromHexString)], root));
            }
            foreach (var old in sizes.Where(s => s <= size))
            {
                var (proof, error) = await query.ConsistencyAsync(old, size);
                Assert.Equal(LedgerProofError.None, error);
                Assert.Equal(MerkleTree.ConsistencyProof(old, tree).Select(Convert.ToHexStringLower), proof!.Proof);
            }
        }
    }

    /// <summary>Projects <paramref name="count"/> more events, as the runner does: one session per batch.</summary>
    private async Task ProjectAsync(int count, int batch)
    {
        for (var done = 0; done < count; done += batch)
        {
            await using var session = await _readModels.IdentitySessionAsync(default);
            for (var i = done; i < Math.Min(count, done + batch); i++)
            {
                var (id, hash) = (Guid.NewGuid(), SHA256.HashData(Guid.NewGuid().ToByteArray()));
                _leaves.Add((id, hash));
                var envelope = new EventEnvelope(id, $"patient-{Guid.NewGuid()}", 0, "test", [], [], new byte[32], hash, null);
                await _projection.ApplyAsync(session, new ProjectedEvent(envelope, new TreeHeadSigned(0, "", DateTimeOffset.UnixEpoch), Metadata), default);
            }
            await session.SaveChangesAsync();
        }
    }

    /// <summary>Signed heads at these sizes: proofs are only given under a head the hospitals signed.</summary>
    private async Task SignAsync(params long[] sizes)
    {
        await using var session = await _readModels.IdentitySessionAsync(default);
        foreach (var size in sizes)
            session.Store(new LedgerTreeHead
            {
                Id = Guid.NewGuid(), TreeSize = size, At = DateTimeOffset.UnixEpoch,
                RootHash = Convert.ToHexStringLower(MerkleTree.Root(_leaves.Take((int)size).Select(l => l.Hash).ToList())),
            });
        await session.SaveChangesAsync();
    }

    private async Task<int> CountAsync<T>() where T : notnull
    {
        await using var session = await _readModels.QuerySessionAsync();
        return await session.Query<T>().CountAsync();
    }
}
