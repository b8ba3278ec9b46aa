using System.Diagnostics;
using System.Security.Cryptography;
using HealthEvents.Application.Ledger;
using HealthEvents.Projections;
using HealthEvents.Projections.Ledger;
using Marten;
using Weasel.Core;

namespace HealthEvents.Benchmarks;

/// <summary>
/// RFC 9162 proofs over a large ledger: a tree of <c>--leaves N</c> (default 1,000,000) is written straight into the
/// ledger's tables — leaves, the perfect subtrees the projection stores, the right edge and signed heads — in a private
/// durable PostgreSQL; then inclusion and consistency proofs are served through <see cref="LedgerQuery"/> (as
/// <c>GET /ledger/proofs/…</c> does) and timed, each checked against the signed root. The baseline, from the same run, is
/// the proof computed from every leaf, which is what the query did before subtrees were stored.
/// <code>dotnet run -c Release --project benchmarks/HealthEvents.Benchmarks -- proofs [--leaves N] [--proofs N]</code>
/// </summary>
public static class ProofBenchmark
{
    /// <summary>Proof latencies in milliseconds (p50/p99 of <see cref="Proofs"/> each) and the every-leaf baseline's one proof.</summary>
    public sealed record Result(long Leaves, int Proofs, double InclusionP50, double InclusionP99, double ConsistencyP50, double ConsistencyP99, double BaselineMs);

    public static async Task<int> RunAsync(int leaves, int proofs, CancellationToken ct)
    {
        var r = await MeasureAsync(leaves, proofs, ct);
        Console.WriteLine($"| RFC 9162 proof over {r.Leaves:N0} leaves ({r.Proofs} each, served by LedgerQuery from PostgreSQL) | p50 | p99 |");
        Console.WriteLine("|---|---|---|");
        Console.WriteLine($"| inclusion | {r.InclusionP50:0.00} ms | {r.InclusionP99:0.00} ms |");
        Console.WriteLine($"| consistency | {r.ConsistencyP50:0.00} ms | {r.ConsistencyP99:0.00} ms |");
        Console.WriteLine($"| baseline: one inclusion proof read from every leaf | {r.BaselineMs:0} ms | |");
        return 0;
    }

    /// <summary>Writes a tree of <paramref name="leaves"/> leaves into a private PostgreSQL, then times <paramref name="proofs"/> proofs of each kind.</summary>
    public static async Task<Result> MeasureAsync(int leaves, int proofs, CancellationToken ct)
    {
        var database = await BenchDatabase.StartAsync("proofs", ct);
        try
        {
            using var readModels = ReadModelStore.Create(database.ConnectionString);
            await readModels.EnsureSchemaAsync(ct);
            var random = new Random(9162);
            var signed = new SortedSet<long> { 1, leaves };
            while (signed.Count < 20) signed.Add(random.NextInt64(2, leaves));
            var roots = await WriteTreeAsync(readModels, leaves, signed, ct);

            var query = new LedgerQuery(readModels);
            var inclusion = new List<double>();
            var consistency = new List<double>();
            var sizes = signed.ToArray();
            for (var i = 0; i < proofs && !ct.IsCancellationRequested; i++)
            {
                var size = sizes[random.Next(1, sizes.Length)];
                var index = random.NextInt64(0, size);
                var leaf = Leaf(index);
                var watch = Stopwatch.StartNew();
                var (path, _) = await query.InclusionAsync(IdOf(index), size, ct);
                inclusion.Add(watch.Elapsed.TotalMilliseconds);
                if (path is null || !MerkleTree.VerifyInclusion(leaf, index, size, [.. path.Path.Select(Convert.FromHexString)], roots[size]))
                    throw new InvalidOperationException($"The inclusion proof of leaf {index} under {size} does not verify.");

                var (from, to) = (sizes[random.Next(0, sizes.Length - 1)], leaves);
                watch.Restart();
                var (proof, _) = await query.ConsistencyAsync(from, to, ct);
                consistency.Add(watch.Elapsed.TotalMilliseconds);
                if (proof is null || !MerkleTree.VerifyConsistency(from, to, roots[from], roots[to], [.. proof.Proof.Select(Convert.FromHexString)]))
                    throw new InvalidOperationException($"The consistency proof {from} -> {to} does not verify.");
            }

            Console.Error.WriteLine("baseline: one proof from every leaf, as before subtrees were stored ...");
            var baseline = Stopwatch.StartNew();
            var all = await query.LeavesAsync(0, leaves, ct);
            MerkleTree.InclusionPath(leaves / 2, all);
            var baselineMs = baseline.Elapsed.TotalMilliseconds;

            return new(leaves, inclusion.Count, Percentile(inclusion, 50), Percentile(inclusion, 99),
                Percentile(consistency, 50), Percentile(consistency, 99), baselineMs);
        }
        finally
        {
            await database.DisposeAsync();
        }
    }

    /// <summary>Writes the documents the ledger projection would have written for <paramref name="size"/> leaves; the roots at <paramref name="signed"/> sizes.</summary>
    private static async Task<Dictionary<long, byte[]>> WriteTreeAsync(ReadModelStore readModels, long size, SortedSet<long> signed, CancellationToken ct)
    {
        var frontier = new MerkleFrontier();
        var roots = new Dictionary<long, byte[]>();
        var leafDocs = new List<LedgerLeaf>();
        var nodeDocs = new List<LedgerNode>();
        var watch = Stopwatch.StartNew();
        for (long i = 0; i < size; i++)
        {
            var leaf = Leaf(i);
            leafDocs.Add(new LedgerLeaf { Id = IdOf(i), LeafIndex = i, Hash = Convert.ToHexStringLower(leaf), StreamId = $"bench-{i % 1000}", StreamVersion = i / 1000 });
            frontier.Append(leaf, (height, index, hash) =>
                nodeDocs.Add(new LedgerNode { Id = LedgerNode.IdOf(height, index), Height = height, Index = index, Hash = Convert.ToHexStringLower(hash) }));
            if (signed.Contains(frontier.Size)) roots[frontier.Size] = frontier.Root();
            if (leafDocs.Count == 50_000 || i == size - 1)
            {
                await readModels.Store.BulkInsertAsync(leafDocs, BulkInsertMode.InsertsOnly, cancellation: ct);
                await readModels.Store.BulkInsertAsync(nodeDocs, BulkInsertMode.InsertsOnly, cancellation: ct);
                leafDocs.Clear();
                nodeDocs.Clear();
                Console.Error.WriteLine($"  {i + 1:N0} of {size:N0} leaves written ({watch.Elapsed.TotalSeconds:0} s)");
            }
        }
        await using var session = readModels.Store.LightweightSession();
        session.Store(new LedgerProgress { Size = size, Frontier = [.. frontier.SubtreeRoots.Select(Convert.ToHexStringLower)] });
        foreach (var s in signed)
            session.Store(new LedgerTreeHead { Id = Guid.NewGuid(), TreeSize = s, RootHash = Convert.ToHexStringLower(roots[s]), At = DateTimeOffset.UtcNow });
        await session.SaveChangesAsync(ct);
        return roots;
    }

    private static byte[] Leaf(long index) => SHA256.HashData(BitConverter.GetBytes(index));

    private static Guid IdOf(long index)
    {
        Span<byte> bytes = stackalloc byte[16];
        BitConverter.TryWriteBytes(bytes, index);
        return new Guid(bytes);
    }

    private static double Percentile(List<double> values, int p)
    {
        var sorted = values.Order().ToList();
        return sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p / 100.0 * sorted.Count) - 1)];
    }
}
