using HealthEvents.Application.Commands;

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
}

/// <summary>
/// Endorsers found the stream already past the proposal's expected version: a concurrent writer won.
/// The command is decided again, exactly as after a failed append.
/// </summary>
public sealed class StaleProposalException(string streamId)
    : Exception($"Endorsers saw stream {streamId} ahead of the proposal.")
{
    public string StreamId { get; } = streamId;
}

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
