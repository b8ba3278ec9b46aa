using HealthEvents.Application.Ports;
using HealthEvents.Infrastructure.EventStoreDb.Protocol;
using Options = HealthEvents.Infrastructure.EventStoreDb.Protocol.ReadReq.Types.Options;

namespace HealthEvents.Infrastructure.EventStoreDb;

/// <summary>
/// The read requests the adapter sends: no link resolution, ids as strings; reads and subscriptions of $all carry a
/// server-side filter on the stream name (<see cref="OurStreams"/>), so the server sends only our streams' events.
/// </summary>
internal static class EventStoreDbRequests
{
    /// <summary>
    /// Events a filtered subscription looks at between two checkpoints (its progress through events filtered out),
    /// so a resumed subscription starts near where it left off even after a long run of other services' events.
    /// </summary>
    public const uint CheckpointWindow = 128;

    /// <summary>
    /// The store's streams in $all: those starting with <paramref name="prefix"/>, or — without a prefix — HealthEvents'
    /// stream names (<see cref="EventStoreDbEnvelope.OurStreamsPattern"/>), which leaves out system streams and other
    /// applications' streams. The filter is on names only: every event of these streams is in the log, whoever wrote it.
    /// </summary>
    public static Options.Types.FilterOptions OurStreams(string prefix) => new()
    {
        StreamIdentifier = prefix.Length > 0
            ? new Options.Types.FilterOptions.Types.Expression { Prefix = { prefix } }
            : new Options.Types.FilterOptions.Types.Expression { Regex = EventStoreDbEnvelope.OurStreamsPattern },
        Max = CheckpointWindow,
        CheckpointIntervalMultiplier = 1,
    };

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

    /// <summary>Read $all forwards from <paramref name="from"/> (inclusive; null: the start): <paramref name="count"/> events that pass <paramref name="filter"/>.</summary>
    public static ReadReq ReadAll(GlobalPosition? from, ulong count, Options.Types.FilterOptions filter)
    {
        var options = Common(forwards: true);
        options.All = All(from);
        options.Count = count;
        options.Filter = filter;
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

    /// <summary>A catch-up subscription to $all from <paramref name="from"/> (null: the start): the events that pass <paramref name="filter"/>, and checkpoints.</summary>
    public static ReadReq SubscribeAll(GlobalPosition? from, Options.Types.FilterOptions filter)
    {
        var options = Common(forwards: true);
        options.All = All(from);
        options.Subscription = new Options.Types.SubscriptionOptions();
        options.Filter = filter;
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
