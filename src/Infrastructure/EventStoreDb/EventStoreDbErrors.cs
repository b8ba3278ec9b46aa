using System.Net;
using Grpc.Core;
using HealthEvents.Application.Ports;
using HealthEvents.Infrastructure.EventStoreDb.Protocol;

namespace HealthEvents.Infrastructure.EventStoreDb;

/// <summary>A failure EventStoreDB reported, or failing to reach it. Messages name the stream, never event data.</summary>
public class EventStoreDbException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The stream was deleted (tombstoned) in EventStoreDB: it can be neither read nor appended to.</summary>
public sealed class EventStoreDbStreamDeletedException(string streamId, Exception? inner = null)
    : EventStoreDbException($"Stream {streamId} is deleted in EventStoreDB.", inner)
{
    public string StreamId { get; } = streamId;
}

/// <summary>The connection's user may not do this (EventStoreDB access-denied).</summary>
public sealed class EventStoreDbAccessDeniedException(string? streamId, Exception? inner = null)
    : EventStoreDbException(streamId is null
        ? "EventStoreDB denied access to the global log ($all) for the configured user."
        : $"EventStoreDB denied access to stream {streamId} for the configured user.", inner);

/// <summary>The append was larger than the server's maximum append size: nothing was written.</summary>
public sealed class EventStoreDbAppendTooLargeException(string streamId, int? maximumBytes, Exception? inner = null)
    : EventStoreDbException(
        $"The append to stream {streamId} exceeds EventStoreDB's maximum append size" +
        (maximumBytes is { } max ? $" of {max} bytes." : "."), inner)
{
    public int? MaximumBytes { get; } = maximumBytes;
}

/// <summary>A node answered that it is not the leader; <see cref="Leader"/> is the leader it named, if any.</summary>
public sealed class EventStoreDbNotLeaderException(DnsEndPoint? leader, Exception? inner = null)
    : EventStoreDbException(leader is null
        ? "The EventStoreDB node is not the leader and named none."
        : $"The EventStoreDB node is not the leader; the leader is {leader.Host}:{leader.Port}.", inner), ITransientFailure
{
    public DnsEndPoint? Leader { get; } = leader;
}

/// <summary>EventStoreDB could not be reached, or did not answer in time; an append may or may not have been written (retrying it with the same event ids is safe).</summary>
public sealed class EventStoreDbUnavailableException(string message, Exception? inner = null)
    : EventStoreDbException(message, inner), ITransientFailure;

/// <summary>
/// The mapping from EventStoreDB's answers to the port's errors. Failures arrive as gRPC status codes with an
/// <c>exception</c> trailer naming the case (EventStoreDB's <c>Constants.Exceptions</c>). Tested by provoking each case
/// on a real server or cluster (EventStoreDbServerTests, EventStoreDbClusterTests); access-denied cannot be, as the
/// test servers run insecure (no users).
/// </summary>
public static class EventStoreDbErrors
{
    public const string ExceptionTrailer = "exception";
    public const string LeaderHostTrailer = "leader-endpoint-host";
    public const string LeaderPortTrailer = "leader-endpoint-port";
    public const string MaximumAppendSizeTrailer = "maximum-append-size";

    public const string NotLeader = "not-leader";
    public const string StreamDeleted = "stream-deleted";
    public const string MaximumAppendSizeExceeded = "maximum-append-size-exceeded";
    public const string StreamNotFound = "stream-not-found";

    /// <summary>
    /// The stream's actual last version from a wrong-expected-version reply (-1: no stream), from the current
    /// fields or, for servers of 20.6.0, the legacy ones; null when the reply carries neither.
    /// </summary>
    internal static long? ActualLastVersion(AppendResp.Types.WrongExpectedVersion reply) =>
        reply.CurrentRevisionOptionCase switch
        {
            AppendResp.Types.WrongExpectedVersion.CurrentRevisionOptionOneofCase.CurrentRevision => ToVersion(reply.CurrentRevision),
            AppendResp.Types.WrongExpectedVersion.CurrentRevisionOptionOneofCase.CurrentNoStream => -1,
            _ => reply.CurrentRevisionOption2060Case switch
            {
                AppendResp.Types.WrongExpectedVersion.CurrentRevisionOption2060OneofCase.CurrentRevision2060 => ToVersion(reply.CurrentRevision2060),
                AppendResp.Types.WrongExpectedVersion.CurrentRevisionOption2060OneofCase.NoStream2060 => -1,
                _ => null,
            },
        };

