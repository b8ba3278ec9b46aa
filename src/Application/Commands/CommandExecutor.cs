using HealthEvents.Application.EventStore;
using HealthEvents.Application.Ledger;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;
using HealthEvents.Domain.Common;
using Microsoft.Extensions.Logging;

namespace HealthEvents.Application.Commands;

/// <summary>The outcome of an accepted command: its receipt and the events it decided.</summary>
public sealed record CommandResult<TEvent>(Receipt Receipt, IReadOnlyList<TEvent> Events);

/// <summary>
/// Every command handler's one path: load the stream, decide, endorse, append. A concurrent writer
/// makes the append fail on expected version; the command is then decided again against the new
/// state (so an access is always judged by the latest consent), a bounded number of times.
/// </summary>
public sealed class CommandExecutor(
    IEventStore store,
    IEndorsementService endorsement,
    EventSerializer serializer,
    StreamStateCache cache,
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
        var metadata = new EventMetadata(context.Actor.Id, context.Actor.Role, context.Actor.Hospital,
            context.CommandId, context.CorrelationId, at).ToBytes();

        for (var attempt = 1; ; attempt++)
        {
            var snapshot = await LoadAsync<TDecider, TState, TCommand, TEvent>(streamId, ct);
            var events = TDecider.Decide(command, snapshot.State);
            if (events.Count == 0)
                return new(new Receipt([], snapshot.Version, Convert.ToHexStringLower(snapshot.LastHash), []), events);

            var proposed = events
                .Select((e, i) => new ProposedEvent(DeterministicIds.EventId(context.CommandId, i), serializer.NameOf(e), serializer.Serialize(e), metadata))
                .ToList();
            var expected = ExpectedVersion.After(snapshot.Version);
            var envelopes = HashChain.Link(streamId, snapshot.Version, snapshot.LastHash, proposed, endorsement: null);
            var endorsed = await endorsement.EndorseAsync(
                new TransactionProposal(streamId, expected, snapshot.LastHash, command, context, at, envelopes), ct);

            AppendResult appended;
            try
            {
                appended = await store.AppendAsync(streamId, expected, proposed, endorsed, ct);
            }
            catch (WrongExpectedVersionException e) when (e.ActualLastVersion == snapshot.Version)
            {
                // The stream did not move, so what conflicts is an event id: this command id was applied before.
                throw RejectedException.Conflict("command-already-applied",
                    "This command id (Idempotency-Key) was already applied; it is recorded once.");
            }
            catch (WrongExpectedVersionException) when (attempt < MaxAttempts)
            {
                log.LogDebug("Concurrent write on {StreamId}, deciding again (attempt {Attempt})", streamId, attempt);
                // Jittered, growing back-off spreads the contenders out instead of colliding again.
                await Task.Delay(Random.Shared.Next(0, Math.Min(50, 1 << attempt)), ct);
                continue;
            }
            catch (WrongExpectedVersionException e)
            {
                throw new ConcurrencyConflictException(streamId, MaxAttempts, e);
            }

            var state = events.Aggregate(snapshot.State, TDecider.Evolve);
            cache.Put(streamId, new StreamSnapshot<TState>(state, appended.LastVersion, appended.TransactionHash));
            var endorsers = endorsed?.Signatures.Select(s => s.HospitalId).ToList() ?? [];
            return new(new Receipt(appended.Events.Select(e => e.EventId).ToList(), appended.LastVersion,
                Convert.ToHexStringLower(appended.TransactionHash), endorsers), events);
        }
    }

    /// <summary>The stream's state now: the cached snapshot extended by whatever was appended since.</summary>
    public async Task<StreamSnapshot<TState>> LoadAsync<TDecider, TState, TCommand, TEvent>(string streamId, CancellationToken ct)
        where TDecider : IDecider<TState, TCommand, TEvent>
        where TEvent : IEvent
    {
        var snapshot = cache.TryGet<TState>(streamId) ?? new StreamSnapshot<TState>(TDecider.Initial, -1, HashChain.Genesis);
        var (state, version, hash) = (snapshot.State, snapshot.Version, snapshot.LastHash);
        await foreach (var e in store.ReadStreamAsync(streamId, version + 1, ct))
        {
            state = TDecider.Evolve(state, (TEvent)serializer.Deserialize(e.Type, e.Data));
            (version, hash) = (e.Version, e.Hash);
        }
        if (version == snapshot.Version) return snapshot;
        var loaded = new StreamSnapshot<TState>(state, version, hash);
        cache.Put(streamId, loaded);
        return loaded;
    }
}

public sealed class ConcurrencyConflictException(string streamId, int attempts, Exception inner)
    : Exception($"Stream {streamId} kept changing; gave up after {attempts} attempts.", inner)
{
    public string StreamId { get; } = streamId;
}
