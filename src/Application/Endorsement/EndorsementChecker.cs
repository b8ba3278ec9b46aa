using System.Globalization;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Ledger;
using HealthEvents.Application.Network;
using HealthEvents.Application.Patients;
using HealthEvents.Application.Serialization;
using HealthEvents.Domain.Network;
using HealthEvents.Domain.Patients;
using static HealthEvents.Application.Ledger.VerificationCodes;

namespace HealthEvents.Application.Endorsement;

/// <summary>
/// Checks each transaction's endorsement against the network of its time (docs/architecture.md, "Endorsement"): the
/// signed root covers the transaction hash, each signer was a member, signed with its endorsement key valid
/// then, the signature verifies, and the hospitals whose signatures verify meet the policy then in force.
/// <list type="bullet">
/// <item>The time is the last event's metadata OccurredAt. A patient stream's transactions are judged against
/// the network at that time; a transaction of the network stream itself against the network before it (the
/// members and policy it was endorsed under), with keys valid at its time.</item>
/// <item>A network change becomes known to submitters and endorsers only once it is stored, some time after the
/// moment it is stamped with: a transaction stamped within <see cref="NetworkChangeGrace"/> after a change may have
/// been endorsed under the network before it. Such a transaction is accepted when it holds under any network in force
/// during that window (problems are reported against the network at its time otherwise). The window is the
/// endorsers' clock-skew bound (<see cref="EndorsementOptions.MaxClockSkew"/>, 2 minutes) plus the time a change
/// takes to be endorsed and stored; two colluding hospitals gain at most that long under a policy just raised.</item>
/// <item>The time is the writer's claim; the global log's order is not. A reader of the whole log (<see cref="StoreVerifier"/>),
/// or of one stream with the ledger view's index of that order (<see cref="StoredAfterChecker"/>), tells the checker the time of the latest endorsed ledger tree head stored before the transaction
/// (<see cref="TransactionToCheck.StoredAfter"/>). A transaction stamped more than <see cref="BackdateTolerance"/> before it
/// is <c>backdated</c>, and judged as of that bound instead of its own time: a retired (perhaps stolen) key cannot sign a
/// transaction stamped back into its validity and written into the store later. Honest transactions are judged at their own
/// time, as before; the network-change grace above still applies.</item>
/// <item><c>home</c> is the HomeHospital of the PatientRegistered event at version 0 of the stream.</item>
/// <item>The network's founding is trusted: the events of the <c>network</c> stream that the stream verifier marks as
/// its founding (<see cref="TransactionToCheck.Founding"/>: the versions the pinned founding spans, <see cref="NetworkFounding"/>)
/// may be unendorsed (nobody could endorse before the members existed, and every hospital holds the genesis file) —
/// trusted as the founding this node pinned (<see cref="NetworkGenesisPin"/>). If it carries signatures those are still
/// checked, but no policy is required. Every other transaction of the network stream — one right after the founding
/// with the founding's own metadata too — is held to the same rule as every stream, as the submitting node's
/// endorsement service holds it (only founding goes unasked).</item>
/// <item>Problems are reported at the first version carrying the endorsement at fault: the transaction's first
/// version, or — when the copies its events carry differ (a row edited behind the store's back) — the version of
/// the altered copy. Each distinct copy is checked.</item>
/// <item>A transaction whose chain is broken is still checked: the signatures cover the stored hash, so tampering
/// with endorsements is found there too. A boundary the endorsement contradicts is left to the stream verifier,
/// which reported it, unless the chain looked intact (then it is reported here as <c>transaction-boundary</c>).</item>
/// </list>
/// On a patient's stream it checks the patient's own signatures too (<see cref="PatientSignatureChecker"/>): once the
/// patient has enrolled a device key, hospitals endorsing a consent change cannot stand in for the patient signing it.
/// One instance per verification run: it remembers per stream what it learnt from earlier transactions
/// (the home hospital, the patient's device key), so it expects each stream's transactions in order. Its caches are safe
/// to share between threads (a node's <see cref="Network.NetworkDirectory"/> hands one checker to the ledger signer, the
/// anchors and every first fold at once); one stream's transactions are still to be given in order, by one caller.
/// </summary>
public sealed class EndorsementChecker(NetworkHistory network, EventSerializer serializer) : IEndorsementChecker
{
    /// <summary>The actor id under which the genesis file founds the network.</summary>
    public const string GenesisActor = Domain.Common.SystemActors.Genesis;

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string?> _homes = new(StringComparer.Ordinal);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (EndorsementPolicy? Policy, string? Error)> _policies = new(StringComparer.Ordinal);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<NetworkState, string[]> _members = new(ReferenceEqualityComparer.Instance);
    private readonly PatientSignatureChecker _patientSignatures = new(serializer);

