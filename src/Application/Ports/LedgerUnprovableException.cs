namespace HealthEvents.Application.Ports;

/// <summary>
/// This node cannot prove, under the ledger's signed tree heads, a stream it has not folded before, so it does not decide
/// on it now (docs/architecture.md, "The ledger"): its ledger view is behind the signed heads (rebuilt, or set back), or
/// no recent head checks. Passing once the view has caught up; the API answers 503 with Retry-After. The message names
/// sizes and versions of the ledger only.
/// </summary>
public sealed class LedgerUnprovableException(string reason) : Exception($"Streams cannot be proven under the ledger's signed tree heads now: {reason}.");
