using HealthEvents.Api.Errors;
using HealthEvents.Projections.Ledger;
using Microsoft.AspNetCore.Http.HttpResults;

namespace HealthEvents.Api.Endpoints;

/// <summary>
/// The global ledger (docs/architecture.md, "The ledger"): the latest tree head the hospitals signed, and RFC 9162 proofs
/// under signed heads — that an event is in the tree, and that a later tree extends an earlier one. Hashes are lowercase
/// hex; a leaf is an event's stored hash, hashed into the tree as SHA-256(0x00 || leaf).
/// </summary>
public static class LedgerEndpoints
{
    public static IEndpointRouteBuilder MapLedgerEndpoints(this IEndpointRouteBuilder app)
    {
        var ledger = app.MapGroup("/ledger").WithTags("Ledger").RequireAuthorization();
        ledger.MapGet("/checkpoints/latest", Latest);
        ledger.MapGet("/proofs/inclusion", Inclusion);
        ledger.MapGet("/proofs/consistency", Consistency);
        return app;
    }

    public static async Task<Results<Ok<LedgerCheckpointView>, ProblemHttpResult>> Latest(LedgerQuery ledger, CancellationToken ct) =>
        await ledger.LatestAsync(ct) is { } head
            ? TypedResults.Ok(head)
            : Problem(StatusCodes.Status404NotFound, "No tree head has been signed yet.", "no-tree-head");

    public static async Task<Results<Ok<InclusionProofView>, ProblemHttpResult>> Inclusion(
        Guid eventId, long treeSize, LedgerQuery ledger, CancellationToken ct)
    {
        var (proof, error) = await ledger.InclusionAsync(eventId, treeSize, ct);
        return proof is not null ? TypedResults.Ok(proof) : ProblemFor(error);
    }

    public static async Task<Results<Ok<ConsistencyProofView>, ProblemHttpResult>> Consistency(
        long from, long to, LedgerQuery ledger, CancellationToken ct)
    {
        var (proof, error) = await ledger.ConsistencyAsync(from, to, ct);
        return proof is not null ? TypedResults.Ok(proof) : ProblemFor(error);
    }

    private static ProblemHttpResult ProblemFor(LedgerProofError error) => error switch
    {
        LedgerProofError.UnknownEvent => Problem(StatusCodes.Status404NotFound, "No event with this id is in the ledger (yet).", "event-not-in-ledger"),
        LedgerProofError.TreeSizeNotSigned => Problem(StatusCodes.Status400BadRequest, "No signed tree head has this size.", "tree-size-not-signed"),
        LedgerProofError.EventNotInTree => Problem(StatusCodes.Status400BadRequest, "The event was added after this tree size.", "event-not-in-tree"),
        _ => Problem(StatusCodes.Status400BadRequest, "from must be at least 1 and not above to.", "invalid-range"),
    };

    private static ProblemHttpResult Problem(int status, string detail, string code) =>
        TypedResults.Problem(ProblemExceptionHandler.Problem(status, status == 404 ? "Not found" : "Bad request", detail, code));
}
