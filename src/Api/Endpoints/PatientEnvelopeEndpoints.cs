using System.Text.Json;
using HealthEvents.Api.Auth;
using HealthEvents.Api.Errors;
using HealthEvents.Application.Endorsement;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Network;
using HealthEvents.Application.Patients;
using HealthEvents.Projections.Ledger;
using Microsoft.AspNetCore.Http.HttpResults;

namespace HealthEvents.Api.Endpoints;

/// <summary>
/// GET /patients/{id}/envelopes: the patient's stream as stored — each event's data, metadata, prevHash and hash
/// (the exact bytes the hash chain covers, base64) and its endorsement — with the network stream stored the same way,
/// so the patient's own browser can recompute both chains, rebuild the members, keys and policies from the network's
/// own endorsed events and check every signature without trusting this server's word or verdict.
/// Same authorization as /verification: the patient only.
/// </summary>
public static class PatientEnvelopeEndpoints
{
    /// <param name="Endorsement">The transaction's endorsement as JSON (web naming, byte arrays base64), itself base64. It is
    /// outside the hash chain, so it is given as the store holds it after reading; its signatures are what protect it.</param>
    public sealed record EnvelopeView(Guid EventId, string StreamId, long Version, string Type, string Data, string Metadata, string PrevHash, string Hash, string? Endorsement);

    /// <param name="Head">The latest signed tree head as the ledger stream stores it (its data is {treeSize, rootHash, at}); the
    /// browser checks its hash and endorsement like any event's, then trusts its root.</param>
    /// <param name="ProvenEventId">The patient's latest event the head covers, whether or not the stream still holds it (a
    /// stream cut short behind the store's back then shows as the version it lacks); null when the head covers none.</param>
    /// <param name="ProvenVersion">That event's version.</param>
    /// <param name="Inclusion">RFC 9162 inclusion proof, under that head, of that event; the chain carries the proof back to
    /// version 0. Events after it wait for the next head.</param>
    public sealed record LedgerView(EnvelopeView Head, Guid? ProvenEventId, long? ProvenVersion, InclusionProofView? Inclusion);

    /// <param name="Version">A ledgered event of the patient's stream.</param>
    /// <param name="HeadEventId">The latest tree head the global log stored before it (one of <see cref="DatingView.Heads"/>).</param>
    /// <param name="WindowEventIds">That head and the heads just before it in the ledger stream (up to
    /// <c>StoredAfterQuery.BackdateWindow</c> more, each one of <see cref="DatingView.Heads"/>): the event is dated by the
    /// latest time among those that check, and among those of the stream's earlier versions (stored before it too).</param>
    public sealed record HeadBeforeView(long Version, Guid HeadEventId, IReadOnlyList<Guid> WindowEventIds);

    /// <summary>
    /// What dates each transaction by the global log (docs/architecture.md, "Verification", point 5): the browser checks each
    /// head's hash and endorsement as any event's, and names a transaction stamped more than the tolerance before the latest
    /// time among the heads dating its last event (<see cref="HeadBeforeView.WindowEventIds"/>, and its earlier versions')
    /// <c>backdated</c>, as GET /verification and <c>verify</c> do.
    /// </summary>
    /// <param name="ToleranceSeconds">The tolerance this node's verifiers use (Endorsement:BackdateToleranceSeconds; default
    /// 2 × Endorsement:MaxClockSkewSeconds + 60).</param>
    /// <param name="Heads">The tree heads named in <paramref name="Before"/>, each once, as the ledger stream stores them.</param>
    /// <param name="Before">For each event of the patient's the ledger took in after a head, that latest head, in version order.</param>
    public sealed record DatingView(double ToleranceSeconds, IReadOnlyList<EnvelopeView> Heads, IReadOnlyList<HeadBeforeView> Before);

