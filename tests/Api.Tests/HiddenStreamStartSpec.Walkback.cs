using System.Security.Cryptography;
using HealthEvents.Application.Ledger;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;
using HealthEvents.Domain.Ledger;
using HealthEvents.TestSupport;

namespace HealthEvents.Api.Tests;

/// <summary>Appending straight to the <c>ledger</c> stream's end, for the tests that forge or cut its heads.</summary>
public abstract partial class HiddenStreamStartSpec
{
    /// <summary>Runs <paramref name="append"/> (given the ledger stream's last event) until it lands at the stream's end; its version.</summary>
    protected async Task<long> AppendAtLedgerEndAsync(Func<EventEnvelope, Task> append)
    {
        long at = 0;
        // The honest signer appends a head every couple of seconds: append again when it got there first.
        await Patience.UntilAsync(async () =>
        {
            var last = (await Events.ReadLastAsync(LedgerStream.StreamId))!;
            try
            {
                await append(last);
                at = last.Version + 1;
                return true;
            }
            catch (WrongExpectedVersionException)
            {
                return false;
            }
        }, () => "the forged head never found the ledger stream's end");
        return at;
    }
}