    private static long ToVersion(ulong revision) => revision > long.MaxValue ? -1 : (long)revision;

    /// <summary>The value of trailer <paramref name="key"/>, or null.</summary>
    public static string? Trailer(RpcException e, string key) => e.Trailers?.GetValue(key);

    /// <summary>The leader a not-leader answer names (NOT_FOUND, exception=not-leader, leader-endpoint-host/-port).</summary>
    public static bool IsNotLeader(RpcException e, out DnsEndPoint? leader)
    {
        leader = null;
        if (e.StatusCode != StatusCode.NotFound || Trailer(e, ExceptionTrailer) != NotLeader) return false;
        var host = Trailer(e, LeaderHostTrailer);
        if (!string.IsNullOrWhiteSpace(host) && int.TryParse(Trailer(e, LeaderPortTrailer), out var port) && port is > 0 and <= 65535)
            leader = new DnsEndPoint(host, port);
        return true;
    }

    /// <summary>A missing stream reported as an error (servers answering clients of compatibility level 0).</summary>
    public static bool IsStreamNotFound(RpcException e) =>
        e.StatusCode == StatusCode.NotFound && Trailer(e, ExceptionTrailer) == StreamNotFound;

    /// <summary>Worth reconnecting and trying again: the connection dropped or the node is busy, not a refusal.</summary>
    public static bool IsTransient(RpcException e) => e.StatusCode is
        StatusCode.Unavailable or StatusCode.Internal or StatusCode.Unknown or StatusCode.Aborted
        or StatusCode.DeadlineExceeded or StatusCode.ResourceExhausted or StatusCode.DataLoss
        || IsNotLeader(e, out _);

    /// <summary>
    /// The exception to raise for a failed call on <paramref name="streamId"/> (null: the global log). Each
    /// message names the stream and the case, never event data.
    /// </summary>
    public static EventStoreDbException Map(RpcException e, string? streamId)
    {
        var what = streamId is null ? "the global log ($all)" : $"stream {streamId}";
        var kind = Trailer(e, ExceptionTrailer);
        switch (e.StatusCode)
        {
            case StatusCode.FailedPrecondition when kind == StreamDeleted:
                return new EventStoreDbStreamDeletedException(streamId ?? "$all", e);
            case StatusCode.PermissionDenied:
            case StatusCode.Unauthenticated:
                return new EventStoreDbAccessDeniedException(streamId, e);
            case StatusCode.InvalidArgument when kind == MaximumAppendSizeExceeded:
                return new EventStoreDbAppendTooLargeException(streamId ?? "$all",
                    int.TryParse(Trailer(e, MaximumAppendSizeTrailer), out var max) ? max : null, e);
            case StatusCode.NotFound when kind == NotLeader:
                IsNotLeader(e, out var leader);
                return new EventStoreDbNotLeaderException(leader, e);
            case StatusCode.Aborted or StatusCode.DeadlineExceeded:
                return new EventStoreDbUnavailableException(
                    $"EventStoreDB timed out on {what}; an append may or may not have been written (a retry with the same event ids is safe).", e);
            case StatusCode.Unavailable:
                return new EventStoreDbUnavailableException($"EventStoreDB is unavailable ({what}).", e);
            case StatusCode.Internal or StatusCode.Unknown or StatusCode.ResourceExhausted or StatusCode.DataLoss:
                // A connection torn down with its node (a failover) shows as these: passing, like Unavailable.
                return new EventStoreDbUnavailableException($"EventStoreDB failed on {what}: {e.StatusCode}; try again.", e);
            default:
                return new EventStoreDbException(
                    $"EventStoreDB failed on {what}: {e.StatusCode}{(kind is null ? "" : $" ({kind})")}.", e);
        }
    }
}
