using HealthEvents.Application.Endorsement;
using HealthEvents.Application.Ledger;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;
using HealthEvents.Domain.Network;
using Microsoft.Extensions.Logging;

namespace HealthEvents.Application.Network;

/// <summary>
/// The network's current membership, kept in memory for the hot paths that must not wait on the
/// database (token validation runs synchronously). Refreshed after each network command and
/// periodically, so changes made by other nodes arrive within seconds.
/// <para>
/// Only what the network endorsed counts: the <c>network</c> stream is verified as the verifier does
/// (<see cref="StreamVerifier"/> with an <see cref="EndorsementChecker"/>: the hash chain, and each transaction's
/// endorsement under the network before it, the founding transaction exempt) and folded up to the first transaction
/// that fails, never past it — an event appended behind the service's back (no endorsement, a forged member) does
/// not make anyone a member. That transaction is reported by <see cref="Untrusted"/> and logged once as an error
/// naming the stream and version (no data); /health/ready then says "degraded". Network commands are decided on this
/// verified reading too (<see cref="ReadVerifiedAsync"/>), never on the raw stream.
/// </para>
/// </summary>
public sealed class NetworkDirectory(IEventStore store, EventSerializer serializer, ILogger<NetworkDirectory>? log = null, NetworkGenesisPin? genesis = null)
{
    private readonly SemaphoreSlim _reading = new(1, 1);
    private readonly List<EventEnvelope> _events = []; // the network stream as read so far, in version order
    private int _folded; // how many of _events the current state was folded from
    private volatile NetworkState _current = NetworkState.Empty;
    private volatile VerificationProblem? _untrusted;
    private volatile EndorsementChecker? _checker; // judges by the verified part of the stream last folded
    private long _refreshedAt = -1; // Environment.TickCount64 of the last read; -1: never read
    private byte[]? _verifiedStart; // the hash of version 0 once verified: the stream must keep starting with it

    public NetworkState Current => _current;

    /// <summary>
    /// The first problem of the network stream (stream, version, code), from which on nothing is folded; null while
    /// every transaction read holds.
    /// </summary>
    public VerificationProblem? Untrusted => _untrusted;

    public async Task<NetworkState> RefreshAsync(CancellationToken ct = default)
    {
        await _reading.WaitAsync(ct);
        try
        {
            await RefreshHeldAsync(ct);
            return _current;
        }
        finally
        {
            _reading.Release();
        }
    }

    /// <summary>
    /// The network stream as read now, for deciding a network command (the submitter's decision and every endorser's
    /// re-execution, <see cref="Commands.StreamLoader"/>): its verified events from <paramref name="fromVersion"/> on —
    /// all of them, since a stream that fails verification anywhere is refused rather than decided on in part (an
    /// append after its verified part would fail on the version, or extend a history nobody endorsed).
    /// </summary>
    /// <exception cref="DamagedStreamException">The stream fails verification at the version named (an event nobody endorsed, a broken link).</exception>
    /// <exception cref="GenesisMismatchException">The stream does not start with the founding this node pinned.</exception>
    public async Task<IReadOnlyList<EventEnvelope>> ReadVerifiedAsync(long fromVersion, CancellationToken ct = default)
    {
        await _reading.WaitAsync(ct);
        try
        {
            await RefreshHeldAsync(ct);
            if (_untrusted is { } problem)
                throw problem.Code == VerificationCodes.GenesisMismatch
                    ? new GenesisMismatchException(problem.Message)
                    : new DamagedStreamException(NetworkStream.StreamId, problem.Version, reason: $"fails verification at version {problem.Version} ({problem.Code})");
            return _events.Where(e => e.Version >= fromVersion).ToList();
        }
        finally
        {
            _reading.Release();
        }
    }

    /// <summary>
    /// Checks that the stream still starts with the founding verified before, then reads what was appended since the last
    /// reading and folds it; the caller holds <see cref="_reading"/>.
    /// </summary>
    private async Task RefreshHeldAsync(CancellationToken ct)
    {
        var started = Environment.TickCount64;
        if (await StartMovedAsync(ct) is { } moved)
        {
            // What was verified stays what this node knows of the network (tokens still name their members, a patient can
            // still ask for a verification, which reports this), but nothing more is decided on it. Once the start is
            // served again (the stream restored), the next refresh reads and verifies the stream from version 0.
            Distrust(moved, _current);
            Forget();
        }
        else
        {
            var next = _events.Count == 0 ? 0 : _events[^1].Version + 1;
            await foreach (var e in store.ReadStreamAsync(NetworkStream.StreamId, next, ct)) _events.Add(e);
            if (_events.Count > 0 && _events[0].Version > 0)
            {
                // Hidden before this node ever verified its start (a node started on a truncated stream).
                Distrust(Hidden(_events[0].Version), NetworkDecider.Initial);
                Forget();
            }
            // Compared with what was folded, not with what this call read: a refresh cancelled between its read and its
            // fold (an endorser's caller gone) must not leave the events it read unfolded for the next one.
            else if (_events.Count > _folded)
            {
                var count = _events.Count;
                await FoldTrustedAsync(ct);
                _folded = count;
                if (_verifiedStart is null && _untrusted is not { Version: 0 }) _verifiedStart = _events[0].Hash;
            }
        }
        Interlocked.Exchange(ref _refreshedAt, started);
    }

