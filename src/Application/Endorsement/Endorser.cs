using System.Text.Json;
using HealthEvents.Application.Commands;
using HealthEvents.Application.EventStore;
using HealthEvents.Application.Network;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Network;

namespace HealthEvents.Application.Endorsement;

/// <summary>A hospital's private key for one use, held by that hospital's node only.</summary>
public interface IHospitalSigner
{
    string HospitalId { get; }
    string KeyId { get; }
    byte[] Sign(byte[] message);
}

/// <summary>
/// One hospital's endorser. It trusts nothing in the proposal but the command: it authenticates the
/// submitting member, loads the stream itself, re-runs the decision and signs the transaction hash
/// only when it gets byte-identical envelopes at the same place in the chain.
/// </summary>
public sealed class Endorser(StreamDeciders deciders, NetworkDirectory directory)
{
    public async Task<EndorsementReply> EndorseAsync(EndorsementRequest request, IHospitalSigner signer, CancellationToken ct)
    {
        var hospital = signer.HospitalId;
        if (await AuthenticateAsync(request, ct) is { } refusal) return EndorsementReply.Refused(hospital, refusal);

        object command;
        try
        {
            command = CommandCodec.Decode(request.CommandType, request.Command);
        }
        catch (JsonException)
        {
            return EndorsementReply.Refused(hospital, "the command could not be read");
        }

        Reexecution mine;
        try
        {
            var context = new CommandContext(request.Actor, request.CommandId, request.CorrelationId);
            mine = await deciders.DecideAsync(request.StreamId, command, request.At, context, request.ExpectedVersion, ct);
        }
        catch (RejectedException e)
        {
            return EndorsementReply.Refused(hospital, $"re-execution rejects the command ({e.Rejection.Code})");
        }
        catch (ArgumentException)
        {
            return EndorsementReply.Refused(hospital, "the command does not belong to the stream");
        }

        if (mine.LastVersion != request.ExpectedVersion)
            return EndorsementReply.Refused(hospital,
                $"stale proposal: the stream is at version {mine.LastVersion}, the proposal expects {request.ExpectedVersion}",
                stale: mine.LastVersion > request.ExpectedVersion);
        if (!mine.LastHash.AsSpan().SequenceEqual(request.PrevHash))
            return EndorsementReply.Refused(hospital, "the proposal's prevHash is not the stream's last hash");
        if (Difference(mine.Envelopes, request.Events) is { } difference)
            return EndorsementReply.Refused(hospital, difference);
        if (!mine.Envelopes[^1].Hash.AsSpan().SequenceEqual(request.TransactionHash))
            return EndorsementReply.Refused(hospital, "the transaction hash does not match the re-executed events");

        return new(hospital, new EndorsementSignature(hospital, signer.KeyId, signer.Sign(request.TransactionHash)), null);
    }

    /// <summary>The submitter must be a member and must have signed this transaction hash with its current identity key.</summary>
    private async Task<string?> AuthenticateAsync(EndorsementRequest request, CancellationToken ct)
    {
        var network = directory.Current;
        if (!network.IsMember(request.Submitter)) network = await directory.RefreshAsync(ct);
        if (!network.IsMember(request.Submitter)) return "the submitter is not a member of the network";
        if (network.KeyAt(request.Submitter, KeyUse.Identity, DateTimeOffset.UtcNow) is not { } key
            || !EndorsementSignatures.Verify(key.PublicKey, request.TransactionHash, request.SubmitterSignature))
            return "the submitter's signature does not verify";
        if (!network.IsMember(request.Actor.Hospital)) return "the actor's hospital is not a member of the network";
        return null;
    }

    private static string? Difference(IReadOnlyList<EventEnvelope> mine, IReadOnlyList<ProposedEvent> theirs)
    {
        if (mine.Count == 0) return "re-execution produces no events";
        if (mine.Count != theirs.Count) return $"re-execution produces {mine.Count} events, the proposal {theirs.Count}";
        for (var i = 0; i < mine.Count; i++)
        {
            var (m, t) = (mine[i], theirs[i]);
            if (m.EventId != t.EventId || m.Type != t.Type) return $"event {i} differs in id or type from re-execution";
            if (!m.Data.AsSpan().SequenceEqual(t.Data)) return $"event {i} differs in its data from re-execution";
            if (!m.Metadata.AsSpan().SequenceEqual(t.Metadata)) return $"event {i} differs in its metadata from re-execution";
        }
        return null;
    }
}