    /// <summary>How long after a network change a transaction may still hold under the network before it (see remarks).</summary>
    public static readonly TimeSpan NetworkChangeGrace = TimeSpan.FromMinutes(3);

    /// <summary>Beyond the clocks' disagreement, how long an honest transaction may take from its endorsement to being stored.</summary>
    public static readonly TimeSpan AppendMargin = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How much earlier than the latest endorsed tree head stored before it an honest transaction can be stamped:
    /// 2 × <paramref name="maxClockSkew"/> + <see cref="AppendMargin"/>. The head's endorsers accepted its time within the
    /// skew of their clocks, the transaction's endorsers its time within the skew of theirs, and it was stored after the
    /// head, at most the margin after its own endorsement. With the default skew of 2 minutes: 5 minutes.
    /// </summary>
    public static TimeSpan BackdateToleranceFor(TimeSpan maxClockSkew) => 2 * maxClockSkew + AppendMargin;

    /// <summary>
    /// See <see cref="BackdateToleranceFor"/>; defaults to the endorsers' default clock skew. A node that configures
    /// Endorsement:MaxClockSkewSeconds sets it from that (the <c>verify</c> verb does). Set before the first check.
    /// </summary>
    public TimeSpan BackdateTolerance { get; set; } = BackdateToleranceFor(EndorsementOptions.Default.MaxClockSkew);

    /// <summary>
    /// A checker over the network as the store holds it now, as far as it verifies (<see cref="VerifiedNetwork.Trusted"/>):
    /// a network event that fails verification, and every one after it, gives nobody a key or a membership that counts.
    /// </summary>
    /// <param name="genesis">The founding this node pinned; null: the stream's own first command is taken as its founding.</param>
    public static async Task<EndorsementChecker> LoadAsync(IEventStore store, EventSerializer serializer, NetworkGenesisPin? genesis = null, CancellationToken ct = default) =>
        (await VerifiedNetwork.LoadAsync(store, serializer, genesis, ct).ConfigureAwait(false)).Checker(serializer);

    public ValueTask<IReadOnlyList<VerificationProblem>> CheckAsync(TransactionToCheck transaction, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        ct.ThrowIfCancellationRequested();
        return ValueTask.FromResult(Check(transaction));
    }

    public IReadOnlyList<VerificationProblem> Check(TransactionToCheck transaction)
    {
        var problems = new List<VerificationProblem>();
        var streamId = transaction.StreamId;
        var home = HomeOf(transaction);
        // Endorsers decide only a patient's one canonical stream; anything under another spelling got in some other way.
        if (streamId.StartsWith(PatientStream.StreamPrefix, StringComparison.Ordinal) && transaction.FirstVersion == 0
            && !PatientStream.TryParseStreamId(streamId, out _))
            problems.Add(new(streamId, 0, NonCanonicalStream, "A patient stream must be named by the patient's id in its canonical form."));
        _patientSignatures.Check(transaction, problems);

        if (!TryReadMetadata(transaction.Events[^1], out var metadata))
        {
            // An altered event is already reported by the chain; an intact one that cannot be read is a problem of its own.
            if (transaction.ChainIntact)
                problems.Add(new(streamId, transaction.FirstVersion, UnreadableMetadata,
                    $"The metadata of version {transaction.LastVersion} cannot be read, so the time of the transaction is unknown."));
            return problems;
        }
        var isNetwork = streamId == NetworkStream.StreamId;
        // The founding stands without endorsement: the stream verifier tells which versions it spans (NetworkFounding).
        var genesis = isNetwork && transaction.Founding;
        var at = genesis ? metadata.OccurredAt : DatedByTheLog(transaction, metadata.OccurredAt, problems);
        var state = isNetwork ? network.StateBefore(transaction.FirstVersion) : null;

        TransactionEndorsement? checkedCopy = null;
        foreach (var e in transaction.Events)
        {
            if (e.Endorsement is null)
            {
                if (!genesis)
                    problems.Add(new(streamId, e.Version, Unendorsed, e.Version == transaction.FirstVersion
                        ? $"Version {e.Version} carries no endorsement."
                        : $"Version {e.Version} carries no endorsement, unlike the rest of its transaction."));
                continue;
            }
            if (checkedCopy is not null && SameCopy(checkedCopy, e.Endorsement)) continue;
            checkedCopy = e.Endorsement;
            if (state is not null) CheckCopy(transaction, e.Version, e.Endorsement, state, at, home, requirePolicy: !genesis, problems);
            else CheckCopyDuringGrace(transaction, e.Version, e.Endorsement, at, home, problems);
        }
        return problems;
    }

