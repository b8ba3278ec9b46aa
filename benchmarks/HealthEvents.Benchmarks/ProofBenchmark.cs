using System.Diagnostics;
using System.Security.Cryptography;
using HealthEvents.Application.Ledger;
using HealthEvents.Projections;
using HealthEvents.Projections.Ledger;
using Marten;
using Npgsql;
using Weasel.Core;

namespace HealthEvents.Benchmarks;

/// <summary>
/// RFC 9162 proofs over a large ledger: a tree of <c>--leaves N</c> (default 1,000,000) is written straight into the
/// ledger's tables — leaves, the perfect subtrees the projection stores, the right edge and signed heads — in a private
/// durable PostgreSQL; then inclusion and consistency proofs are served through <see cref="LedgerQuery"/> (as
/// <c>GET /ledger/proofs/…</c> does) and timed, each checked against the signed root, with the leaf and node rows the
/// database read per proof next to the number of perfect subtrees RFC 9162's algorithm asks for. The baseline, from the same run, is
/// the proof computed from every leaf, which is what the query did before subtrees were stored.
/// <code>dotnet run -c Release --project benchmarks/HealthEvents.Benchmarks -- proofs [--leaves N] [--proofs N]</code>
/// </summary>
public static class ProofBenchmark
{
    /// <summary>
    /// Proof latencies in milliseconds (p50/p99 of <see cref="Proofs"/> each), the every-leaf baseline's one proof, and per
    /// proof the leaf and node rows read against the distinct perfect subtrees RFC 9162 asks for.
    /// </summary>
    public sealed record Result(long Leaves, int Proofs, double InclusionP50, double InclusionP99, double ConsistencyP50, double ConsistencyP99, double BaselineMs,
        double InclusionRows, double InclusionNeeds, double ConsistencyRows, double ConsistencyNeeds);

