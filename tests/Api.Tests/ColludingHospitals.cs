using HealthEvents.Application.Endorsement;
using HealthEvents.Application.Ledger;
using HealthEvents.Application.Network;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;
using HealthEvents.Domain.Common;
using HealthEvents.Infrastructure.Identity;
using Microsoft.Extensions.DependencyInjection;

namespace HealthEvents.Api.Tests;

/// <summary>
/// Hospitals acting together behind the network's back: their endorsement keys (a demo node holds all three, under its
/// data folder) and write access to the service's PostgreSQL. What they write is endorsed and hash-chained, as a
/// transaction of the command path would be; nobody asked the patient, and no endorser re-executed anything.
/// </summary>
public sealed class ColludingHospitals(ServiceHost host, params string[] hospitals)
{
    private readonly HospitalKeyring _keyring = new(Path.Combine(host.DataFolder, "keys"));

    private IEventStore Store => host.Services.GetRequiredService<IEventStore>();

    /// <summary>The time their appends claim (metadata OccurredAt), which whoever writes an event chooses; null: now.</summary>
    public DateTimeOffset? OccurredAt { get; init; }

    /// <summary>Endorsement keys they sign with instead of the keyring's current ones: a hospital's retired key, stolen.</summary>
    public IReadOnlyDictionary<string, System.Security.Cryptography.ECDsa> Keys { get; init; } = new Dictionary<string, System.Security.Cryptography.ECDsa>();

    /// <summary>Appends <paramref name="events"/> as one transaction at the end of <paramref name="streamId"/>, endorsed by these hospitals; returns its first version.</summary>
    public Task<long> AppendAsync(string streamId, params IEvent[] events) => AppendAsync(streamId, [], events);

    /// <summary>
    /// As <see cref="AppendAsync(string, IEvent[])"/>, the endorsement signed also by <paramref name="outsiders"/> with keys of
    /// their own (hospitals that hold no key in this node's keyring, such as a member forged into the network).
    /// </summary>
    public async Task<long> AppendAsync(string streamId, IReadOnlyList<(string HospitalId, System.Security.Cryptography.ECDsa Key)> outsiders, params IEvent[] events)
    {
        var last = await Store.ReadLastAsync(streamId) ?? throw new InvalidOperationException($"{streamId} is empty.");
        var serializer = EventSerializer.Default;
        var metadata = new EventMetadata($"{hospitals[0]}-admin", Role.Admin, hospitals[0], Guid.NewGuid(), Guid.NewGuid(), OccurredAt ?? DateTimeOffset.UtcNow).ToBytes();
        var proposed = events.Select(e => new ProposedEvent(Guid.NewGuid(), serializer.NameOf(e), serializer.Serialize(e), metadata)).ToList();
        var linked = HashChain.Link(streamId, last.Version, last.Hash, proposed, null);
        var endorsement = Endorse(linked[0].Version, linked.Count, linked[^1].Hash, hospitals);
        endorsement = endorsement with
        {
            Signatures = [.. endorsement.Signatures, .. outsiders.Select(o =>
                new EndorsementSignature(o.HospitalId, PublicKeys.KeyId(o.Key), EndorsementSignatures.Sign(o.Key, linked[^1].Hash)))],
        };
        await Store.AppendAsync(streamId, ExpectedVersion.Exactly(last.Version), proposed, endorsement);
        return linked[0].Version;
    }

    /// <summary>
    /// Joins <paramref name="hospitalId"/>, with <paramref name="key"/> as both its endorsement and identity key, to the
    /// network straight into the store, past endorsement: linked to the stream's end, metadata copied from the founding
    /// (so it would have been a member since then), no endorsement. Returns its version.
    /// </summary>
    public async Task<long> ForgeMemberAsync(string hospitalId, System.Security.Cryptography.ECDsa key)
    {
        var serializer = EventSerializer.Default;
        var founding = await Store.ReadStreamAsync(NetworkStream.StreamId).FirstAsync();
        var end = (await Store.ReadLastAsync(NetworkStream.StreamId))!.Version;
        var (keyId, publicKey) = (PublicKeys.KeyId(key), PublicKeys.Export(key));
        var joined = new Domain.Network.HospitalJoined(hospitalId, $"{hospitalId} General", "http://127.0.0.1:9/", keyId, publicKey, keyId, publicKey);
        await Store.AppendAsync(NetworkStream.StreamId, ExpectedVersion.Exactly(end),
            [new ProposedEvent(Guid.NewGuid(), serializer.NameOf(joined), serializer.Serialize(joined), founding.Metadata)]);
        return end + 1;
    }

