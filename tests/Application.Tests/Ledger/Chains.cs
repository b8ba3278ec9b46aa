using System.Text;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Ledger;

namespace HealthEvents.Application.Tests.Ledger;

/// <summary>Builds well-formed streams the way the stores do: through <see cref="HashChain.Link"/>.</summary>
internal static class Chains
{
    public static ProposedEvent Proposed(int n) => new(
        Guid.NewGuid(),
        "EntryAdded",
        Encoding.UTF8.GetBytes($$"""{"n":{{n}},"content":"djE6ZXhhbXBsZQ=="}"""),
        Encoding.UTF8.GetBytes($$"""{"actor":"practitioner-{{n % 3}}","hospital":"h{{n % 2}}"}"""));

    /// <summary>A stream of <paramref name="count"/> events, each appended as its own unendorsed transaction.</summary>
    public static List<EventEnvelope> Stream(int count, string streamId = "patient-1")
    {
        var events = new List<EventEnvelope>();
        for (var i = 0; i < count; i++)
        {
            var prev = events.Count == 0 ? HashChain.Genesis : events[^1].Hash;
            events.AddRange(HashChain.Link(streamId, events.Count - 1, prev, [Proposed(i)], null));
        }
        return events;
    }

    /// <summary>A stream made of endorsed transactions of the given sizes (signatures are the checker's business, so empty here).</summary>
    public static List<EventEnvelope> EndorsedStream(params int[] transactionSizes)
    {
        var events = new List<EventEnvelope>();
        foreach (var size in transactionSizes)
        {
            var prev = events.Count == 0 ? HashChain.Genesis : events[^1].Hash;
            var linked = HashChain.Link("patient-1", events.Count - 1, prev, [.. Enumerable.Range(events.Count, size).Select(Proposed)], null);
            var endorsement = new TransactionEndorsement(linked[0].Version, size, linked[^1].Hash, 0, 1, [], []);
            events.AddRange(linked.Select(e => e with { Endorsement = endorsement }));
        }
        return events;
    }

    public static byte[] FlipByte(byte[] bytes, int index = 0)
    {
        var copy = (byte[])bytes.Clone();
        copy[index] ^= 0x01;
        return copy;
    }

    public static async IAsyncEnumerable<EventEnvelope> AsAsync(IEnumerable<EventEnvelope> events)
    {
        foreach (var e in events)
        {
            await Task.Yield();
            yield return e;
        }
    }
}