    public IReadOnlyList<VerificationProblem> StreamEnded(string streamId) => _patientSignatures.StreamEnded(streamId);

    /// <summary>
    /// The time a transaction is judged at: its own, unless the log stores it after an endorsed tree head stamped more than
    /// <see cref="BackdateTolerance"/> later (<see cref="TransactionToCheck.StoredAfter"/>). Then it is backdated, and judged
    /// as of the earliest time an honest transaction stored there could carry — so a key retired by then does not count.
    /// </summary>
    private DateTimeOffset DatedByTheLog(TransactionToCheck transaction, DateTimeOffset at, List<VerificationProblem> problems)
    {
        // Differences, not sums: a head stamped near DateTimeOffset.MinValue must not overflow (a founding key is valid from then).
        if (transaction.StoredAfter is not { } head || head - at <= BackdateTolerance) return at;
        var earliest = Before(head, BackdateTolerance);
        problems.Add(new(transaction.StreamId, transaction.FirstVersion, Backdated,
            $"Stamped {Format(at)}, but stored after a ledger tree head endorsed at {Format(head)}: more than " +
            $"{BackdateTolerance.TotalSeconds:0} s earlier than an honest transaction stored there can be; judged as of {Format(earliest)}."));
        return earliest;
    }

    private static string Format(DateTimeOffset at) => at.ToString("O", CultureInfo.InvariantCulture);

    /// <summary><paramref name="at"/> less <paramref name="span"/>, or the earliest time there is: whoever writes an event chooses its time, DateTimeOffset.MinValue included.</summary>
    private static DateTimeOffset Before(DateTimeOffset at, TimeSpan span) =>
        at.UtcTicks - DateTimeOffset.MinValue.UtcTicks > span.Ticks ? at - span : DateTimeOffset.MinValue;

    /// <summary>A patient (or ledger, research) stream's copy: under the network at its time, else under one in force during the grace before it.</summary>
    private void CheckCopyDuringGrace(
        TransactionToCheck transaction, long reportAt, TransactionEndorsement endorsement, DateTimeOffset at, string? home,
        List<VerificationProblem> problems)
    {
        List<VerificationProblem>? first = null;
        foreach (var state in network.StatesDuring(Before(at, NetworkChangeGrace), at))
        {
            var found = new List<VerificationProblem>();
            CheckCopy(transaction, reportAt, endorsement, state, at, home, requirePolicy: true, found);
            if (found.Count == 0) return;
            first ??= found;
        }
        problems.AddRange(first!);
    }

    private void CheckCopy(
        TransactionToCheck transaction, long reportAt, TransactionEndorsement endorsement, NetworkState state,
        DateTimeOffset at, string? home, bool requirePolicy, List<VerificationProblem> problems)
    {
        var streamId = transaction.StreamId;
        if (endorsement.FirstVersion != transaction.FirstVersion || endorsement.EventCount != transaction.Events.Count)
        {
            // The stream verifier reports every contradicted boundary it can see, and marks the chain broken when it does.
            if (transaction.ChainIntact)
                problems.Add(new(streamId, reportAt, TransactionBoundary,
                    $"The endorsement at version {reportAt} describes {endorsement.EventCount} events from version {endorsement.FirstVersion}, " +
                    $"but the transaction holds {transaction.Events.Count} from version {transaction.FirstVersion}."));
            return;
        }

        if (EndorsementSignatures.RootProblem(endorsement, transaction.TransactionHash) is { } rootProblem)
        {
            problems.Add(new(streamId, reportAt, BadInclusionPath, rootProblem));
            return;
        }

        var when = at.ToString("O", CultureInfo.InvariantCulture);
        var valid = new HashSet<string>(StringComparer.Ordinal);
        foreach (var signature in endorsement.Signatures ?? [])
        {
            var hospital = signature?.HospitalId ?? "";
            if (signature is null || !state.IsMember(hospital))
            {
                problems.Add(new(streamId, reportAt, UnknownEndorser, $"Signed by '{hospital}', which was not a member of the network at {when}."));
                continue;
            }
            var key = state.KeyAt(hospital, KeyUse.Endorsement, at);
            if (key is null || !string.Equals(key.KeyId, signature.KeyId, StringComparison.Ordinal))
            {
                problems.Add(new(streamId, reportAt, WrongKey,
                    $"{hospital} signed with key '{signature.KeyId}'; its endorsement key at {when} was '{key?.KeyId ?? "none"}'."));
                continue;
            }
            if (!EndorsementSignatures.Verify(key.PublicKey, endorsement.SignedRoot, signature.Signature ?? []))
            {
                problems.Add(new(streamId, reportAt, BadSignature, $"The signature of {hospital} (key '{key.KeyId}') does not verify."));
                continue;
            }
            valid.Add(hospital);
        }

        if (!requirePolicy) return;
        var (policy, error) = PolicyOf(state);
        if (policy is null)
        {
            problems.Add(new(streamId, reportAt, PolicyNotMet, $"The endorsement policy in force at {when} cannot be read: {error}"));
            return;
        }
        var context = new PolicyContext(MembersOf(state), home);
        if (!policy.IsSatisfiedBy(valid, context))
            problems.Add(new(streamId, reportAt, PolicyNotMet, $"Policy {policy} at {when} {policy.Explain(valid, context)}."));
    }

