using HealthEvents.Application.Ports;
using HealthEvents.Infrastructure.EventStoreDb.Protocol;
using Options = HealthEvents.Infrastructure.EventStoreDb.Protocol.ReadReq.Types.Options;

namespace HealthEvents.Infrastructure.EventStoreDb;

/// <summary>The read requests the adapter sends: no link resolution, no server-side filter, ids as strings.</summary>
internal static class EventStoreDbRequests
{
    /// <summary>Read <paramref name="count"/> events of a stream from a revision (null: from the end, backwards).</summary>
    public static ReadReq ReadStream(string streamId, ulong? fromRevision, bool forwards, ulong count)
    {
        var stream = new Options.Types.StreamOptions { StreamIdentifier = EventStoreDbEnvelope.Stream(streamId) };
        if (fromRevision is { } r) stream.Revision = r;
        else if (forwards) stream.Start = new Empty();
        else stream.End = new Empty();
        var options = Common(forwards);
        options.Stream = stream;
        options.Count = count;
        return new ReadReq { Options = options };
    }

    /// <summary>Read $all forwards from <paramref name="from"/> (inclusive; null: the start), <paramref name="count"/> events.</summary>
    public static ReadReq ReadAll(GlobalPosition? from, ulong count)
    {
        var options = Common(forwards: true);
        options.All = All(from);
        options.Count = count;
        return new ReadReq { Options = options };
    }

    /// <summary>The last event of $all (a backwards read of one).</summary>
    public static ReadReq ReadAllLast()
    {
        var options = Common(forwards: false);
        options.All = new Options.Types.AllOptions { End = new Empty() };
        options.Count = 1;
        return new ReadReq { Options = options };
    }

    /// <summary>A catch-up subscription to $all from <paramref name="from"/> (null: the start).</summary>
    public static ReadReq SubscribeAll(GlobalPosition? from)
    {
        var options = Common(forwards: true);
        options.All = All(from);
        options.Subscription = new Options.Types.SubscriptionOptions();
        return new ReadReq { Options = options };
    }

    private static Options.Types.AllOptions All(GlobalPosition? from) => from is { } p
        ? new Options.Types.AllOptions { Position = new Options.Types.Position { CommitPosition = p.Commit, PreparePosition = p.Prepare } }
        : new Options.Types.AllOptions { Start = new Empty() };

    private static Options Common(bool forwards) => new()
    {
        ReadDirection = forwards ? Options.Types.ReadDirection.Forwards : Options.Types.ReadDirection.Backwards,
        ResolveLinks = false,
        NoFilter = new Empty(),
        UuidOption = new Options.Types.UUIDOption { String = new Empty() },
        ControlOption = new Options.Types.ControlOption { Compatibility = 1 },
    };
}