    /// <summary>
    /// Rewrites the network's founding (version 0) with <paramref name="rewrite"/> of its data, then the whole network
    /// stream after it: every link and hash recomputed, every endorsed transaction signed again by the hospitals that
    /// signed it — a self-consistent chain in which every hash, link, signature and policy holds. Straight in SQL.
    /// Disposing the answer puts the stored rows back as they were.
    /// </summary>
    public async Task<IAsyncDisposable> RewriteNetworkFoundingAsync(Func<byte[], byte[]> rewrite)
    {
        var saved = "saved_network_" + Guid.NewGuid().ToString("N");
        await host.ExecuteSqlAsync($"CREATE TABLE {saved} AS SELECT version, data, prev_hash, hash, endorsement FROM he_events WHERE stream_id = 'network'");
        var network = new List<EventEnvelope>();
        await foreach (var e in Store.ReadStreamAsync(NetworkStream.StreamId)) network.Add(e);
        var forged = new List<EventEnvelope>();
        var prevHash = HashChain.Genesis;
        foreach (var e in network)
        {
            var data = e.Version == 0 ? rewrite(e.Data) : e.Data;
            var hash = HashChain.ComputeHash(prevHash, e.StreamId, e.Version, e.EventId, e.Type, data, e.Metadata);
            forged.Add(e with { Data = data, PrevHash = prevHash, Hash = hash });
            prevHash = hash;
        }
        await using var connection = new Npgsql.NpgsqlConnection(host.ConnectionString);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        foreach (var e in forged)
        {
            var endorsement = e.Endorsement is { } original
                ? Endorse(original.FirstVersion, original.EventCount, forged[(int)(original.FirstVersion + original.EventCount - 1)].Hash,
                    [.. (original.Signatures ?? []).Select(s => s.HospitalId)])
                : null;
            await using var update = new Npgsql.NpgsqlCommand(
                "UPDATE he_events SET data = $1, prev_hash = $2, hash = $3, endorsement = $4 WHERE stream_id = 'network' AND version = $5",
                connection, transaction);
            update.Parameters.Add(new() { Value = e.Data });
            update.Parameters.Add(new() { Value = e.PrevHash });
            update.Parameters.Add(new() { Value = e.Hash });
            update.Parameters.Add(new() { Value = (object?)endorsement?.ToJson() ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Bytea });
            update.Parameters.Add(new() { Value = e.Version });
            Assert.Equal(1, await update.ExecuteNonQueryAsync());
        }
        await transaction.CommitAsync();
        return new Restore(host, saved);
    }

    private sealed class Restore(ServiceHost host, string saved) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await host.ExecuteSqlAsync(
            $"UPDATE he_events e SET data = s.data, prev_hash = s.prev_hash, hash = s.hash, endorsement = s.endorsement FROM {saved} s " +
            $"WHERE e.stream_id = 'network' AND e.version = s.version; DROP TABLE {saved}");
    }

    /// <summary>Their endorsement of a transaction of <paramref name="count"/> events from <paramref name="firstVersion"/>, ending in <paramref name="hash"/>.</summary>
    public TransactionEndorsement Endorse(long firstVersion, int count, byte[] hash) => Endorse(firstVersion, count, hash, hospitals);

    private TransactionEndorsement Endorse(long firstVersion, int count, byte[] hash, IEnumerable<string> signers) =>
        EndorsementSignatures.BatchOfOne(firstVersion, count, hash, [.. signers.Select(h =>
        {
            if (Keys.TryGetValue(h, out var stolen))
                return new EndorsementSignature(h, PublicKeys.KeyId(stolen), EndorsementSignatures.Sign(stolen, hash));
            using var key = _keyring.Get(h, HospitalKeyUse.Endorsement);
            return new EndorsementSignature(h, PublicKeys.KeyId(key), EndorsementSignatures.Sign(key, hash));
        })]);
}