    /// <summary>The patient's home hospital, from the PatientRegistered at version 0, remembered per stream.</summary>
    private string? HomeOf(TransactionToCheck transaction)
    {
        if (_homes.TryGetValue(transaction.StreamId, out var known)) return known;
        string? home = null;
        if (transaction.Events[0] is { Version: 0 } first)
        {
            try
            {
                if (serializer.IsKnown(first.Type) && serializer.Deserialize(first.Type, first.Data) is PatientRegistered registered)
                    home = string.IsNullOrEmpty(registered.HomeHospital) ? null : registered.HomeHospital;
            }
            catch (Exception e) when (e is System.Text.Json.JsonException or InvalidDataException or NotSupportedException or ArgumentException)
            {
                // Unreadable: reported by the chain; "home" then cannot be satisfied.
            }
        }
        _homes[transaction.StreamId] = home;
        return home;
    }

    private (EndorsementPolicy? Policy, string? Error) PolicyOf(NetworkState state)
    {
        if (_policies.TryGetValue(state.EndorsementPolicy, out var known)) return known;
        EndorsementPolicy.TryParse(state.EndorsementPolicy, out var policy, out var error);
        return _policies[state.EndorsementPolicy] = (policy, error);
    }

    private string[] MembersOf(NetworkState state)
    {
        if (_members.TryGetValue(state, out var members)) return members;
        if (_members.Count > 1024) _members.Clear();
        return _members[state] = [.. state.Hospitals.Keys];
    }

    private static bool TryReadMetadata(EventEnvelope e, out EventMetadata metadata)
    {
        try
        {
            metadata = EventMetadata.FromBytes(e.Metadata);
            return true;
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or InvalidDataException or NotSupportedException or ArgumentException)
        {
            metadata = null!;
            return false;
        }
    }

    private static bool SameCopy(TransactionEndorsement a, TransactionEndorsement b)
    {
        if (ReferenceEquals(a, b)) return true;
        if (a.FirstVersion != b.FirstVersion || a.EventCount != b.EventCount || a.LeafIndex != b.LeafIndex || a.BatchSize != b.BatchSize
            || !Same(a.SignedRoot, b.SignedRoot)
            // Stored JSON is outside the hash chain: anything may be missing from an edited copy.
            || !(a.InclusionPath ?? []).SequenceEqual(b.InclusionPath ?? [], ByteArrays)
            || !(a.Signatures ?? []).SequenceEqual(b.Signatures ?? [], Signatures))
            return false;
        return true;
    }

    private static bool Same(byte[]? a, byte[]? b) => a is null ? b is null : b is not null && a.AsSpan().SequenceEqual(b);

    private static readonly IEqualityComparer<byte[]> ByteArrays = EqualityComparer<byte[]>.Create((a, b) => Same(a, b), a => a.Length);

    private static readonly IEqualityComparer<EndorsementSignature> Signatures = EqualityComparer<EndorsementSignature>.Create(
        (x, y) => x is null ? y is null : y is not null && x.HospitalId == y.HospitalId && x.KeyId == y.KeyId && Same(x.Signature, y.Signature),
        x => x.HospitalId?.GetHashCode() ?? 0);
}
