using System.Collections.Immutable;

namespace HealthEvents.Domain.Network;

/// <summary>What a policy is evaluated against: the member hospitals at the time, and the patient's home hospital (null: the stream belongs to no patient).</summary>
public sealed record PolicyContext(IReadOnlyCollection<string> Members, string? HomeHospital);

/// <summary>
/// An endorsement policy in the spirit of Hyperledger Fabric's (docs/architecture.md, "Endorsement"): threshold gates
/// <c>AND(p, ...)</c>, <c>OR(p, ...)</c>, <c>OutOf(n, p, ...)</c> and <c>Majority(p, ...)</c> (more than half of its
/// alternatives, counted against the members of the day: Fabric's MAJORITY; keywords case-insensitive) over principals:
/// a hospital id (letters, digits, '-', '_'), <c>*</c> (every member hospital, as separate alternatives of the
/// gate it appears in: <c>OutOf(2, *)</c> is 2 of all members) and <c>home</c> (the patient's home hospital; on a
/// stream of no patient — network, ledger, research — any one member, so such a policy never blocks those streams).
/// <para>
/// Each hospital's endorsement counts once, for one principal — as in Fabric, where a signature is consumed by
/// the principal it satisfies. So <c>AND(home, OutOf(1, *))</c> reads as it is said, "the home hospital and one
/// other": the home's signature serves <c>home</c> and cannot also be the one of <c>*</c>. Unlike Fabric, which
/// consumes signatures greedily in order, the assignment is searched, so the answer never depends on the order
/// of signatures or alternatives.
/// </para>
/// <para>
/// Only members endorse: endorsers outside <see cref="PolicyContext.Members"/> satisfy nothing, a hospital id that
/// is not a member is unsatisfiable, and a gate left with no alternatives
/// (<c>*</c> in an empty network) is unsatisfiable too. <see cref="ToString"/> gives the canonical text, which
/// <see cref="Parse"/> reads back to an equal policy.
/// </para>
/// </summary>
public sealed partial class EndorsementPolicy : IEquatable<EndorsementPolicy>
{
    private readonly Node _root;
    private readonly string _text;

    private EndorsementPolicy(Node root)
    {
        _root = root;
        _text = root.ToString();
    }

    /// <summary>The network's default: 2 of all member hospitals.</summary>
    public static EndorsementPolicy Default { get; } = Parse(NetworkState.DefaultEndorsementPolicy);

    /// <summary>Whether the hospitals in <paramref name="endorsers"/> (valid signers) satisfy the policy.</summary>
    public bool IsSatisfiedBy(IReadOnlySet<string> endorsers, PolicyContext context) =>
        new Evaluation(_root, endorsers, context).IsSatisfied();

    /// <summary>A short human text: what the policy needs and what it has, e.g. "needs 2 of lakeside, northside, riverside; has northside".</summary>
    public string Explain(IReadOnlySet<string> endorsers, PolicyContext context)
    {
        var evaluation = new Evaluation(_root, endorsers, context);
        var has = evaluation.Signers.Count == 0 ? "none" : string.Join(", ", evaluation.Signers.Order(StringComparer.Ordinal));
        return evaluation.IsSatisfied()
            ? $"satisfied by {has}"
            : $"needs {evaluation.Describe()}{(evaluation.HasSharedHospitals ? " (each hospital counts once)" : "")}; has {has}";
    }

    /// <summary>The member hospitals whose endorsement could count: the ones worth asking.</summary>
    public IReadOnlySet<string> Principals(PolicyContext context) => new Evaluation(_root, new HashSet<string>(), context).Principals();

    public override string ToString() => _text;

    public bool Equals(EndorsementPolicy? other) => other is not null && string.Equals(_text, other._text, StringComparison.Ordinal);

    public override bool Equals(object? obj) => obj is EndorsementPolicy other && Equals(other);

    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(_text);

    // ------------------------------------------------------------------ the parsed form

    private enum GateKind { And, Or, OutOf, Majority }

    private abstract record Node;

    private sealed record HospitalPrincipal(string Id) : Node
    {
        public override string ToString() => Id;
    }

    private sealed record HomePrincipal : Node
    {
        public override string ToString() => "home";
    }

    private sealed record AllMembers : Node
    {
        public override string ToString() => "*";
    }

    private sealed record Gate(GateKind Kind, int Threshold, ImmutableArray<Node> Children) : Node
    {
        public override string ToString() => Kind switch
        {
            GateKind.And => $"AND({string.Join(", ", Children)})",
            GateKind.Or => $"OR({string.Join(", ", Children)})",
            GateKind.Majority => $"Majority({string.Join(", ", Children)})",
            _ => $"OutOf({Threshold}, {string.Join(", ", Children)})",
        };
    }

    // ------------------------------------------------------------------ evaluation

    /// <summary>The policy resolved against one context: <c>*</c> and <c>home</c> replaced by hospitals, thresholds made concrete.</summary>
    private abstract record Resolved;

    /// <summary>One hospital's endorsement; <see cref="Hospital"/> null: nobody can give it (home unknown).</summary>
    private sealed record Leaf(string? Hospital, bool IsHome) : Resolved;

    private sealed record Threshold(int Need, IReadOnlyList<Resolved> Children, bool IsAnd) : Resolved;

    private sealed class Evaluation
    {
        private readonly Resolved _root;
        private readonly HashSet<string> _members;
        private readonly Dictionary<string, int> _occurrences = new(StringComparer.Ordinal);
        private readonly HashSet<string> _used = new(StringComparer.Ordinal);

