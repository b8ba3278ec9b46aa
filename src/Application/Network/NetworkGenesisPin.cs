using HealthEvents.Application.Ledger;
using HealthEvents.Application.Ports;

namespace HealthEvents.Application.Network;

/// <summary>
/// The root of trust of everything a node checks: the founding transaction of the <c>network</c> stream, which no
/// hospital endorses (nobody could before the members existed). Every key and policy a later signature is judged by
/// descends from it, so whoever could replace it in the store — a founding with keys of their own, then their own
/// signatures on everything after — or lengthen it — an event of their own right after it, passed off as more of the
/// founding — would make a forged history verify. A node therefore keeps the founding's length and last hash outside the
/// store (<see cref="FoundingPin"/>): the founding is versions 0 to length - 1, version length - 1 must have the pinned
/// hash (else <see cref="VerificationCodes.GenesisMismatch"/>, reported at version 0), and anything after it needs an
/// endorsement like any transaction (<see cref="NetworkFounding"/>). The pin comes from:
/// <list type="bullet">
/// <item>configuration (<c>HealthEvents:GenesisHash</c>, <c>{events}:{hash}</c>): the operator's word, taken from a member
/// they trust; it is written to the pin file when none is there, and a pin file that says otherwise stops the node from
/// starting;</item>
/// <item>else the pin in the node's data folder (<see cref="IGenesisPinStore"/>): written by the node that founds the
/// network when it seeds it, and by a node that joins an existing network the first time it reads the founding — trust
/// on first use, as SSH does with a host key: a store rewritten (or a founding lengthened) before that first reading is
/// not caught. An earlier release's pin (version 0's hash alone) is completed the same way on first reading.</item>
/// </list>
/// Thread-safe.
/// </summary>
public sealed class NetworkGenesisPin
{
    private readonly IGenesisPinStore _store;
    private readonly Lock _lock = new();
    private FoundingPin? _pin;

    /// <param name="configured">The operator's expected founding, or null to rely on the pin file alone.</param>
    /// <exception cref="InvalidOperationException">The configured founding and the pin file disagree.</exception>
    /// <exception cref="InvalidDataException">The pin file does not hold a founding pin.</exception>
    public NetworkGenesisPin(IGenesisPinStore store, FoundingPin? configured = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        if (configured is not null && configured.Hash.Length != 32)
            throw new ArgumentException("A founding's hash is 32 bytes (SHA-256).", nameof(configured));
        _store = store;
        var pinned = store.Read();
        if (configured is not null && pinned is not null && !Compatible(configured, pinned))
            throw new InvalidOperationException(
                $"HealthEvents:GenesisHash is {configured}, but {store.Location} pins {pinned}: this node cannot tell which network to trust. " +
                "Keep the one that names the network's true founding and remove the other.");
        // The operator's complete pin wins over an earlier release's file; a file already complete stays.
        if (configured is not null && (pinned is null || (configured.IsComplete && !pinned.IsComplete))) store.Write(configured);
        _pin = configured is { IsComplete: true } || pinned is null ? configured : pinned;
    }

    /// <summary>The pin in its text form (<c>{events}:{hash}</c>, or an earlier release's bare hash), or null while nothing is pinned.</summary>
    public string? Hex()
    {
        lock (_lock) return _pin?.ToString();
    }

    /// <summary>The pinned founding, or null while nothing is pinned.</summary>
    public FoundingPin? Current
    {
        get { lock (_lock) return _pin; }
    }

    /// <summary>Whether this instance pinned the founding on first sight (nothing was pinned or configured before).</summary>
    public bool PinnedOnFirstSight { get; private set; }

    /// <summary>Where the pin is kept.</summary>
    public string Location => _store.Location;

    /// <summary>
    /// Checks a network event against the pin: the one at the pinned version (the founding's last, or version 0 for an
    /// earlier release's pin) must have the pinned hash. Null when it does, when <paramref name="e"/> is another version,
    /// or while nothing is pinned; else the problem, at version 0 (the founding transaction's first).
    /// </summary>
    public VerificationProblem? Check(EventEnvelope e)
    {
        ArgumentNullException.ThrowIfNull(e);
        if (e.StreamId != NetworkStream.StreamId)
            throw new ArgumentException("The pin is about the network stream.", nameof(e));
        var pin = Current;
        if (pin is null || e.Version != pin.PinnedVersion || pin.Hash.AsSpan().SequenceEqual(e.Hash)) return null;
        return pin.IsComplete
            ? Mismatch($"The network's founding (versions 0 to {pin.PinnedVersion}) ends in hash {Convert.ToHexStringLower(e.Hash ?? [])}, but this node pinned {pin} ({_store.Location}): " +
                       "the network's history, and every key and policy in it, is not the one this node trusts.")
            : Mismatch($"Version 0 of the network has hash {Convert.ToHexStringLower(e.Hash ?? [])}, but this node pinned {pin} ({_store.Location}): " +
                       "the network's history, and every key and policy in it, is not the one this node trusts.");
    }

    /// <summary>The network stream ended (at <paramref name="lastVersion"/>, -1: empty) before the pinned founding did: the problem, or null.</summary>
    public VerificationProblem? CheckEnd(long lastVersion)
    {
        var pin = Current;
        if (pin is not { IsComplete: true } || lastVersion >= pin.PinnedVersion) return null;
        return Mismatch(lastVersion < 0
            ? $"The network stream serves no events, while this node pinned its founding ({pin}, {_store.Location}): its founding was deleted or hidden."
            : $"The network stream ends at version {lastVersion}, inside the founding this node pinned ({pin}, {_store.Location}): " +
              "its founding was cut short or replaced.");
    }

