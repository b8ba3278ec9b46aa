namespace HealthEvents.Application.Ports;

/// <summary>An event as the caller proposes it: the bytes are produced once and never re-serialised.</summary>
public sealed record ProposedEvent(Guid EventId, string Type, byte[] Data, byte[] Metadata);

/// <summary>
/// An event as stored: its place in the stream, the hash chain link, and the endorsement of the
/// transaction it belongs to. <see cref="Position"/> is set when read from the global log.
/// </summary>
public sealed record EventEnvelope(
    Guid EventId,
    string StreamId,
    long Version,
    string Type,
    byte[] Data,
    byte[] Metadata,
    byte[] PrevHash,
    byte[] Hash,
    TransactionEndorsement? Endorsement,
    GlobalPosition? Position = null);

/// <summary>
/// Endorsement of one transaction (the events one command appended to one stream), carried by each
/// of its events. Signatures cover <see cref="SignedRoot"/>: the transaction hash itself (a batch of one,
/// empty path) or the RFC 9162 Merkle root of a batch of transaction hashes, with this transaction's
/// leaf index, batch size and inclusion path.
/// </summary>
public sealed record TransactionEndorsement(
    long FirstVersion,
    int EventCount,
    byte[] SignedRoot,
    long LeafIndex,
    long BatchSize,
    IReadOnlyList<byte[]> InclusionPath,
    IReadOnlyList<EndorsementSignature> Signatures);

/// <summary>ECDSA P-256 / SHA-256 signature in IEEE P1363 (r||s) form.</summary>
public sealed record EndorsementSignature(string HospitalId, string KeyId, byte[] Signature);
