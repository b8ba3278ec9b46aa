using Grpc.Core;
using HealthEvents.Application.Ports;
using HealthEvents.Infrastructure.EventStoreDb;
using HealthEvents.Infrastructure.EventStoreDb.Protocol;
using Wev = HealthEvents.Infrastructure.EventStoreDb.Protocol.AppendResp.Types.WrongExpectedVersion;

namespace HealthEvents.Infrastructure.Tests.EventStoreDb;

/// <summary>The pure mapping of EventStoreDB's answers to our errors.</summary>
public sealed class EventStoreDbErrorsTests
{
    [Fact]
    public void Wrong_expected_version_carries_the_actual_version_from_current_or_legacy_fields()
    {
        Assert.Equal(7, EventStoreDbErrors.ActualLastVersion(new Wev { CurrentRevision = 7, ExpectedRevision = 3 }));
        Assert.Equal(-1, EventStoreDbErrors.ActualLastVersion(new Wev { CurrentNoStream = new Empty(), ExpectedRevision = 0 }));
        Assert.Equal(4, EventStoreDbErrors.ActualLastVersion(new Wev { CurrentRevision2060 = 4, ExpectedRevision2060 = 1 }));
        Assert.Equal(-1, EventStoreDbErrors.ActualLastVersion(new Wev { NoStream2060 = new Empty() }));
        Assert.Equal(9, EventStoreDbErrors.ActualLastVersion(new Wev { CurrentRevision = 9, CurrentRevision2060 = 2 })); // current wins
        Assert.Null(EventStoreDbErrors.ActualLastVersion(new Wev()));

        var ex = EventStoreDbErrors.WrongExpectedVersion("patient-1", ExpectedVersion.Exactly(3), new Wev { CurrentRevision = 7 });
        Assert.Equal("patient-1", ex.StreamId);
        Assert.Equal(7, ex.ActualLastVersion);
        Assert.Equal(ExpectedVersion.Exactly(3), ex.Expected);
    }

    [Fact]
    public void Not_leader_names_the_leader_endpoint_from_the_trailers()
    {
        var e = ScriptedCalls.Error(StatusCode.NotFound, ("exception", "not-leader"), ("leader-endpoint-host", "node-b"), ("leader-endpoint-port", "2114"));

        Assert.True(EventStoreDbErrors.IsNotLeader(e, out var leader));
        Assert.Equal("node-b", leader!.Host);
        Assert.Equal(2114, leader.Port);
        Assert.True(EventStoreDbErrors.IsTransient(e));
        var mapped = Assert.IsType<EventStoreDbNotLeaderException>(EventStoreDbErrors.Map(e, "patient-1"));
        Assert.Equal(leader, mapped.Leader);

        Assert.True(EventStoreDbErrors.IsNotLeader(ScriptedCalls.Error(StatusCode.NotFound, ("exception", "not-leader")), out var unnamed));
        Assert.Null(unnamed);
        Assert.False(EventStoreDbErrors.IsNotLeader(ScriptedCalls.Error(StatusCode.NotFound, ("exception", "stream-not-found")), out _));
        Assert.False(EventStoreDbErrors.IsNotLeader(
            ScriptedCalls.Error(StatusCode.Unavailable, ("exception", "not-leader"), ("leader-endpoint-host", "x"), ("leader-endpoint-port", "1")), out _));
    }

    [Fact]
    public void Refusals_become_clear_errors_naming_the_stream_and_no_data()
    {
        const string stream = "patient-0f8fad5b";

        var deleted = Assert.IsType<EventStoreDbStreamDeletedException>(
            EventStoreDbErrors.Map(ScriptedCalls.Error(StatusCode.FailedPrecondition, ("exception", "stream-deleted")), stream));
        Assert.Equal(stream, deleted.StreamId);
        Assert.Contains(stream, deleted.Message);

        var denied = Assert.IsType<EventStoreDbAccessDeniedException>(
            EventStoreDbErrors.Map(ScriptedCalls.Error(StatusCode.PermissionDenied, ("exception", "access-denied")), stream));
        Assert.Contains(stream, denied.Message);
        Assert.Contains("$all", EventStoreDbErrors.Map(ScriptedCalls.Error(StatusCode.PermissionDenied, ("exception", "access-denied")), null).Message);

        var tooLarge = Assert.IsType<EventStoreDbAppendTooLargeException>(EventStoreDbErrors.Map(
            ScriptedCalls.Error(StatusCode.InvalidArgument, ("exception", "maximum-append-size-exceeded"), ("maximum-append-size", "1048576")), stream));
        Assert.Equal(1048576, tooLarge.MaximumBytes);
        Assert.Contains(stream, tooLarge.Message);

        var timeout = EventStoreDbErrors.Map(ScriptedCalls.Error(StatusCode.Aborted), stream);
        Assert.IsType<EventStoreDbUnavailableException>(timeout);
        Assert.Contains(stream, timeout.Message);

        var other = EventStoreDbErrors.Map(ScriptedCalls.Error(StatusCode.InvalidArgument, ("exception", "invalid-argument")), stream);
        Assert.IsType<EventStoreDbException>(other);
        Assert.Contains(stream, other.Message);
        Assert.IsType<RpcException>(other.InnerException);

        Assert.False(EventStoreDbErrors.IsTransient(ScriptedCalls.Error(StatusCode.PermissionDenied)));
        Assert.True(EventStoreDbErrors.IsTransient(ScriptedCalls.Error(StatusCode.Unavailable)));
    }
}