        public Evaluation(Node root, IReadOnlySet<string> endorsers, PolicyContext context)
        {
            _members = new HashSet<string>(context.Members, StringComparer.Ordinal);
            var members = _members.Order(StringComparer.Ordinal).ToList();
            _root = Resolve(root, members, context.HomeHospital);
            Count(_root);
            Signers = new HashSet<string>(endorsers.Where(e => _members.Contains(e) && _occurrences.ContainsKey(e)), StringComparer.Ordinal);
        }

        /// <summary>The endorsers that are members and named by the policy.</summary>
        public HashSet<string> Signers { get; }

        /// <summary>Whether a hospital appears more than once (say as home and within *), where counting once matters.</summary>
        public bool HasSharedHospitals => _occurrences.Values.Any(n => n > 1);

        public IReadOnlySet<string> Principals() =>
            _occurrences.Keys.Where(_members.Contains).ToHashSet(StringComparer.Ordinal);

        public bool IsSatisfied() => IsIndependent(_root) ? Holds(_root) : Satisfy(_root, () => true);

        public string Describe() => Describe(_root, nested: false);

        private static Resolved Resolve(Node node, IReadOnlyList<string> members, string? home) => node switch
        {
            HospitalPrincipal h => new Leaf(h.Id, IsHome: false),
            // A stream of no patient (network, ledger, research) has no home hospital: any one member stands for it,
            // so a policy such as AND(home, OutOf(1, *)) asks two members there instead of blocking those streams.
            HomePrincipal when string.IsNullOrEmpty(home) => new Threshold(1, [.. members.Select(m => new Leaf(m, IsHome: false))], IsAnd: false),
            HomePrincipal => new Leaf(home, IsHome: true),
            Gate g => ResolveGate(g, members, home),
            _ => throw new InvalidOperationException("'*' stands only inside a gate."),
        };

        private static Threshold ResolveGate(Gate gate, IReadOnlyList<string> members, string? home)
        {
            var children = new List<Resolved>();
            foreach (var child in gate.Children)
            {
                if (child is AllMembers) children.AddRange(members.Select(m => new Leaf(m, IsHome: false)));
                else children.Add(Resolve(child, members, home));
            }
            var need = gate.Kind switch
            {
                GateKind.And => children.Count,
                GateKind.Or => 1,
                // Fabric's MAJORITY: more than half, so two disjoint majorities cannot both exist.
                GateKind.Majority => children.Count / 2 + 1,
                _ => gate.Threshold,
            };
            // A gate left with no alternatives (say AND(*) with no members) is unsatisfiable, never vacuously true.
            return new Threshold(children.Count == 0 ? 1 : need, children, gate.Kind == GateKind.And);
        }

        private void Count(Resolved node)
        {
            switch (node)
            {
                case Leaf { Hospital: { } h }:
                    _occurrences[h] = _occurrences.GetValueOrDefault(h) + 1;
                    break;
                case Threshold t:
                    foreach (var child in t.Children) Count(child);
                    break;
            }
        }

        /// <summary>A subtree none of whose hospitals appears elsewhere: its endorsements are nobody else's to use.</summary>
        private bool IsIndependent(Resolved node) => node switch
        {
            Leaf { Hospital: { } h } => _occurrences[h] == 1,
            Leaf => true,
            Threshold t => t.Children.All(IsIndependent),
            _ => false,
        };

        private bool Signed(Leaf leaf) => leaf.Hospital is { } h && Signers.Contains(h);

        /// <summary>Plain evaluation, valid where no hospital is shared.</summary>
        private bool Holds(Resolved node) => node switch
        {
            Leaf leaf => Signed(leaf),
            Threshold t => t.Children.Count(Holds) >= t.Need,
            _ => false,
        };

        /// <summary>
        /// Backtracking search for an assignment in which each hospital serves one principal, continuing with
        /// <paramref name="then"/> for each way <paramref name="node"/> can be satisfied. Independent subtrees are
        /// decided outright (taking one never hurts another), so only shared hospitals branch.
        /// </summary>
        private bool Satisfy(Resolved node, Func<bool> then)
        {
            switch (node)
            {
                case Leaf leaf:
                    if (!Signed(leaf) || !_used.Add(leaf.Hospital!)) return false;
                    var result = then();
                    _used.Remove(leaf.Hospital!);
                    return result;
                case Threshold t:
                    return SatisfyFrom(t, 0, t.Need, then);
                default:
                    return false;
            }
        }

        private bool SatisfyFrom(Threshold gate, int index, int need, Func<bool> then)
        {
            if (need <= 0) return then();
            if (gate.Children.Count - index < need) return false;
            var child = gate.Children[index];
            if (IsIndependent(child))
                return Holds(child)
                    ? SatisfyFrom(gate, index + 1, need - 1, then)
                    : SatisfyFrom(gate, index + 1, need, then);
            return Satisfy(child, () => SatisfyFrom(gate, index + 1, need - 1, then))
                || SatisfyFrom(gate, index + 1, need, then);
        }

        private static string Describe(Resolved node, bool nested)
        {
            switch (node)
            {
                case Leaf { Hospital: null }:
                    return "the home hospital (unknown)";
                case Leaf { IsHome: true } leaf:
                    return $"{leaf.Hospital} (home)";
                case Leaf leaf:
                    return leaf.Hospital!;
                case Threshold { Children.Count: 0 }:
                    return "an endorsement from a member hospital (there are none)";
                case Threshold { Children.Count: 1 } t when t.Need == 1:
                    return Describe(t.Children[0], nested);
                case Threshold t:
                    var items = string.Join(", ", t.Children.Select(c => Describe(c, nested: true)));
                    var text = t.IsAnd || t.Need == t.Children.Count ? $"all of {items}" : $"{t.Need} of {items}";
                    return nested ? $"({text})" : text;
                default:
                    return "?";
            }
        }
    }
}
