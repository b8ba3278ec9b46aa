using HealthEvents.Application.Endorsement;
using HealthEvents.Application.Ledger;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;

namespace HealthEvents.Application.Network;

/// <summary>
/// The <c>network</c> stream verified as every reader must before judging anything by it, and the part of it that holds.
/// Its chain and each of its transactions are checked (the founding, by the pin, exempt from endorsement;
/// <see cref="StreamVerifier"/>); the members, keys and policies that count are those of the events before the first
/// transaction that fails (<see cref="Trusted"/>), never the rest: an event written past the service (a forged member, a
/// key of someone's own) and whatever follows it vouch for nothing, on the network stream or any other. Used by the
/// network directory (what nodes decide on), <c>verify</c> and a patient's <c>/verification</c>.
/// </summary>
public sealed class VerifiedNetwork
{
    private readonly NetworkHistory _judgedBy;

    private VerifiedNetwork(VerificationReport report, NetworkHistory trusted, VerificationProblem? untrusted, NetworkHistory judgedBy)
    {
        Report = report;
        Trusted = trusted;
        Untrusted = untrusted;
        _judgedBy = judgedBy;
    }

    /// <summary>The network stream's own verification: its problems, each at its version.</summary>
    public VerificationReport Report { get; }

    /// <summary>The network's history up to <see cref="Untrusted"/> (all of it when null): what signatures are judged by.</summary>
    public NetworkHistory Trusted { get; }

    /// <summary>
    /// The first problem, at the first version of the transaction it is in (a problem inside a transaction takes the whole
    /// transaction out): nothing from this version on is trusted. Null when the stream holds.
    /// </summary>
    public VerificationProblem? Untrusted { get; }

    /// <summary>
    /// An endorsement checker over <see cref="Trusted"/> alone — except when the founding itself fails (a founding not the
    /// pinned one, altered, or cut short): then no network verifies at all, every signature is void by that one problem
    /// (reported on the network stream, so nothing verifies), and transactions are judged by the stream as read, so that
    /// each is not reported again as signed by "no member".
    /// </summary>
    public EndorsementChecker Checker(EventSerializer serializer) => new(_judgedBy, serializer);

    /// <param name="network">The network stream's events as read, in version order.</param>
    /// <param name="genesis">The founding this node pinned; null: the stream's own first command is taken as its founding.</param>
    public static async Task<VerifiedNetwork> VerifyAsync(
        IReadOnlyList<EventEnvelope> network, EventSerializer serializer, NetworkGenesisPin? genesis, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(network);
        var history = NetworkHistory.From(network, serializer);
        var report = await StreamVerifier.VerifyAsync(network, new StreamVerifierOptions
        {
            EndorsementChecker = new EndorsementChecker(history, serializer),
            StreamId = NetworkStream.StreamId,
            Genesis = genesis,
        }, ct).ConfigureAwait(false);
        if (report.Verified || report.Problems.Count == 0) return new(report, history, null, history);
        var problem = report.Problems.MinBy(p => p.Version)!;
        var cut = network.FirstOrDefault(e => e.Version == problem.Version)?.Endorsement?.FirstVersion is { } first && first < problem.Version
            ? first
            : problem.Version;
        var trusted = NetworkHistory.From(network.Where(e => e.Version < cut), serializer);
        return new(report, trusted, problem with { Version = cut }, cut < FoundingEnd(network, genesis) ? history : trusted);
    }

    /// <summary>The version after the founding's last, as the stream verifier tells the founding (<see cref="NetworkFounding"/>).</summary>
    private static long FoundingEnd(IReadOnlyList<EventEnvelope> network, NetworkGenesisPin? genesis)
    {
        var founding = new NetworkFounding(genesis);
        var end = 0L;
        foreach (var e in network)
        {
            if (!founding.Accept(e, _ => { })) break; // its problems were reported by the verification itself
            end = e.Version + 1;
        }
        return end;
    }

    /// <summary>Reads the whole network stream and verifies it (<see cref="VerifyAsync(IReadOnlyList{EventEnvelope}, EventSerializer, NetworkGenesisPin?, CancellationToken)"/>).</summary>
    public static async Task<VerifiedNetwork> LoadAsync(IEventStore store, EventSerializer serializer, NetworkGenesisPin? genesis, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var network = new List<EventEnvelope>();
        await foreach (var e in store.ReadStreamAsync(NetworkStream.StreamId, 0, ct).ConfigureAwait(false)) network.Add(e);
        return await VerifyAsync(network, serializer, genesis, ct).ConfigureAwait(false);
    }
}