    /// <param name="Network">The network stream's events, stored bytes as for the patient's: the browser verifies them and
    /// folds its own key history and policy timeline from them (wwwroot/js/network.js).</param>
    public sealed record EnvelopesView(
        string StreamId, IReadOnlyList<EnvelopeView> Events, IReadOnlyList<EnvelopeView> Network, LedgerView? Ledger, DatingView Dating);

    public static RouteGroupBuilder MapPatientEnvelopes(this RouteGroupBuilder patients)
    {
        patients.MapGet("/{id:guid}/envelopes", Envelopes);
        return patients;
    }

    public static async Task<Results<Ok<EnvelopesView>, ProblemHttpResult>> Envelopes(
        Guid id, HttpContext http, IEventStore store, LedgerQuery ledger, StoredAfterQuery dates, EndorsementOptions endorsement,
        HealthEvents.Application.Network.NetworkDirectory directory, CancellationToken ct)
    {
        if (!http.Actor().IsPatient(id))
            return TypedResults.Problem(ProblemExceptionHandler.Problem(StatusCodes.Status403Forbidden, "Forbidden",
                "Only the patient reads their own stream's envelopes.", "forbidden"));
        var streamId = PatientStream.StreamId(id);
        var stored = new List<EventEnvelope>();
        await foreach (var e in store.ReadStreamAsync(streamId, 0, ct)) stored.Add(e);
        var events = stored.Select(View).ToList();

        var network = new List<EnvelopeView>();
        await foreach (var e in store.ReadStreamAsync(NetworkStream.StreamId, 0, ct)) network.Add(View(e));
        return TypedResults.Ok(new EnvelopesView(streamId, events, network, await LedgerAsync(store, ledger, streamId, ct),
            await DatingAsync(dates, endorsement, await directory.CheckerAsync(HealthEvents.Application.Endorsement.Endorser.NetworkViewMaxAge, ct), streamId, stored, ct)));
    }

    private static async Task<DatingView> DatingAsync(
        StoredAfterQuery dates, EndorsementOptions endorsement, HealthEvents.Application.Ledger.IEndorsementChecker checker, string streamId, IReadOnlyList<EventEnvelope> stored,
        CancellationToken ct)
    {
        var windows = await dates.WindowsAsync(streamId, stored, checker, ct);
        var heads = windows.SelectMany(w => w.Heads).Select(h => h.Head).DistinctBy(h => h.EventId).Select(View).ToList();
        return new DatingView(endorsement.BackdateTolerance.TotalSeconds, heads,
            [.. windows.Select(w => new HeadBeforeView(w.Version, w.Heads[0].Head.EventId, [.. w.Heads.Select(h => h.Head.EventId)]))]);
    }

    private static async Task<LedgerView?> LedgerAsync(IEventStore store, LedgerQuery ledger, string streamId, CancellationToken ct)
    {
        if (await ledger.LatestAsync(ct) is not { } latest) return null;
        EnvelopeView? head = null;
        await foreach (var e in store.ReadStreamAsync(HealthEvents.Application.Ledger.LedgerStream.StreamId, latest.StreamVersion, ct))
        {
            head = View(e);
            break;
        }
        if (head is null) return null;
        // The last of the patient's events the head covers proves the whole prefix through the chain: found in one query.
        // Offered even when the stream no longer holds it, so that the browser names the version that is gone.
        if (await ledger.LastCoveredAsync(streamId, latest.TreeSize, ct) is { } covered
            && (await ledger.InclusionAsync(covered.EventId, latest.TreeSize, ct)).Proof is { } proof)
            return new LedgerView(head, covered.EventId, covered.Version, proof);
        return new LedgerView(head, null, null, null);
    }

    private static EnvelopeView View(EventEnvelope e) =>
        new(e.EventId, e.StreamId, e.Version, e.Type, Convert.ToBase64String(e.Data), Convert.ToBase64String(e.Metadata),
            Convert.ToBase64String(e.PrevHash), Convert.ToBase64String(e.Hash),
            e.Endorsement is null ? null : Convert.ToBase64String(e.Endorsement.ToJson()));
}
