using HealthEvents.Application.Ledger;
using HealthEvents.Application.Ports;

namespace HealthEvents.Application.Network;

/// <summary>
/// The root of trust of everything a node checks: version 0 of the <c>network</c> stream, its founding, which no hospital
/// endorses (nobody could before the members existed). Every key and policy a later signature is judged by descends from
/// it, so whoever could replace it in the store — a founding with keys of their own, then their own signatures on
/// everything after — would make a forged history verify. A node therefore keeps the founding's stored hash outside the
/// store and refuses a network stream that starts otherwise (<see cref="VerificationCodes.GenesisMismatch"/>):
/// <list type="bullet">
/// <item>configured (<c>HealthEvents:GenesisHash</c>, 64 hex digits): the operator's word, taken from a member they
/// trust; it is written to the pin when none is there, and a pin that says otherwise stops the node from starting;</item>
/// <item>else the pin in the node's data folder (<see cref="IGenesisPinStore"/>): written by the node that founds the
/// network when it seeds it, and by a node that joins an existing network the first time it reads version 0 — trust on
/// first use, as SSH does with a host key: a store rewritten before that first reading is not caught.</item>
/// </list>
/// Thread-safe.
/// </summary>
public sealed class NetworkGenesisPin
{
    private readonly IGenesisPinStore _store;
    private readonly Lock _lock = new();
    private byte[]? _hash;

    /// <param name="configured">The operator's expected hash (32 bytes), or null to rely on the pin alone.</param>
    /// <exception cref="InvalidOperationException">The configured hash and the pin disagree.</exception>
    /// <exception cref="InvalidDataException">The pin does not hold a SHA-256 hash.</exception>
    public NetworkGenesisPin(IGenesisPinStore store, byte[]? configured = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        if (configured is not null && configured.Length != 32)
            throw new ArgumentException("The network's genesis hash is 32 bytes (SHA-256).", nameof(configured));
        _store = store;
        var pinned = store.Read();
        if (configured is not null && pinned is not null && !pinned.AsSpan().SequenceEqual(configured))
            throw new InvalidOperationException(
                $"HealthEvents:GenesisHash is {Hex(configured)}, but {store.Location} pins {Hex(pinned)}: this node cannot tell which network to trust. " +
                "Keep the one that names the network's true founding and remove the other.");
        if (configured is not null && pinned is null) store.Write(configured);
        _hash = configured ?? pinned;
    }

    /// <summary>The pinned hash in lowercase hex, or null while nothing is pinned.</summary>
    public string? Hex()
    {
        lock (_lock) return _hash is null ? null : Hex(_hash);
    }

    /// <summary>Whether this instance pinned a hash on first sight (nothing was pinned or configured before).</summary>
    public bool PinnedOnFirstSight { get; private set; }

    /// <summary>Where the pin is kept.</summary>
    public string Location => _store.Location;

    /// <summary>
    /// Checks the network stream's version 0 against the pin, pinning its hash if nothing is pinned yet (first sight).
    /// Null when it matches (or was just pinned); else the problem, at version 0.
    /// </summary>
    public VerificationProblem? Check(EventEnvelope versionZero)
    {
        ArgumentNullException.ThrowIfNull(versionZero);
        if (versionZero.StreamId != NetworkStream.StreamId || versionZero.Version != 0)
            throw new ArgumentException("The pin is about version 0 of the network stream.", nameof(versionZero));
        lock (_lock)
        {
            if (_hash is null)
            {
                Pin(versionZero.Hash, firstSight: true);
                return null;
            }
            if (_hash.AsSpan().SequenceEqual(versionZero.Hash)) return null;
            return new VerificationProblem(NetworkStream.StreamId, 0, VerificationCodes.GenesisMismatch,
                $"Version 0 of the network has hash {Hex(versionZero.Hash ?? [])}, but this node pinned {Hex(_hash)} ({_store.Location}): " +
                "the network's history, and every key and policy in it, is not the one this node trusts.");
        }
    }

    /// <summary>As <see cref="Check"/>, for whoever decides on the network's word (command path, endorser): a mismatch throws.</summary>
    /// <exception cref="GenesisMismatchException">Version 0 is not the pinned founding.</exception>
    public void Require(EventEnvelope versionZero)
    {
        if (Check(versionZero) is { } problem) throw new GenesisMismatchException(problem.Message);
    }

    /// <summary>The founder pins the founding it has just appended.</summary>
    /// <exception cref="GenesisMismatchException">Another founding is pinned already.</exception>
    public void Founded(byte[] hash)
    {
        ArgumentNullException.ThrowIfNull(hash);
        lock (_lock)
        {
            if (_hash is null) Pin(hash, firstSight: false);
            else if (!_hash.AsSpan().SequenceEqual(hash))
                throw new GenesisMismatchException($"This node pinned the founding {Hex(_hash)} ({_store.Location}), not {Hex(hash)}.");
        }
    }

    /// <summary>
    /// Refuses to found a network while another one is pinned: an empty network stream with a pin means the history this
    /// node trusts is gone from the store, which founding anew would hide.
    /// </summary>
    /// <exception cref="GenesisMismatchException">Something is pinned.</exception>
    public void RequireNothingPinned()
    {
        lock (_lock)
        {
            if (_hash is not null)
                throw new GenesisMismatchException(
                    $"The store holds no network, but this node pinned the founding {Hex(_hash)} ({_store.Location}): it will not found another. " +
                    "Restore the store, or remove the pin to found a new network.");
        }
    }

    private void Pin(byte[] hash, bool firstSight)
    {
        if (hash is not { Length: 32 }) throw new ArgumentException("A founding's hash is 32 bytes (SHA-256).", nameof(hash));
        _store.Write(hash);
        _hash = [.. hash];
        PinnedOnFirstSight = firstSight;
    }

    private static string Hex(byte[] hash) => Convert.ToHexStringLower(hash);
}

/// <summary>The store's network stream does not start with the founding this node pinned (<see cref="NetworkGenesisPin"/>).</summary>
public sealed class GenesisMismatchException(string message) : Exception(message);