    private void Forget()
    {
        _events.Clear();
        _folded = 0;
    }

    /// <summary>
    /// Reading only what follows the cached events would not see the stream's start disappear (EventStoreDB's truncate-before
    /// <c>$tb</c>, a soft delete: its founding, every key and policy, no longer served to anyone who reads it) or be
    /// replaced in place, so each refresh reads its first event once more (one event, <see cref="IEventStore.ReadFirstAsync"/>):
    /// it must still be the version 0 verified before, with the same hash — both the hash it is stored with and the hash of
    /// its stored bytes (<see cref="HashChain.ComputeHash(EventEnvelope)"/>, as the stream verifier computes it), since
    /// whoever rewrites the founding's data in place can leave its hash column as it was. Null when it is, or nothing was
    /// verified yet; else the problem, at version 0.
    /// </summary>
    private async Task<VerificationProblem?> StartMovedAsync(CancellationToken ct)
    {
        if (_verifiedStart is null) return null;
        var first = await store.ReadFirstAsync(NetworkStream.StreamId, ct);
        if (first is not { Version: 0 }) return Hidden(first?.Version);
        if (!first.Hash.AsSpan().SequenceEqual(_verifiedStart))
            return new(NetworkStream.StreamId, 0, VerificationCodes.GenesisMismatch,
                $"Version 0 of the network stream {NetworkStream.StreamId} now has hash {Convert.ToHexStringLower(first.Hash)}, not the one this node verified: its founding was replaced.");
        return HashChain.ComputeHash(first).AsSpan().SequenceEqual(_verifiedStart)
            ? null
            : new(NetworkStream.StreamId, 0, VerificationCodes.HashMismatch,
                $"Version 0 of the network stream {NetworkStream.StreamId} keeps the hash this node verified, but its stored bytes no longer hash to it: its founding was rewritten in place.");
    }

    private static VerificationProblem Hidden(long? firstServed) => new(NetworkStream.StreamId, 0, VerificationCodes.StreamTruncated, firstServed is { } version
        ? $"The network stream {NetworkStream.StreamId} starts at version {version}: versions 0 to {version - 1}, its founding among them, are not served (truncated past the service)."
        : $"The network stream {NetworkStream.StreamId} serves no events: its founding, version 0 on, is not served (truncated or deleted past the service).");

    /// <summary>
    /// An endorsement checker judging by the network as verified no longer than <paramref name="maxAge"/> ago: its
    /// members, keys and policies as of each transaction's time, up to the first transaction that fails verification
    /// (<see cref="VerifiedNetwork.Checker"/>). For a node that must check a stored transaction's endorsement itself on a hot
    /// path (who the patient's home hospital is) without reading the network stream per request.
    /// </summary>
    public async Task<IEndorsementChecker> CheckerAsync(TimeSpan maxAge, CancellationToken ct = default)
    {
        await FreshAsync(maxAge, ct);
        return _checker ?? new EndorsementChecker(NetworkHistory.From([], serializer), serializer);
    }

    /// <summary>The network as read no longer than <paramref name="maxAge"/> ago (reading only what was appended since).</summary>
    public Task<NetworkState> FreshAsync(TimeSpan maxAge, CancellationToken ct = default) =>
        Interlocked.Read(ref _refreshedAt) is >= 0 and var at && Environment.TickCount64 - at <= maxAge.TotalMilliseconds
            ? Task.FromResult(_current)
            : RefreshAsync(ct);

    /// <summary>Verifies the whole stream read (small: the network's changes) and folds it up to its first problem.</summary>
    private async Task FoldTrustedAsync(CancellationToken ct)
    {
        var verified = await VerifiedNetwork.VerifyAsync(_events, serializer, genesis, ct); // the founding this node pinned, or nothing counts
        _checker = verified.Checker(serializer);
        if (verified.Untrusted is { } problem) Distrust(problem, verified.Trusted.Current);
        else
        {
            _untrusted = null;
            _current = verified.Trusted.Current;
        }
    }

    /// <summary>Nothing from <paramref name="problem"/>'s version on counts: the network is <paramref name="before"/>; logged once per version and code.</summary>
    private void Distrust(VerificationProblem problem, NetworkState before)
    {
        _current = before;
        if (_untrusted?.Version != problem.Version || _untrusted.Code != problem.Code)
            log?.LogError("The network stream {StreamId} fails verification at version {Version} ({Code}): the network directory stops before it",
                NetworkStream.StreamId, problem.Version, problem.Code);
        _untrusted = problem;
    }
}
