using HealthEvents.Application.Ports;
using HealthEvents.Domain.Network;

namespace HealthEvents.Application.Endorsement;

/// <summary>
/// The submitter's count of one batch round. Each endorser's reply names what it accepted and carries one signature over
/// the root of those transactions' hashes; it is verified once per key, and counts for a transaction only with the key
/// the network records for that endorser at the transaction's time. A stored endorsement has one signed root, so a
/// transaction is endorsed once the endorsers that signed the same root (the same accepted set) meet the policy for it;
/// endorsers that accepted it under different roots (they disagreed on another transaction of the batch) leave it to be
/// decided again and proposed anew.
/// </summary>
internal sealed class BatchTally
{
    private readonly NetworkState _network;
    private readonly IReadOnlyList<TransactionProposal> _proposals;
    private readonly EndorsementPolicy _policy;
    private readonly PolicyContext[] _contexts;
    private readonly bool[] _decided;
    private readonly bool[] _stale;
    private readonly List<string>[] _refusals;
    private readonly HashSet<string>[] _acceptedBy;
    private readonly Dictionary<string, SignedRoot> _roots = new(StringComparer.Ordinal);
    private readonly VerifiedSignatures _verified = new();

    public BatchTally(NetworkState network, IReadOnlyList<TransactionProposal> proposals)
    {
        (_network, _proposals) = (network, proposals);
        _policy = EndorsementPolicy.Parse(network.EndorsementPolicy);
        var members = network.Hospitals.Keys.ToList();
        _contexts = proposals.Select(p => new PolicyContext(members, p.HomeHospital)).ToArray();
        _decided = new bool[proposals.Count];
        _stale = new bool[proposals.Count];
        _refusals = proposals.Select(_ => new List<string>()).ToArray();
        _acceptedBy = proposals.Select(_ => new HashSet<string>(StringComparer.Ordinal)).ToArray();
        // Every endorser any transaction's policy names gets the whole batch: one request, one signature each.
        Principals = _contexts.SelectMany(_policy.Principals).Distinct().Order(StringComparer.Ordinal).ToList();
    }

    public IReadOnlyList<string> Principals { get; }

    public bool AllDecided => _decided.All(d => d);

    /// <summary>Counts <paramref name="hospital"/>'s reply (whatever the reply claims, it speaks for the hospital asked).</summary>
    public void Add(string hospital, EndorsementBatchReply reply)
    {
        if (reply?.Transactions is not { } verdicts || verdicts.Count != _proposals.Count || verdicts.Any(v => v is null))
        {
            for (var i = 0; i < _proposals.Count; i++) _refusals[i].Add($"{hospital}: the reply does not answer the batch");
            return;
        }
        var accepted = new List<int>();
        for (var i = 0; i < verdicts.Count; i++)
        {
            if (verdicts[i].Accepted) accepted.Add(i);
            else
            {
                _refusals[i].Add($"{hospital}: {verdicts[i].Reason ?? "refused"}");
                _stale[i] |= verdicts[i].Stale;
            }
        }
        if (accepted.Count == 0) return;

        var hashes = accepted.Select(i => _proposals[i].TransactionHash).ToList();
        var root = EndorsementSignatures.BatchRoot(hashes);
        var rootKey = Convert.ToHexString(root);
        if (!_roots.TryGetValue(rootKey, out var signed)) _roots[rootKey] = signed = new SignedRoot(accepted, hashes);
        foreach (var i in accepted)
        {
            if (reply.Signature is { } signature && signature.HospitalId == hospital
                && _network.KeyAt(hospital, KeyUse.Endorsement, _proposals[i].At) is { } key && key.KeyId == signature.KeyId
                && _verified.Verify(key.PublicKey, root, signature.Signature))
            {
                signed.Add(hospital, signature, i);
                _acceptedBy[i].Add(hospital);
            }
            else _refusals[i].Add($"{hospital}: the signature does not verify");
        }
    }

    /// <summary>The transactions whose policy is met since last asked, each with its endorsement.</summary>
    public IEnumerable<(int Index, TransactionEndorsement Endorsement)> TakeEndorsed()
    {
        for (var i = 0; i < _proposals.Count; i++)
        {
            if (_decided[i]) continue;
            foreach (var signed in _roots.Values)
            {
                var signatures = signed.SignaturesFor(i);
                if (signatures.Count == 0 || !_policy.IsSatisfiedBy(signatures.Keys.ToHashSet(), _contexts[i])) continue;
                _decided[i] = true;
                var p = _proposals[i];
                yield return (i, EndorsementSignatures.InBatch(p.Envelopes[0].Version, p.Envelopes.Count, signed.Hashes,
                    signed.Indices.IndexOf(i), [.. signatures.Values]));
                break;
            }
        }
    }

    /// <summary>
    /// Why transaction <paramref name="i"/> was not endorsed: stale (decide it again) when an endorser saw its stream
    /// move on, or when enough endorsers accepted it but not under one root; else the refusals and the policy's account.
    /// </summary>
    public (bool Stale, IReadOnlyList<string> Refusals, string Explanation) WhyNot(int i)
    {
        var split = _policy.IsSatisfiedBy(_acceptedBy[i], _contexts[i]);
        return (_stale[i] || split, _refusals[i], $"policy {_policy}: {_policy.Explain(_acceptedBy[i], _contexts[i])}");
    }

    /// <summary>The transactions an endorser accepted together (batch order), and who signed their root, valid for which of them.</summary>
    private sealed class SignedRoot(List<int> indices, List<byte[]> hashes)
    {
        private readonly Dictionary<string, (EndorsementSignature Signature, HashSet<int> ValidFor)> _signers = new(StringComparer.Ordinal);

        public List<int> Indices => indices;
        public List<byte[]> Hashes => hashes;

        public void Add(string hospital, EndorsementSignature signature, int transaction)
        {
            if (!_signers.TryGetValue(hospital, out var entry)) _signers[hospital] = entry = (signature, []);
            entry.ValidFor.Add(transaction);
        }

        public SortedDictionary<string, EndorsementSignature> SignaturesFor(int transaction) =>
            new(_signers.Where(s => s.Value.ValidFor.Contains(transaction)).ToDictionary(s => s.Key, s => s.Value.Signature), StringComparer.Ordinal);
    }
}
