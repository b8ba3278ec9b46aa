using HealthEvents.Application.Ports;
using HealthEvents.Application.Ledger;
using HealthEvents.Application.Serialization;
using HealthEvents.Domain.Common;
using Microsoft.Extensions.Logging;

namespace HealthEvents.Application.Commands;

/// <summary>The outcome of an accepted command: its receipt and the events it decided.</summary>
public sealed record CommandResult<TEvent>(Receipt Receipt, IReadOnlyList<TEvent> Events);

/// <summary>
/// Every command handler's one path: load the stream, decide, endorse, append. A concurrent writer
/// makes the append (or the endorsement) fail on expected version; the command is then decided again
/// against the new state (so an access is always judged by the latest consent), a bounded number of times.
/// <para>
/// A retried command is never recorded twice, on any stream. Its event ids are its command id and their index, and
/// the command id names one request (<c>RequestContext</c>), whose stream is fixed by the request (a registration's new
/// patient id is derived from the command id), so a retry proposes the same ids to the same stream. The store makes
/// an exact replay after the expected version idempotent; what it may not see in one round trip (EventStoreDB) is the
/// ids further back in the stream — a retry decided again after its earlier attempt landed. So a command whose earlier
/// attempt went unanswered (<see cref="CommandContext.EarlierAttempt"/>) looks through the stream, up to the version
/// it was decided at, for its first event before it appends; found, it is the 409 "command-already-applied". An
/// earlier attempt landing after that look lands right after the same version or not at all, so the append then
/// fails on it and the store refuses it as the same ids with other content. First attempts, the normal case, pay
/// nothing for this.
/// </para>
/// </summary>
public sealed class CommandExecutor(
    IEventStore store,
    IEndorsementService endorsement,
    StreamStateCache cache,
    CommandDecider decider,
    ILogger<CommandExecutor> log)
{
    /// <summary>
    /// A command loses a round only to another command that landed, so with fewer than this many
    /// concurrent writers on one stream every command lands; beyond that the caller gets a 409.
    /// </summary>
    public const int MaxAttempts = 10;

    public async Task<CommandResult<TEvent>> ExecuteAsync<TDecider, TState, TCommand, TEvent>(
        string streamId, TCommand command, DateTimeOffset at, CommandContext context, CancellationToken ct)
        where TDecider : IDecider<TState, TCommand, TEvent>
        where TEvent : IEvent
        where TCommand : notnull
    {
        for (var attempt = 1; ; attempt++)
        {
            var decision = await decider.DecideAsync<TDecider, TState, TCommand, TEvent>(streamId, command, at, context, ct);
            if (decision.Events.Count == 0)
                return new(new Receipt([], decision.LastVersion, Convert.ToHexStringLower(decision.LastHash), []), decision.Events);
            if (context.EarlierAttempt && await IsStoredAsync(streamId, decision.Proposed[0].EventId, decision.LastVersion, ct))
                throw AlreadyApplied();

            var expected = ExpectedVersion.After(decision.LastVersion);
            AppendResult appended;
            TransactionEndorsement? endorsed;
            try
            {
                endorsed = await endorsement.EndorseAsync(new TransactionProposal(
                    streamId, expected, decision.LastHash, command, context, at, decision.Envelopes, decision.HomeHospital), ct);
                appended = await store.AppendAsync(streamId, expected, decision.Proposed, endorsed, ct);
            }
            catch (WrongExpectedVersionException e) when (e.ActualLastVersion == decision.LastVersion)
            {
                // The stream did not move, so what conflicts is an event id: this command id was applied before.
                throw AlreadyApplied();
            }
            catch (Exception e) when (e is WrongExpectedVersionException or StaleProposalException && attempt < MaxAttempts)
            {
                log.LogDebug("Concurrent write on {StreamId}, deciding again (attempt {Attempt})", streamId, attempt);
                // Jittered, growing back-off spreads the contenders out instead of colliding again.
                await Task.Delay(Random.Shared.Next(0, Math.Min(50, 1 << attempt)), ct);
                continue;
            }
            catch (Exception e) when (e is WrongExpectedVersionException or StaleProposalException)
            {
                throw new ConcurrencyConflictException(streamId, MaxAttempts, e);
            }

            var state = decision.Events.Aggregate(decision.Before, TDecider.Evolve);
            cache.Put(streamId, new StreamSnapshot<TState>(state, appended.LastVersion, appended.TransactionHash));
            var endorsers = endorsed?.Signatures.Select(s => s.HospitalId).ToList() ?? [];
            return new(new Receipt(appended.Events.Select(e => e.EventId).ToList(), appended.LastVersion,
                Convert.ToHexStringLower(appended.TransactionHash), endorsers), decision.Events);
        }
    }

    private static RejectedException AlreadyApplied() => RejectedException.Conflict("command-already-applied",
        "This command id (Idempotency-Key) was already applied; it is recorded once.");

    /// <summary>Whether the stream holds <paramref name="eventId"/> at or before <paramref name="upToVersion"/> (a read of the stream).</summary>
    private async Task<bool> IsStoredAsync(string streamId, Guid eventId, long upToVersion, CancellationToken ct)
    {
        await foreach (var e in store.ReadStreamAsync(streamId, 0, ct))
        {
            if (e.Version > upToVersion) break;
            if (e.EventId == eventId) return true;
        }
        return false;
    }
}

public sealed class ConcurrencyConflictException(string streamId, int attempts, Exception inner)
    : Exception($"Stream {streamId} kept changing; gave up after {attempts} attempts.", inner)
{
    public string StreamId { get; } = streamId;
}
