using HealthEvents.Application.Network;
using HealthEvents.Application.Ports;
using static HealthEvents.Application.Ledger.VerificationCodes;

namespace HealthEvents.Application.Ledger;

/// <summary>The incremental state of verifying one stream: fed one envelope at a time, in reading order.</summary>
internal sealed class StreamVerifierState
{
    private readonly StreamVerifierOptions _options;
    private readonly List<VerificationProblem> _problems = [];
    private readonly StreamVerifierTransactions _transactions;
    private string? _streamId;
    private long _next;
    private byte[] _prevHash = HashChain.Genesis;
    private long _events;
    private long _problemCount;
    private long? _firstBroken;
    private NetworkFounding? _founding;

    public StreamVerifierState(StreamVerifierOptions options)
    {
        _options = options;
        _streamId = options.StreamId;
        _transactions = new StreamVerifierTransactions(collectEvents: options.EndorsementChecker is not null, Add);
    }

    /// <summary>Checks one event; returns a transaction it completed when there is an endorsement checker to hand it to.</summary>
    public TransactionToCheck? Accept(EventEnvelope e)
    {
        _events++;
        ReportProgress(final: false);
        _streamId ??= e.StreamId;
        if (e.StreamId != _streamId)
        {
            // Not part of this chain at all: neither links nor advances it.
            Add(new(_streamId, e.Version, WrongStream, $"Event {e.EventId} at version {e.Version} belongs to another stream."));
            return null;
        }

        if (e.Version < _next)
        {
            // A reordered or duplicated event: check its own bytes, but the chain continues from the highest version seen.
            Add(new(_streamId, e.Version, VersionOutOfOrder, $"Version {e.Version} was read after version {_next - 1}."));
            CheckHash(e);
            return null;
        }

        var intact = true;
        long? gapFrom = null;
        if (e.Version > _next)
        {
            // The link across a gap cannot be checked: the event it names is not here.
            gapFrom = _next;
            Add(new(_streamId, _next, MissingEvent, e.Version - _next == 1
                ? $"Version {_next} is missing."
                : $"Versions {_next} to {e.Version - 1} are missing."));
            intact = false;
        }
        else if (!e.PrevHash.AsSpan().SequenceEqual(_prevHash))
        {
            Add(new(_streamId, e.Version, BrokenLink, e.Version == 0
                ? "Version 0 does not link to the genesis (32 zero bytes)."
                : $"prevHash of version {e.Version} is not the hash of version {e.Version - 1}."));
            intact = false;
        }
        intact &= CheckHash(e);
        // The founding nobody endorses: its extent and bytes are the ones this node pinned (NetworkFounding).
        var founding = _streamId == NetworkStream.StreamId && (_founding ??= new NetworkFounding(_options.Genesis)).Accept(e, Add);

        // Continue from the stored hash: an altered event whose hash was left alone breaks at itself only;
        // one whose hash was recomputed breaks the next link.
        _next = e.Version + 1;
        _prevHash = e.Hash ?? [];
        // The founding is a prefix of the stream, so a transaction is the founding's when its last event is.
        var completed = _transactions.Accept(_streamId, e, intact, gapFrom);
        return founding && completed is not null ? completed with { Founding = true } : completed;
    }

    public void AddAll(IReadOnlyList<VerificationProblem> problems)
    {
        foreach (var p in problems) Add(p);
    }

    public VerificationReport Finish()
    {
        if (_streamId is not null)
        {
            _transactions.Finish(_streamId);
            // The network stream read empty still ends: before the end of a founding this node pinned (NetworkGenesisPin.CheckEnd).
            if (_streamId == NetworkStream.StreamId) (_founding ??= new NetworkFounding(_options.Genesis)).Finish(Add);
            else _founding?.Finish(Add);
            if (_options.EndorsementChecker is { } checker) AddAll(checker.StreamEnded(_streamId));
        }
        ReportProgress(final: true);
        return new VerificationReport(_problemCount == 0, _events, _firstBroken, _problems, _problemCount > _problems.Count);
    }

    private bool CheckHash(EventEnvelope e)
    {
        if (HashChain.ComputeHash(e).AsSpan().SequenceEqual(e.Hash)) return true;
        Add(new(_streamId!, e.Version, HashMismatch, $"The stored hash of version {e.Version} is not the hash of its stored bytes."));
        return false;
    }

    private void Add(VerificationProblem problem)
    {
        _problemCount++;
        if (_firstBroken is null || problem.Version < _firstBroken) _firstBroken = problem.Version;
        if (_problems.Count < _options.MaxProblems) _problems.Add(problem);
    }

    private void ReportProgress(bool final)
    {
        if (_options.Progress is not { } progress) return;
        var interval = Math.Max(1, _options.ProgressInterval);
        var onInterval = _events > 0 && _events % interval == 0;
        if (final ? !onInterval : onInterval) progress(_events);
    }
}
