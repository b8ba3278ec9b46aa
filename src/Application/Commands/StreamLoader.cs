using HealthEvents.Application.EventStore;
using HealthEvents.Application.Ledger;
using HealthEvents.Application.Serialization;
using HealthEvents.Domain.Common;

namespace HealthEvents.Application.Commands;

/// <summary>Folds a stream into its decision state, reading only what the cache has not seen yet.</summary>
public sealed class StreamLoader(IEventStore store, EventSerializer serializer, StreamStateCache cache)
{
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
