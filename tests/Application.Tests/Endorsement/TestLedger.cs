using System.Security.Cryptography;
using HealthEvents.Application.Endorsement;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Ledger;
using HealthEvents.Application.Network;
using HealthEvents.Application.Serialization;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Network;
using HealthEvents.Domain.Patients;
using HealthEvents.Infrastructure.Identity;

namespace HealthEvents.Application.Tests.Endorsement;

/// <summary>A transaction linked onto its stream, not yet endorsed: what endorsers would be asked to sign.</summary>
internal sealed record PreparedTransaction(string StreamId, long LastVersion, IReadOnlyList<ProposedEvent> Proposed, IReadOnlyList<EventEnvelope> Linked)
{
    public long FirstVersion => Linked[0].Version;
    public byte[] Hash => Linked[^1].Hash;
}

/// <summary>
/// Builds a small network ledger with real keys and real signatures, the way nodes would: the genesis joins
/// three hospitals in one transaction (actor "genesis", unendorsed), then patient and network transactions endorsed by whichever
/// hospitals a test names. Kept in memory (<see cref="Events"/>) and replayable into a real store.
/// </summary>
internal sealed class TestLedger : IDisposable
{
    public const string Lakeside = "lakeside";
    public const string Northside = "northside";
    public const string Riverside = "riverside";
    public static readonly string[] Hospitals = [Lakeside, Northside, Riverside];
    public static readonly DateTimeOffset T0 = new(2025, 1, 1, 8, 0, 0, TimeSpan.Zero);

    private readonly Dictionary<string, ECDsa> _keys = new(StringComparer.Ordinal);
    private readonly List<ECDsa> _retired = [];
    private readonly Dictionary<string, List<EventEnvelope>> _streams = new(StringComparer.Ordinal);
    private readonly List<(PreparedTransaction Transaction, TransactionEndorsement? Endorsement)> _log = [];

    public TestLedger()
    {
        var joined = new List<IEvent>();
        foreach (var hospital in Hospitals)
        {
            var key = _keys[hospital] = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            using var identity = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            joined.Add(new HospitalJoined(hospital, $"{hospital} hospital", $"http://{hospital}.test/endorse",
                PublicKeys.KeyId(key), PublicKeys.Export(key), PublicKeys.KeyId(identity), PublicKeys.Export(identity)));
        }
        // The founding: one transaction, the network stream's first, the only one unendorsed.
        Unendorsed(NetworkStream.StreamId, T0, "genesis", [.. joined]);
    }

    public static EventSerializer Serializer => EventSerializer.Default;

    public IReadOnlyList<EventEnvelope> Stream(string streamId) => _streams.TryGetValue(streamId, out var events) ? events : [];

    public IReadOnlyList<EventEnvelope> Network => Stream(NetworkStream.StreamId);

    public NetworkHistory History => NetworkHistory.From(Network, Serializer);

    public EndorsementChecker Checker() => new(History, Serializer);

    public ECDsa KeyOf(string hospital) => _keys[hospital];

    // ------------------------------------------------------------------ building

    public PreparedTransaction Prepare(string streamId, DateTimeOffset at, string actor, params IEvent[] events)
    {
        var stream = _streams.GetValueOrDefault(streamId) ?? [];
        var metadata = new EventMetadata(actor, Role.Admin, Lakeside, Guid.NewGuid(), Guid.NewGuid(), at).ToBytes();
        var proposed = events.Select(e => new ProposedEvent(Guid.NewGuid(), Serializer.NameOf(e), Serializer.Serialize(e), metadata)).ToList();
        var lastVersion = stream.Count - 1;
        var prevHash = stream.Count == 0 ? HashChain.Genesis : stream[^1].Hash;
        return new PreparedTransaction(streamId, lastVersion, proposed, HashChain.Link(streamId, lastVersion, prevHash, proposed, null));
    }

    public IReadOnlyList<EventEnvelope> Commit(PreparedTransaction transaction, TransactionEndorsement? endorsement)
    {
        var stream = _streams.TryGetValue(transaction.StreamId, out var existing) ? existing : _streams[transaction.StreamId] = [];
        if (stream.Count - 1 != transaction.LastVersion) throw new InvalidOperationException("The stream moved since the transaction was prepared.");
        var linked = transaction.Linked.Select(e => e with { Endorsement = endorsement }).ToList();
        stream.AddRange(linked);
        _log.Add((transaction, endorsement));
        return linked;
    }

    /// <summary>A transaction endorsed (batch of one) by the named hospitals with their current keys.</summary>
    public IReadOnlyList<EventEnvelope> Endorsed(string streamId, DateTimeOffset at, string[] signers, params IEvent[] events)
    {
        var transaction = Prepare(streamId, at, "admin-" + Lakeside, events);
        return Commit(transaction, EndorsementSignatures.BatchOfOne(transaction.FirstVersion, transaction.Linked.Count, transaction.Hash,
            [.. signers.Select(h => Sign(h, transaction.Hash))]));
    }

    public IReadOnlyList<EventEnvelope> Unendorsed(string streamId, DateTimeOffset at, string actor, params IEvent[] events) =>
        Commit(Prepare(streamId, at, actor, events), null);

    public EndorsementSignature Sign(string hospital, byte[] root, ECDsa? key = null)
    {
        key ??= _keys[hospital];
        return new EndorsementSignature(hospital, PublicKeys.KeyId(key), EndorsementSignatures.Sign(key, root));
    }

    /// <summary>Registers a patient: version 0 of the stream names the home hospital.</summary>
    public string Patient(string home, DateTimeOffset at, params string[] signers)
    {
        var id = Guid.NewGuid();
        var streamId = "patient-" + id;
        Endorsed(streamId, at, signers, new PatientRegistered(id, home, 1970, Sex.Female, "djE6c2VhbGVk"));
        return streamId;
    }

    public static IEvent Corrected(int birthYear = 1971) => new PatientDetailsCorrected(birthYear, Sex.Female, "djE6c2VhbGVk");

    /// <summary>Rotates a hospital's endorsement key, effective from <paramref name="effectiveFrom"/>, in an endorsed network transaction.</summary>
    public ECDsa Rotate(string hospital, DateTimeOffset at, DateTimeOffset effectiveFrom, string[] signers)
    {
        var next = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        Endorsed(NetworkStream.StreamId, at, signers,
            new HospitalKeyRotated(hospital, KeyUse.Endorsement, PublicKeys.KeyId(next), PublicKeys.Export(next), effectiveFrom));
        _retired.Add(_keys[hospital]);
        _keys[hospital] = next;
        return next;
    }

    /// <summary>Every transaction appended, in order, into a real store (which recomputes the same hashes).</summary>
    public async Task WriteToAsync(IEventStore store)
    {
        foreach (var (transaction, endorsement) in _log)
            await store.AppendAsync(transaction.StreamId, ExpectedVersion.After(transaction.LastVersion), transaction.Proposed, endorsement);
    }

    public static Task<VerificationReport> VerifyAsync(IEnumerable<EventEnvelope> stream, EndorsementChecker checker) =>
        StreamVerifier.VerifyAsync(stream, new StreamVerifierOptions { EndorsementChecker = checker });

    public void Dispose()
    {
        foreach (var key in _keys.Values.Concat(_retired)) key.Dispose();
    }
}
