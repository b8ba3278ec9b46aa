using HealthEvents.Application.Ports;
using HealthEvents.Application.Ledger;
using HealthEvents.Application.Network;
using HealthEvents.Application.Serialization;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Network;
using HealthEvents.Infrastructure.Identity;
using static HealthEvents.Application.Tests.Endorsement.TestLedger;
using static HealthEvents.Application.Tests.Ledger.Chains;

namespace HealthEvents.Application.Tests.Endorsement;

public sealed class NetworkHistoryTests : IDisposable
{
    private readonly TestLedger _ledger = new();

    public void Dispose() => _ledger.Dispose();

    [Fact]
    public void The_network_at_a_time_holds_what_had_occurred_by_then()
    {
        _ledger.Endorsed(NetworkStream.StreamId, T0.AddHours(1), [Lakeside, Riverside], new EndorsementPolicyChanged("OutOf(3, *)"));
        var history = _ledger.History;

        Assert.Empty(history.StateAt(T0.AddTicks(-1)).Hospitals);
        Assert.Equal(Hospitals, history.StateAt(T0).Hospitals.Keys.Order());
        Assert.Equal(NetworkState.DefaultEndorsementPolicy, history.StateAt(T0.AddMinutes(59)).EndorsementPolicy);
        Assert.Equal("OutOf(3, *)", history.StateAt(T0.AddHours(1)).EndorsementPolicy);
        Assert.Equal("OutOf(3, *)", history.Current.EndorsementPolicy);
        Assert.Equal(4, history.Count);
    }

    [Fact]
    public void The_network_before_a_version_is_the_fold_of_the_events_before_it()
    {
        var history = _ledger.History;

        Assert.Empty(history.StateBefore(0).Hospitals);
        Assert.Equal([Lakeside], history.StateBefore(1).Hospitals.Keys);
        Assert.Equal(3, history.StateBefore(3).Hospitals.Count);
        Assert.Equal(3, history.StateBefore(100).Hospitals.Count);
    }

    [Fact]
    public void A_key_rotation_takes_effect_at_its_effective_time()
    {
        var old = _ledger.KeyOf(Lakeside);
        var next = _ledger.Rotate(Lakeside, T0.AddHours(1), T0.AddHours(2), [Lakeside, Riverside]);
        var history = _ledger.History;

        Assert.Equal(PublicKeys.KeyId(old), history.StateAt(T0.AddHours(1.5)).KeyAt(Lakeside, KeyUse.Endorsement, T0.AddHours(1.5))!.KeyId);
        Assert.Equal(PublicKeys.KeyId(next), history.StateAt(T0.AddHours(2)).KeyAt(Lakeside, KeyUse.Endorsement, T0.AddHours(2))!.KeyId);
    }

    /// <summary>Nodes' clocks may disagree: an event recorded later may carry an earlier time. It applies from that time, in stream order.</summary>
    [Fact]
    public void Events_whose_times_run_backwards_apply_from_their_own_time_in_stream_order()
    {
        _ledger.Endorsed(NetworkStream.StreamId, T0.AddHours(3), [Lakeside, Riverside], new EndorsementPolicyChanged("OutOf(3, *)"));
        _ledger.Endorsed(NetworkStream.StreamId, T0.AddHours(2), [Lakeside, Riverside], new EndorsementPolicyChanged("OutOf(1, *)"));
        _ledger.Endorsed(NetworkStream.StreamId, T0.AddHours(1), [Lakeside, Riverside], new ResearcherRegistered("r-1", "Uni"));
        var history = _ledger.History;

        Assert.Empty(history.StateAt(T0.AddMinutes(30)).Researchers);
        Assert.Single(history.StateAt(T0.AddHours(1)).Researchers);
        Assert.Equal("OutOf(1, *)", history.StateAt(T0.AddHours(2)).EndorsementPolicy);
        // By 3h both policy changes had occurred; the stream's order says the later one stands.
        Assert.Equal("OutOf(1, *)", history.StateAt(T0.AddHours(3)).EndorsementPolicy);
        Assert.Equal(3, history.StateAt(T0.AddHours(3)).Hospitals.Count);
    }

    [Fact]
    public void Unreadable_events_are_left_out_and_counted()
    {
        var events = _ledger.Network.ToList();
        events[1] = events[1] with { Data = [.. "{not json"u8] };
        events[2] = events[2] with { Metadata = [.. "{}"u8], Type = "network.unknown.v1" };

        var history = NetworkHistory.From(events, Serializer);

        Assert.Equal((1, 2), (history.Count, history.Unreadable));
        Assert.Equal([Lakeside], history.Current.Hospitals.Keys);
    }

    [Fact]
    public async Task It_loads_from_a_store()
    {
        var store = new ListStore(_ledger.Network);

        var history = await NetworkHistory.LoadAsync(store, Serializer);

        Assert.Equal(3, history.Current.Hospitals.Count);
    }

    private sealed class ListStore(IReadOnlyList<EventEnvelope> network) : IEventStore
    {
        public IAsyncEnumerable<EventEnvelope> ReadStreamAsync(string streamId, long fromVersion = 0, CancellationToken ct = default) =>
            AsAsync(streamId == NetworkStream.StreamId ? network.Where(e => e.Version >= fromVersion) : []);

        public Task<AppendResult> AppendAsync(string streamId, ExpectedVersion expected, IReadOnlyList<ProposedEvent> events, TransactionEndorsement? endorsement = null, CancellationToken ct = default) =>
            throw new NotSupportedException();

        public Task<EventEnvelope?> ReadLastAsync(string streamId, CancellationToken ct = default) => throw new NotSupportedException();

        public Task<IReadOnlyList<EventEnvelope>> ReadAllAsync(GlobalPosition? after, int maxCount, CancellationToken ct = default) => throw new NotSupportedException();

        public IAsyncEnumerable<EventEnvelope> SubscribeAllAsync(GlobalPosition? after, CancellationToken ct = default) => throw new NotSupportedException();

        public Task<bool> IsHealthyAsync(CancellationToken ct = default) => Task.FromResult(true);
    }
}
