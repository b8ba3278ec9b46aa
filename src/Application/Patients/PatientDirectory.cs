using System.Collections.Concurrent;
using HealthEvents.Application.Commands;
using HealthEvents.Application.Ledger;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Patients;

namespace HealthEvents.Application.Patients;

/// <summary>
/// A patient's write-side state (the cached fold of their stream), for authorization decisions that must not wait
/// for a projection or depend on one: who speaks for the patient, who may see that they exist.
/// </summary>
/// <param name="network">
/// This node's verified network: with it, a registration counts only once its transaction's endorsement verifies under the
/// network (<see cref="HomeAsync"/>). Every node that endorses has one; without it (an unendorsed store) the chain's checks alone.
/// </param>
/// <param name="ledger">What this node's ledger took in: a registration must be the event the ledger took in at version 0.</param>
public sealed class PatientDirectory(
    StreamLoader loader, StreamStateCache cache, IEventStore store, EventSerializer serializer, Network.NetworkDirectory? network = null,
    ILedgeredHistory? ledger = null)
{
    private const int MaxHomes = 100_000;

    // The loader's anchors: one reading of the signed heads per node, shared by its folds and this check.
    private readonly LedgerAnchors? _anchors = loader.Anchors;

    // A registration is the stream's first event and names the home hospital for good: once seen, no read is needed
    // to know it, so a patient's every request is not a database round trip.
    private readonly ConcurrentDictionary<Guid, string> _homes = new();

    /// <summary>
    /// The whole stream folded (what decisions and consent reads need), as this node folded it. By default a state it
    /// cached is taken without reading the stream's first event again (<see cref="StreamLoader"/>), so a patient whose
    /// stream's start was hidden since still reaches the verification that reports it; every command on the stream
    /// re-reads the start when it is decided.
    /// </summary>
    /// <param name="rereadStart">True for what a decision rests on beyond the stream's own command (an endorser judging a research use by the patient's consents).</param>
    /// <exception cref="DamagedStreamException">The stream holds an event this build cannot read, or its start is hidden.</exception>
    public async Task<PatientState> StateAsync(Guid patientId, CancellationToken ct, bool rereadStart = false)
    {
        var loaded = await loader.LoadAsync<PatientDecider, PatientState, IPatientCommand, IPatientEvent>(
            PatientStream.StreamId(patientId), ct, rereadStart: rereadStart);
        // Only a proven state names the home (a read folds without the proof: a rewritten chain must not name it here).
        if (loaded is { Anchored: true, State.Registered: true }) Remember(patientId, loaded.State.HomeHospital);
        return loaded.State;
    }

    /// <summary>
    /// Whether <paramref name="actor"/> is a registered patient vouched for by their home hospital
    /// (<see cref="PatientState.IsThePatient"/>). Needs only the registration at version 0: the home already known (from
    /// an earlier reading, or the stream's state this node folded and proved, a true prefix of the stream), else read
    /// (<see cref="HomeAsync"/>) — never the rest of the stream: an event written past the service at its end (no envelope, unreadable, huge) does
    /// not lock the patient out of her own views — <c>/verification</c> above all, which names that event — while
    /// every command on the stream is still refused as damaged.
    /// </summary>
    public async Task<bool> IsThePatientAsync(Actor actor, CancellationToken ct)
    {
        if (actor is not { Role: Role.Patient, PatientId: { } id }) return false;
        var home = _homes.TryGetValue(id, out var known) ? known
            : cache.TryGet<PatientState>(PatientStream.StreamId(id)) is { Anchored: true, State: { Registered: true } folded } && folded.PatientId == id ? folded.HomeHospital
            : await HomeAsync(id, ct);
        return home is not null && string.Equals(home, actor.Hospital, StringComparison.Ordinal);
    }

    /// <summary>
    /// The home hospital the patient's registration names, read from version 0 of her stream alone (one event), or null
    /// when version 0 is not an intact registration of this patient: not served (no stream, or its start hidden), not
    /// linked to the genesis or stored under a hash that is not its own (the checks the stream verifier makes of version
    /// 0, docs/architecture.md "The envelope and the hash chain"), unreadable, another event type, or another patient's id.
    /// Only a registration names the home, and the decider refuses a second one, so version 0 is all there is to read —
    /// and its endorsement: a version 0 rewritten in place with its hash recomputed is self-consistent, so only the
    /// network's signatures over the registration's transaction (<see cref="EndorsedAsync"/>) show whose word it is.
    /// </summary>
    private async Task<string?> HomeAsync(Guid patientId, CancellationToken ct)
    {
        if (await store.ReadFirstAsync(PatientStream.StreamId(patientId), ct) is not { Version: 0 } first
            || !first.PrevHash.AsSpan().SequenceEqual(HashChain.Genesis)
            || !HashChain.ComputeHash(first).AsSpan().SequenceEqual(first.Hash)
            || !await EndorsedAsync(first, ct) || !await LedgeredAsIsAsync(first, ct))
            return null;
        PatientRegistered registered;
        try
        {
            if (serializer.Deserialize(first.Type, first.Data) is not PatientRegistered r) return null;
            registered = r;
        }
        catch (UnreadableEventException)
        {
            return null;
        }
        if (registered.PatientId != patientId) return null;
        Remember(patientId, registered.HomeHospital);
        return registered.HomeHospital;
    }

    /// <summary>
    /// Whether the transaction that starts the stream (version 0 and the events its endorsement spans, at most
    /// <see cref="MaxRegistrationEvents"/>) is intact and endorsed under this node's verified network, as the stream
    /// verifier checks a transaction (docs/architecture.md, "Verification", point 2). True without a network to judge by.
    /// </summary>
    private async Task<bool> EndorsedAsync(EventEnvelope first, CancellationToken ct)
    {
        if (network is null) return true;
        if (first.Endorsement is not { FirstVersion: 0, EventCount: >= 1 and <= MaxRegistrationEvents } endorsement) return false;
        var transaction = new List<EventEnvelope> { first };
        if (endorsement.EventCount > 1)
            await foreach (var e in store.ReadStreamAsync(first.StreamId, 1, ct))
            {
                if (!Follows(e, transaction[^1])) return false;
                transaction.Add(e);
                if (transaction.Count == endorsement.EventCount) break;
            }
        if (transaction.Count != endorsement.EventCount) return false;
        var checker = await network.CheckerAsync(Endorsement.Endorser.NetworkViewMaxAge, ct);
        return (await checker.CheckAsync(new TransactionToCheck(first.StreamId, transaction, ChainIntact: true), ct)).Count == 0;
    }

    /// <summary>
    /// Whether version 0 is the event the ledger took in there: a registration rewritten with its chain and endorsed again
    /// by members who meet the policy between themselves still differs from it. Once the latest signed tree head covers
    /// the registration (it was stored before the head's last leaf), the head's root must prove it as stored
    /// (<see cref="LedgerAnchors"/>): the view's leaf is not taken on its word, and a missing one is not "not yet". Before
    /// that, the view's leaf (when it has one) must hold its hash; evidence the node cannot check (a head that does not
    /// verify, a view that cannot prove the head's last leaf) counts against it.
    /// </summary>
    private async Task<bool> LedgeredAsIsAsync(EventEnvelope first, CancellationToken ct)
    {
        if (ledger is null || _anchors is null) return true;
        if (network is not null)
        {
            var reading = await _anchors.LatestAsync(await network.CheckerAsync(Endorsement.Endorser.NetworkViewMaxAge, ct), ct);
            // Evidence this node cannot check now counts against the registration: who speaks for her is never taken unproven.
            if (reading is { Unprovable: not null } or { Anchor: null, Damage: not null }) return false;
            try
            {
                if (reading.Anchor is { } anchor && anchor.Covers(first)) return await _anchors.ProblemAsync(anchor, first, ct) is null;
            }
            catch (LedgerUnprovableException)
            {
                return false;
            }
        }
        return await ledger.LeafAtAsync(first.StreamId, 0, ct) is not { } leaf || leaf.Hash.AsSpan().SequenceEqual(first.Hash);
    }

    /// <summary>Whether <paramref name="e"/> is the next event after <paramref name="previous"/>, as a fold takes it (<see cref="StreamContinuity.Follows"/>).</summary>
    private static bool Follows(EventEnvelope e, EventEnvelope previous)
    {
        try
        {
            StreamContinuity.Follows(e, previous.Version, previous.Hash);
            return true;
        }
        catch (DamagedStreamException)
        {
            return false;
        }
    }

    /// <summary>The most events a registration's transaction spans that this check reads (a registration is one or two).</summary>
    private const int MaxRegistrationEvents = 16;

    private void Remember(Guid patientId, string home)
    {
        if (_homes.Count >= MaxHomes) _homes.Clear(); // a miss only costs a read
        _homes.TryAdd(patientId, home);
    }
}