    /// <summary>
    /// The pin counts <paramref name="version"/> as part of the founding, but that event is none of it
    /// (<paramref name="why"/>): the pin was lengthened over a later transaction, which it would exempt from endorsement.
    /// Reported at version 0, as every problem with the pinned founding.
    /// </summary>
    public VerificationProblem Overreach(long version, string why) =>
        Mismatch($"This node's pin {Current} ({_store.Location}) counts version {version} of the network stream as part of its founding, but {why}: " +
                 "a pin covers only the founding command's events (unendorsed, made by the genesis actor under version 0's command id). " +
                 "Check the pin against a member you trust (./run.sh verify prints it last) and correct the pin file or HealthEvents:GenesisHash.");

    /// <summary>As <see cref="Check"/>, for whoever decides on the network's word: a mismatch throws.</summary>
    /// <exception cref="GenesisMismatchException">The event is not the pinned founding's.</exception>
    public void Require(EventEnvelope e)
    {
        if (Check(e) is { } problem) throw new GenesisMismatchException(problem.Message);
    }

    /// <summary>
    /// A reader saw the whole founding (<paramref name="founding"/>, found by its command, <see cref="NetworkFounding"/>)
    /// starting with an event of hash <paramref name="firstHash"/>: pinned when nothing is (first sight), and completing
    /// an earlier release's pin of that version 0. A complete pin is never replaced.
    /// </summary>
    public void Learn(FoundingPin founding, byte[] firstHash)
    {
        ArgumentNullException.ThrowIfNull(founding);
        ArgumentNullException.ThrowIfNull(firstHash);
        if (!founding.IsComplete || founding.Hash.Length != 32) return;
        lock (_lock)
        {
            if (_pin is null) Pin(founding, firstSight: true);
            else if (!_pin.IsComplete && _pin.Hash.AsSpan().SequenceEqual(firstHash)) Pin(founding, firstSight: false);
        }
    }

    /// <summary>The founder pins the founding it has just appended: <paramref name="events"/> events, the last with hash <paramref name="lastHash"/>.</summary>
    /// <exception cref="GenesisMismatchException">Another founding is pinned already.</exception>
    public void Founded(long events, byte[] lastHash)
    {
        ArgumentNullException.ThrowIfNull(lastHash);
        var founding = new FoundingPin(events, lastHash);
        lock (_lock)
        {
            if (_pin is null) Pin(founding, firstSight: false);
            else if (!_pin.SameAs(founding))
                throw new GenesisMismatchException($"This node pinned the founding {_pin} ({_store.Location}), not {founding}.");
        }
    }

    /// <summary>
    /// Refuses to found a network over a stream that does not serve the founding: one this node pinned while the stream is
    /// empty, or a stream whose start is hidden (<paramref name="hidden"/>, from <see cref="NetworkDirectory.Untrusted"/>:
    /// its reads start after version 0). The history this node trusts is then gone from the store or hidden in it, which
    /// founding anew would bury. Returns when the store holds no network and nothing is pinned.
    /// </summary>
    /// <exception cref="GenesisMismatchException">The founding is not served: the message names the stream, where its reads start, the pin, and what the operator can do.</exception>
    public void RequireFoundingServed(VerificationProblem? hidden = null)
    {
        var pin = Current;
        if (pin is null && hidden is null) return;
        var pinned = pin is null ? "nothing is pinned here"
            : pin.IsComplete ? $"this node pinned its founding, versions 0 to {pin.PinnedVersion}, as {pin} ({_store.Location})"
            : $"this node pinned its version 0 as {pin} ({_store.Location})";
        throw new GenesisMismatchException(
            $"The network's founding is missing: {hidden?.Message ?? $"the network stream {NetworkStream.StreamId} serves no events."} ({pinned}.) " +
            "It was deleted or truncated past the service (on EventStoreDB: a delete, or a truncate-before $tb in the stream's metadata). " +
            "Restore the stream - from a backup, or on EventStoreDB before a scavenge by setting its metadata's $tb back to 0 - and start again; " +
            "this node will not found another network over it. To found a new network on purpose, use an empty store and remove the pin on every node.");
    }

    private void Pin(FoundingPin founding, bool firstSight)
    {
        if (founding is not { IsComplete: true, Events: >= 1, Hash.Length: 32 })
            throw new ArgumentException("A founding is pinned by its event count (at least 1) and the 32-byte hash of its last event.", nameof(founding));
        _store.Write(founding);
        _pin = founding;
        PinnedOnFirstSight = firstSight;
    }

    private static VerificationProblem Mismatch(string message) => new(NetworkStream.StreamId, 0, VerificationCodes.GenesisMismatch, message);

    /// <summary>Two pins that can both hold: equal, or one an earlier release's (version 0 only), which the store checks against the other.</summary>
    private static bool Compatible(FoundingPin a, FoundingPin b) => a.IsComplete != b.IsComplete || a.SameAs(b);
}

/// <summary>The store's network stream does not start with the founding this node pinned (<see cref="NetworkGenesisPin"/>).</summary>
public sealed class GenesisMismatchException(string message) : Exception(message);
