using HealthEvents.Application.Ports;

namespace HealthEvents.Application.Ledger;

/// <summary>
/// Verifies one stream as read from a store (docs/architecture.md, "The envelope and the hash chain"):
/// versions contiguous from 0, version 0 linked to the genesis, each prevHash equal to the previous
/// event's stored hash, each stored hash equal to the hash of the stored bytes, and transaction
/// boundaries consistent with the endorsements; then, per transaction, the optional endorsement checker.
/// Pure: it reads what it is given and holds only the previous hash (and, with a checker, the events of
/// the open transaction), so a store of millions of events is verified in constant memory.
/// </summary>
/// <remarks>
/// What a per-stream chain cannot prove: that nothing was cut off its end. Deleting the last
/// transaction leaves a valid shorter chain; the signed ledger checkpoints (docs/architecture.md, "The
/// ledger") exist to catch that. An endorsed transaction cut short inside is caught here.
/// </remarks>
public static class StreamVerifier
{
    public static async Task<VerificationReport> VerifyAsync(
        IAsyncEnumerable<EventEnvelope> events, StreamVerifierOptions? options = null, CancellationToken ct = default)
    {
        options ??= StreamVerifierOptions.Default;
        var state = new StreamVerifierState(options);
        await foreach (var e in events.WithCancellation(ct).ConfigureAwait(false))
        {
            // Not every source honours the token it is given: stop here regardless.
            ct.ThrowIfCancellationRequested();
            if (state.Accept(e) is { } transaction)
                state.AddAll(await options.EndorsementChecker!.CheckAsync(transaction, ct).ConfigureAwait(false));
        }
        return state.Finish();
    }

    public static async Task<VerificationReport> VerifyAsync(
        IEnumerable<EventEnvelope> events, StreamVerifierOptions? options = null, CancellationToken ct = default)
    {
        options ??= StreamVerifierOptions.Default;
        var state = new StreamVerifierState(options);
        foreach (var e in events)
        {
            ct.ThrowIfCancellationRequested();
            if (state.Accept(e) is { } transaction)
                state.AddAll(await options.EndorsementChecker!.CheckAsync(transaction, ct).ConfigureAwait(false));
        }
        return state.Finish();
    }

    /// <summary>Chain-only verification, synchronous. Endorsement checks may do I/O, so they need <c>VerifyAsync</c>.</summary>
    public static VerificationReport Verify(IEnumerable<EventEnvelope> events, StreamVerifierOptions? options = null)
    {
        options ??= StreamVerifierOptions.Default;
        if (options.EndorsementChecker is not null)
            throw new ArgumentException("An endorsement checker runs asynchronously: use VerifyAsync.", nameof(options));
        var state = new StreamVerifierState(options);
        foreach (var e in events) state.Accept(e);
        return state.Finish();
    }
}
