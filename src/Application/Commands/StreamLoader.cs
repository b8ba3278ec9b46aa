using HealthEvents.Application.Ports;
using HealthEvents.Application.Ledger;
using HealthEvents.Application.Serialization;
using HealthEvents.Domain.Common;

namespace HealthEvents.Application.Commands;

/// <summary>Folds a stream into its decision state, reading only what the cache has not seen yet.</summary>
public sealed class StreamLoader(IEventStore store, EventSerializer serializer, StreamStateCache cache)
{
    /// <summary>
    /// The stream's state now: the cached snapshot extended by whatever was appended since. With
    /// <paramref name="asOfVersion"/>, a snapshot cached at exactly that version is used as it is: whoever
    /// asks about a stream at a known version (an endorser judging a proposal) needs that state, not a newer
    /// one — if the stream has moved on since, the append at that version fails on its own.
    /// </summary>
    public async Task<StreamSnapshot<TState>> LoadAsync<TDecider, TState, TCommand, TEvent>(string streamId, CancellationToken ct, long? asOfVersion = null)
        where TDecider : IDecider<TState, TCommand, TEvent>
        where TEvent : IEvent
    {
        var cached = cache.TryGet<TState>(streamId);
        if (cached is not null && cached.Version == asOfVersion) return cached;
        var snapshot = cached ?? new StreamSnapshot<TState>(TDecider.Initial, -1, HashChain.Genesis);
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
