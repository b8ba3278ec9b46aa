using HealthEvents.Application.Ledger;
using HealthEvents.Projections.Ledger;
using HealthEvents.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace HealthEvents.Api.Tests;

/// <summary>The <c>ledger</c> stream's state on a node that folds it afresh (docs/architecture.md, "The ledger stream's state is its latest endorsed head").</summary>
public abstract partial class HiddenStreamStartSpec
{
    /// <summary>
    /// Once the ledger holds three heads, <paramref name="hide"/> hides some of them from stream reads, past the service; then
    /// a node folding the ledger stream afresh (restarted or new, as every endorser that restarts) must still sign the next
    /// head. A node that folded the stream before keeps signing from its cache, so only a fresh node shows it.
    /// </summary>
    protected async Task AssertFreshNodeSignsAfterAsync(Func<Task> hide, string what)
    {
        await Patience.UntilAsync(async () => (await Events.ReadLastAsync(LedgerStream.StreamId))?.Version >= 2 || await RegisteredFillerAsync(),
            () => "the ledger never signed three heads");
        await hide();

        await using var cold = await ColdNodeAsync();
        var signer = cold.Services.GetRequiredService<LedgerSigner>();
        string? failed = null;
        // A head is due only over new leaves, and the usual node may sign them first: a filler each time, until this node signs.
        await Patience.UntilAsync(async () =>
        {
            await Host.NewPatientAsync("Filler Patient");
            try
            {
                return await signer.SignIfDueAsync(force: true, CancellationToken.None) is not null;
            }
            catch (Exception e)
            {
                failed = $"{e.GetType().Name}: {e.Message}";
                return false;
            }
        }, () => $"a node folding the ledger stream afresh never signed a head after {what}; last failure: {failed ?? "none"}");
    }
}