    public static async Task<int> RunAsync(int leaves, int proofs, CancellationToken ct)
    {
        var r = await MeasureAsync(leaves, proofs, ct);
        Console.WriteLine($"| RFC 9162 proof over {r.Leaves:N0} leaves ({r.Proofs} each, served by LedgerQuery from PostgreSQL) | p50 | p99 | leaf and node rows read per proof | subtrees the proof needs |");
        Console.WriteLine("|---|---|---|---|---|");
        Console.WriteLine($"| inclusion | {r.InclusionP50:0.00} ms | {r.InclusionP99:0.00} ms | {r.InclusionRows:0.0} | {r.InclusionNeeds:0.0} |");
        Console.WriteLine($"| consistency | {r.ConsistencyP50:0.00} ms | {r.ConsistencyP99:0.00} ms | {r.ConsistencyRows:0.0} | {r.ConsistencyNeeds:0.0} |");
        Console.WriteLine($"| baseline: one inclusion proof read from every leaf | {r.BaselineMs:0} ms | | {r.Leaves:N0} | |");
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
            // Up to 20 signed sizes, the first and the whole tree among them; a small tree signs every size it has.
            var signed = new SortedSet<long> { 1, leaves };
            while (signed.Count < Math.Min(20, leaves)) signed.Add(random.NextInt64(2, leaves));
            var roots = await WriteTreeAsync(readModels, leaves, signed, ct);

            var query = new LedgerQuery(readModels);
            await using var db = NpgsqlDataSource.Create(database.ConnectionString);
            var sizes = signed.ToArray();
            var inclusions = Enumerable.Range(0, proofs).Select(_ => sizes[random.Next(sizes.Length > 1 ? 1 : 0, sizes.Length)]).Select(size => (Size: size, Index: random.NextInt64(0, size))).ToList();
            var consistencies = Enumerable.Range(0, proofs).Select(_ => (From: sizes[random.Next(0, Math.Max(1, sizes.Length - 1))], To: leaves)).ToList();

            var (inclusion, inclusionRows) = await MeasureAsync(db, inclusions, async p =>
            {
                var (path, _) = await query.InclusionAsync(IdOf(p.Index), p.Size, ct);
                return path is not null && MerkleTree.VerifyInclusion(Leaf(p.Index), p.Index, p.Size, [.. path.Path.Select(Convert.FromHexString)], roots[p.Size]);
            }, ct);
            var (consistency, consistencyRows) = await MeasureAsync(db, consistencies, async p =>
            {
                var (proof, _) = await query.ConsistencyAsync(p.From, p.To, ct);
                return proof is not null && MerkleTree.VerifyConsistency(p.From, p.To, roots[p.From], roots[p.To], [.. proof.Proof.Select(Convert.FromHexString)]);
            }, ct);
            // What RFC 9162's algorithms ask for: one stored row per distinct perfect subtree (at most about 2 log2 n).
            var inclusionNeeds = inclusions.Average(p => MerkleTree.InclusionSubtrees(p.Index, p.Size).Distinct().Count());
            var consistencyNeeds = consistencies.Average(p => MerkleTree.ConsistencySubtrees(p.From, p.To).Distinct().Count());

            Console.Error.WriteLine("baseline: one proof from every leaf, as before subtrees were stored ...");
            var baseline = Stopwatch.StartNew();
            var all = await query.LeavesAsync(0, leaves, ct);
            MerkleTree.InclusionPath(leaves / 2, all);
            var baselineMs = baseline.Elapsed.TotalMilliseconds;

            return new(leaves, inclusion.Count, Percentile(inclusion, 50), Percentile(inclusion, 99),
                Percentile(consistency, 50), Percentile(consistency, 99), baselineMs, inclusionRows, inclusionNeeds, consistencyRows, consistencyNeeds);
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

    /// <summary>
    /// Times each proof (checked against the signed roots) and counts the rows PostgreSQL read from the ledger's leaf and
    /// node tables meanwhile, per proof (pg_stat_user_tables: seq_tup_read + idx_tup_fetch, PostgreSQL docs §28.2.20; the
    /// counters are read once every backend has reported, <see cref="DatabaseCounters.Settle"/> after the proofs).
    /// </summary>
    private static async Task<(List<double> Milliseconds, double RowsPerProof)> MeasureAsync<T>(
        NpgsqlDataSource db, IReadOnlyList<T> proofs, Func<T, Task<bool>> prove, CancellationToken ct)
    {
        await Task.Delay(DatabaseCounters.Settle, ct);
        var before = await LedgerRowsReadAsync(db, ct);
        var elapsed = new List<double>();
        foreach (var p in proofs)
        {
            var watch = Stopwatch.StartNew();
            var verified = await prove(p);
            elapsed.Add(watch.Elapsed.TotalMilliseconds);
            if (!verified) throw new InvalidOperationException($"The proof {p} does not verify against the signed root.");
        }
        await Task.Delay(DatabaseCounters.Settle, ct);
        return (elapsed, (double)(await LedgerRowsReadAsync(db, ct) - before) / proofs.Count);
    }

    private static async Task<long> LedgerRowsReadAsync(NpgsqlDataSource db, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand(
            "SELECT coalesce(sum(coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0)), 0)::bigint FROM pg_stat_user_tables " +
            "WHERE relname IN ('mt_doc_ledgerleaf', 'mt_doc_ledgernode')");
        return (long)(await cmd.ExecuteScalarAsync(ct))!;
    }

    private static byte[] Leaf(long index) => SHA256.HashData(BitConverter.GetBytes(index));

    /// <summary>
    /// The event id of leaf <paramref name="index"/>: the index in the first 8 bytes, a fixed mark in the last 8. Never
    /// <see cref="Guid.Empty"/>: Marten gives a document stored with an empty Guid id a new id of its own, so leaf 0 could
    /// not be found again by its id and its proofs failed (more often the smaller the tree).
    /// </summary>
    private static Guid IdOf(long index)
    {
        Span<byte> bytes = stackalloc byte[16];
        BitConverter.TryWriteBytes(bytes, index);
        BitConverter.TryWriteBytes(bytes[8..], 9162L);
        return new Guid(bytes);
    }

    private static double Percentile(List<double> values, int p)
    {
        var sorted = values.Order().ToList();
        return sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p / 100.0 * sorted.Count) - 1)];
    }
}
