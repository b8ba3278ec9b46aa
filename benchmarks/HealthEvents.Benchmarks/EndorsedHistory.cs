using System.Diagnostics;
using System.Security.Cryptography;
using HealthEvents.Application.Endorsement;
using HealthEvents.Application.Ledger;
using HealthEvents.Application.Patients;
using HealthEvents.Application.Ports;
using HealthEvents.Infrastructure.Identity;
using static HealthEvents.Benchmarks.HistoryPlan;

namespace HealthEvents.Benchmarks;

/// <summary>
/// Writes <see cref="HistoryPlan"/>'s history straight to a store, each transaction endorsed as the endorsers would sign
/// it: the patient's home hospital and the next member sign (2 of 3, the demo policy) with their endorsement keys, one
/// signature per hospital per <c>batch</c> transactions (the RFC 9162 root of their hashes; a batch of one signs the
/// transaction hash). Endorsers' re-execution is not what is measured here: the events are valid by construction.
/// </summary>
internal static class EndorsedHistory
{
    public sealed record Written(PatientPlan[] Patients, long Events, long Transactions, double Seconds, GlobalPosition End);

    public static async Task<Written> WriteAsync(
        IEventStore store, HospitalKeyring keyring, string[] hospitals, long target, int batch, int writers, CancellationToken ct)
    {
        const int perPatient = 22;
        var patients = (int)Math.Max(1, target / perPatient);
        var plans = Enumerable.Range(0, patients).Select(i => new PatientPlan(PatientPlan.IdOf(i), i)).ToArray();
        var start = new DateTimeOffset(2015, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var clock = Stopwatch.StartNew();
        long written = 0, transactions = 0, left = target;
        var lastPrint = TimeSpan.Zero;
        var gate = new Lock();
        var end = GlobalPosition.Start;

        for (var phase = 0; phase < 4; phase++)
        {
            var current = phase;
            var next = -1;
            await Task.WhenAll(Enumerable.Range(0, writers).Select(_ => Task.Run(async () =>
            {
                // Each writer signs with its own key objects (an ECDsa instance is not documented as thread-safe).
                var keys = hospitals.ToDictionary(h => h, h => keyring.Get(h, HospitalKeyUse.Endorsement));
                var ids = keys.ToDictionary(k => k.Key, k => PublicKeys.KeyId(k.Value));
                try
                {
                    while (true)
                    {
                        // A batch: up to `batch` transactions of distinct patients, signed together.
                        var pending = new List<(PatientPlan Plan, List<Planned> Events, byte[] Hash)>();
                        while (pending.Count < batch)
                        {
                            var index = Interlocked.Increment(ref next);
                            if (current < 3 && index >= plans.Length) break;
                            if (current == 3 && Interlocked.Read(ref left) <= 0) break;
                            var plan = plans[index % plans.Length];
                            var owed = current < 3 ? -1 : Interlocked.Add(ref left, -20) + 20;
                            var events = EventsOf(plan, current, start, DateTimeOffset.UtcNow, Math.Min(owed, 20), hospitals);
                            if (events.Count == 0) continue;
                            if (current < 3) Interlocked.Add(ref left, -events.Count);
                            var envelopes = HashChain.Link(PatientStream.StreamId(plan.Id), plan.Version, plan.LastHash,
                                events.Select(e => e.Proposed).ToList(), endorsement: null);
                            pending.Add((plan, events, envelopes[^1].Hash));
                        }
                        if (pending.Count == 0) return;

                        var hashes = pending.Select(p => p.Hash).ToList();
                        var root = EndorsementSignatures.BatchRoot(hashes);
                        for (var leaf = 0; leaf < pending.Count; leaf++)
                        {
                            var (plan, events, hash) = pending[leaf];
                            var signers = new[] { plan.Home, hospitals[(Array.IndexOf(hospitals, plan.Home) + 1) % hospitals.Length] };
                            var signatures = signers.Order(StringComparer.Ordinal)
                                .Select(h => new EndorsementSignature(h, ids[h], EndorsementSignatures.Sign(keys[h], root))).ToList();
                            var endorsement = EndorsementSignatures.InBatch(plan.Version + 1, events.Count, hashes, leaf, signatures);
                            var result = await store.AppendAsync(PatientStream.StreamId(plan.Id), ExpectedVersion.After(plan.Version),
                                events.Select(e => e.Proposed).ToList(), endorsement, ct);
                            if (!result.TransactionHash.AsSpan().SequenceEqual(hash))
                                throw new InvalidOperationException("The store chained the transaction otherwise than its endorsement covers.");
                            (plan.Version, plan.LastHash) = (result.LastVersion, result.TransactionHash);
                            Interlocked.Add(ref written, events.Count);
                            Interlocked.Increment(ref transactions);
                            lock (gate)
                            {
                                if (result.Events[^1].Position is { } position && position.CompareTo(end) > 0) end = position;
                                if (clock.Elapsed - lastPrint < TimeSpan.FromSeconds(2)) continue;
                                lastPrint = clock.Elapsed;
                                Console.Error.WriteLine($"  writing (phase {current + 1}/4): {Interlocked.Read(ref written):N0}/{target:N0} events, " +
                                                        $"{written / clock.Elapsed.TotalSeconds:N0}/s");
                            }
                        }
                    }
                }
                finally
                {
                    foreach (var key in keys.Values) key.Dispose();
                }
            }, ct)));
        }
        return new Written(plans, written, transactions, clock.Elapsed.TotalSeconds, end);
    }
}
