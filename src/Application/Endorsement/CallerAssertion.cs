using System.Buffers.Binary;
using System.Text;
using HealthEvents.Application.Commands;
using HealthEvents.Application.Ledger;
using HealthEvents.Application.Ports;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Network;

namespace HealthEvents.Application.Endorsement;

/// <summary>
/// The caller's own credential as it travels with a proposal: who acts (subject, role, hospital, patient id) and
/// when their credential is valid, signed with the identity key of the caller's hospital — the key that issued the
/// caller's bearer token — and bound to this very command (stream, command id, transaction hash). Unlike the bearer
/// token, which a peer could replay for any command, an assertion is good for one transaction only, and only the
/// node holding that hospital's identity key can make one. Every endorser checks it for itself (<see cref="Problem"/>).
/// <para>
/// Signed message (ECDSA P-256, SHA-256, IEEE P1363), each field as a 4-byte big-endian length and its bytes, after
/// the ASCII tag <c>healthevents/caller/v1</c>: streamId (UTF-8), commandId (16 bytes, RFC 4122 order), transaction
/// hash (32 bytes), actor id, role (kebab-case), hospital (UTF-8), patient id (16 bytes, or empty), not-before and
/// expiry (8-byte big-endian Unix seconds).
/// </para>
/// <para>
/// Batched (<see cref="Batch"/> set): the assertions one hospital key makes for a batch of proposals share one
/// signature, over the ASCII tag <c>healthevents/caller-batch/v1</c> followed by the 32-byte RFC 9162 Merkle root whose
/// leaves are those assertions' messages (above) in batch order. Each assertion carries the root, its leaf index, the
/// tree size and its inclusion path, so it is still checked on its own: its message is rebuilt from the request it
/// travels with and proven to be a leaf of the signed root. The tag keeps the two signed forms apart from each other
/// and from the submitter's signatures, which the same identity key makes over bare 32-byte hashes.
/// </para>
/// </summary>
public sealed record CallerAssertion(
    Actor Actor, DateTimeOffset NotBefore, DateTimeOffset Expires, string KeyId, byte[] Signature, CallerBatchProof? Batch = null)
{
    private static readonly byte[] Tag = "healthevents/caller/v1"u8.ToArray();
    private static readonly byte[] BatchTag = "healthevents/caller-batch/v1"u8.ToArray();

    /// <summary>The credential period an assertion states for a proposal: the caller's token's, else issued at the command's time.</summary>
    public static CredentialPeriod PeriodOf(Ports.TransactionProposal p) => p.Context.Credential ?? CredentialPeriod.IssuedAt(p.At);

    /// <summary>
    /// The assertions for <paramref name="proposals"/>, in order, each signed by its caller's hospital key
    /// (<paramref name="identities"/>[i], of the proposal's actor's hospital): one signature per key over the Merkle root of
    /// that key's assertions (<see cref="Batch"/>), a lone assertion signed on its own as <see cref="Sign"/> does.
    /// </summary>
    public static IReadOnlyList<CallerAssertion> SignAll(IReadOnlyList<Ports.TransactionProposal> proposals, IReadOnlyList<IHospitalSigner> identities)
    {
        ArgumentOutOfRangeException.ThrowIfNotEqual(identities.Count, proposals.Count, nameof(identities));
        var assertions = new CallerAssertion[proposals.Count];
        foreach (var group in Enumerable.Range(0, proposals.Count).GroupBy(i => (identities[i].HospitalId, identities[i].KeyId)))
        {
            var members = group.ToList();
            var identity = identities[members[0]];
            if (members.Count == 1)
            {
                var p = proposals[members[0]];
                assertions[members[0]] = Sign(p.StreamId, p.Context.CommandId, p.TransactionHash, p.Context.Actor, PeriodOf(p), identity);
                continue;
            }
            var unsigned = members.Select(i => Unsigned(proposals[i], identity)).ToList();
            var messages = unsigned.Select(u => u.Message).ToList();
            var root = MerkleTree.Root(messages);
            var signature = identity.Sign([.. BatchTag, .. root]);
            for (var leaf = 0; leaf < members.Count; leaf++)
            {
                var (actor, from, until, _) = unsigned[leaf];
                assertions[members[leaf]] = new(actor, from, until, identity.KeyId, signature,
                    new CallerBatchProof(root, leaf, members.Count, MerkleTree.InclusionPath(leaf, messages)));
            }
        }
        return assertions;
    }

    private static (Actor Actor, DateTimeOffset From, DateTimeOffset Until, byte[] Message) Unsigned(Ports.TransactionProposal p, IHospitalSigner identity)
    {
        var actor = p.Context.Actor;
        if (!string.Equals(identity.HospitalId, actor.Hospital, StringComparison.Ordinal))
            throw new ArgumentException("An assertion is signed by the caller's own hospital.", nameof(identity));
        var period = PeriodOf(p);
        var (from, until) = (Seconds(period.NotBefore), Seconds(period.Expires));
        return (actor, from, until, Message(p.StreamId, p.Context.CommandId, p.TransactionHash, actor, from, until));
    }

    /// <summary>Signs the assertion for a command with the caller's hospital identity key (<paramref name="identity"/>, of <c>actor.Hospital</c>).</summary>
    public static CallerAssertion Sign(string streamId, Guid commandId, byte[] transactionHash, Actor actor, CredentialPeriod period, IHospitalSigner identity)
    {
        if (!string.Equals(identity.HospitalId, actor.Hospital, StringComparison.Ordinal))
            throw new ArgumentException("An assertion is signed by the caller's own hospital.", nameof(identity));
        var (from, until) = (Seconds(period.NotBefore), Seconds(period.Expires));
        return new(actor, from, until, identity.KeyId, identity.Sign(Message(streamId, commandId, transactionHash, actor, from, until)));
    }

    /// <summary>
    /// Why an endorser must not accept this assertion for <paramref name="request"/>, or null: it names the proposal's
    /// actor, is signed by that hospital's identity key valid at the command's time, covers that time, and is valid for
    /// no longer than <paramref name="maxLifetime"/>.
    /// </summary>
    /// <param name="verified">Signatures already verified in this batch: a batch signature shared by many assertions is verified once.</param>
    public string? Problem(EndorsementRequest request, NetworkState network, TimeSpan maxLifetime, VerifiedSignatures? verified = null)
    {
        if (Actor != request.Actor)
            return "the caller's credential names another subject, role, hospital or patient than the command's actor";
        if (network.KeyAt(Actor.Hospital, KeyUse.Identity, request.At) is not { } key || key.KeyId != KeyId
            || Signature is null
            || !SignedBy(key.PublicKey, Message(request.StreamId, request.CommandId, request.TransactionHash, Actor, NotBefore, Expires), verified))
            return $"the caller's credential is not signed by the identity key of {Actor.Hospital} for this command";
        if (request.At < NotBefore || request.At > Expires)
            return "the caller's credential was not valid at the command's time";
        if (Expires - NotBefore > maxLifetime)
            return $"the caller's credential is valid for longer than {maxLifetime.TotalHours:0.#} h";
        return null;
    }

    /// <summary>Whether this assertion's signature covers <paramref name="message"/>: directly, or through its batch's signed root.</summary>
    private bool SignedBy(string publicKey, byte[] message, VerifiedSignatures? verified)
    {
        if (Batch is null) return EndorsementSignatures.Verify(publicKey, message, Signature);
        if (Batch.Root is not { Length: HashChain.HashSize } root
            || !MerkleTree.VerifyInclusion(message, Batch.LeafIndex, Batch.TreeSize, Batch.InclusionPath ?? [], root))
            return false;
        byte[] signed = [.. BatchTag, .. root];
        return verified?.Verify(publicKey, signed, Signature) ?? EndorsementSignatures.Verify(publicKey, signed, Signature);
    }

    private static DateTimeOffset Seconds(DateTimeOffset t) => DateTimeOffset.FromUnixTimeSeconds(t.ToUnixTimeSeconds());

    private static byte[] Message(string streamId, Guid commandId, byte[] transactionHash, Actor actor, DateTimeOffset from, DateTimeOffset until)
    {
        using var buffer = new MemoryStream();
        buffer.Write(Tag);
        void Field(ReadOnlySpan<byte> bytes)
        {
            Span<byte> length = stackalloc byte[4];
            BinaryPrimitives.WriteInt32BigEndian(length, bytes.Length);
            buffer.Write(length);
            buffer.Write(bytes);
        }
        void Time(DateTimeOffset t)
        {
            Span<byte> seconds = stackalloc byte[8];
            BinaryPrimitives.WriteInt64BigEndian(seconds, t.ToUnixTimeSeconds());
            Field(seconds);
        }
        Field(Encoding.UTF8.GetBytes(streamId));
        Field(commandId.ToByteArray(bigEndian: true));
        Field(transactionHash ?? []);
        Field(Encoding.UTF8.GetBytes(actor.Id));
        Field(Encoding.UTF8.GetBytes(KebabCase.Of(actor.Role)));
        Field(Encoding.UTF8.GetBytes(actor.Hospital));
        Field(actor.PatientId is { } patient ? patient.ToByteArray(bigEndian: true) : []);
        Time(from);
        Time(until);
        return buffer.ToArray();
    }
}

/// <summary>
/// Where a batched <see cref="CallerAssertion"/> sits in the tree its hospital key signed: the RFC 9162 root (32 bytes),
/// its leaf index, the tree size (leaves) and the inclusion path (RFC 9162 section 2.1.3, hashes leaf-side first).
/// </summary>
public sealed record CallerBatchProof(byte[] Root, long LeafIndex, long TreeSize, IReadOnlyList<byte[]> InclusionPath);
