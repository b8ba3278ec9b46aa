using HealthEvents.Application.Commands;
using HealthEvents.Application.Endorsement;
using HealthEvents.Domain.Network;

namespace HealthEvents.Application.Ports;

/// <summary>
/// A transaction proposal: everything an endorser needs to re-run the decision itself and compare
/// bytes — the command, the stream position it was decided at, and the envelopes it produced.
/// The transaction hash is the last envelope's hash, which chains over all the others.
/// </summary>
public sealed record TransactionProposal(
    string StreamId,
    ExpectedVersion Expected,
    byte[] PrevHash,
    object Command,
    CommandContext Context,
    DateTimeOffset At,
    IReadOnlyList<EventEnvelope> Envelopes,
    string? HomeHospital = null)
{
    public byte[] TransactionHash => Envelopes[^1].Hash;
}

/// <summary>Collects endorsements until the policy is met, or throws <see cref="EndorsementPolicyNotMetException"/>.</summary>
public interface IEndorsementService
{
    Task<TransactionEndorsement?> EndorseAsync(TransactionProposal proposal, CancellationToken ct = default);

    /// <summary>
    /// Has a chain endorsed: proposals of one stream, each decided right after the one before it (its expected version
    /// is where its predecessor ends, its prevHash its predecessor's transaction hash). One outcome per proposal, in
    /// order, each completing as <see cref="EndorseAsync"/> would; a proposal is endorsed only together with every one
    /// before it. One that cannot be, because one before it was not, fails with <see cref="ChainBrokenException"/>: it
    /// is decided again. This default endorses each on its own, which only the first can pass unless the endorsement
    /// service appends nothing (<see cref="NoEndorsement"/>).
    /// </summary>
    IReadOnlyList<Task<TransactionEndorsement?>> EndorseChain(IReadOnlyList<TransactionProposal> chain, CancellationToken ct = default) =>
        chain.Select(p => EndorseAsync(p, ct)).ToList();
}

/// <summary>
/// Endorsers found the stream already past the proposal's expected version: a concurrent writer won.
/// The command is decided again, exactly as after a failed append.
/// </summary>
public sealed class StaleProposalException(string streamId)
    : Exception($"Endorsers saw stream {streamId} ahead of the proposal.");

/// <summary>
/// A proposal of a chain could not be endorsed because one before it was not (refused, or its round failed): it was
/// decided on a state that will not be, and is decided again.
/// </summary>
public sealed class ChainBrokenException(string streamId)
    : Exception($"A proposal before this one on stream {streamId} was not endorsed.");

public sealed class EndorsementPolicyNotMetException(IReadOnlyList<string> reasons)
    : Exception("The endorsement policy could not be met: " + string.Join("; ", reasons))
{
    public IReadOnlyList<string> Reasons { get; } = reasons;
}

/// <summary>No endorsement: for streams or set-ups that do not require one (a single trusted node).</summary>
public sealed class NoEndorsement : IEndorsementService
{
    public Task<TransactionEndorsement?> EndorseAsync(TransactionProposal proposal, CancellationToken ct = default) =>
        Task.FromResult<TransactionEndorsement?>(null);
}

/// <summary>Reaches one hospital's endorser, wherever it runs. Never throws for the endorser's own failures: those are refusals.</summary>
public interface IEndorserClient
{
    /// <summary>The endorser's verdict on every transaction of the batch, in order, and its one signature over what it accepted.</summary>
    Task<EndorsementBatchReply> EndorseAsync(EndorsementBatch batch, CancellationToken ct);
}

public interface IEndorserClients
{
    /// <summary>The client for a member's endorser, or null when this node cannot reach it at all.</summary>
    IEndorserClient? For(HospitalState hospital);
}

/// <summary>
/// This node's hospital and its identity key, which signs the proposals it submits; and the hospitals it acts
/// for — those whose identity key it holds, which issue its callers' tokens and sign their assertions.
/// </summary>
public interface INodeIdentity
{
    /// <summary>The node's own hospital: the submitter of its proposals, and the hospital of its system actors.</summary>
    string HospitalId { get; }

    /// <summary>Whether this node acts for <paramref name="hospitalId"/>: holds its identity key (and may accept its tokens).</summary>
    bool ActsFor(string hospitalId);

    /// <summary>The identity key <paramref name="hospitalId"/> has at <paramref name="at"/>, if this node acts for that hospital and holds it; else null.</summary>
    IHospitalSigner? IdentityOf(string hospitalId, DateTimeOffset at);
}

/// <summary>A hospital's private key for one use, held by that hospital's node only.</summary>
public interface IHospitalSigner
{
    string HospitalId { get; }
    string KeyId { get; }
    byte[] Sign(byte[] message);
}

/// <summary>A hospital's private keys of one use, by key id: a signer uses the key the network records as valid at the time.</summary>
public interface IHospitalKeys
{
    string HospitalId { get; }

    /// <summary>The key with this id, or null when this node does not hold it.</summary>
    IHospitalSigner? Signer(string keyId);
}

public static class HospitalKeys
{
    /// <summary>The key the network records for this hospital and use at <paramref name="at"/>, if this node holds it.</summary>
    public static IHospitalSigner? SignerAt(this IHospitalKeys keys, NetworkState network, KeyUse use, DateTimeOffset at) =>
        network.KeyAt(keys.HospitalId, use, at) is { } key ? keys.Signer(key.KeyId) : null;
}
