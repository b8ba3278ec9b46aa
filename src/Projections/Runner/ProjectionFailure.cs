using System.Net.Sockets;
using System.Reflection;
using HealthEvents.Application.Ports;
using Npgsql;

namespace HealthEvents.Projections.Runner;

/// <summary>
/// What kind of failure a projection met, read from the exception alone. Transient: the database or the connection to
/// it (lost, timed out, shut down, a serialization failure or deadlock, a checkpoint moved by another writer) — the same
/// events would apply if tried again later. Anything else is taken as the event's own: retried on its own and then
/// parked (see <see cref="ProjectionApplier.ApplyOrParkAsync"/>). Never reads an exception's message: it may carry
/// personal data.
/// </summary>
internal static class ProjectionFailure
{
    /// <summary>
    /// True for a failure of the database or the connection rather than of the events. SQLSTATE classes after
    /// PostgreSQL's Appendix A: 08 connection exception, 40001 serialization_failure, 40P01 deadlock_detected,
    /// 53 insufficient resources, 55P03 lock_not_available, 55006 object_in_use, 57 operator intervention
    /// (57P01 admin_shutdown: <c>pg_terminate_backend</c>), 58 system error; Npgsql's own
    /// <see cref="NpgsqlException.IsTransient"/>; and an adapter's <see cref="ITransientFailure"/> (a projection that
    /// reads the event store itself, as a research projection reads a patient's history).
    /// </summary>
    public static bool IsTransient(Exception e)
    {
        for (var x = e; x is not null; x = x.InnerException)
        {
            switch (x)
            {
                case ProjectionApplyException { ConnectionLost: true }:
                    return true;
                case PostgresException pg:
                    return pg.IsTransient || IsTransientState(pg.SqlState);
                case NpgsqlException:
                    return true; // no server error: the connection broke, closed or timed out
                case TimeoutException or IOException or SocketException or ITransientFailure:
                    return true; // ITransientFailure: the event store's adapter says so (EventStoreDB unavailable, not the leader)
                case OperationCanceledException:
                    return true; // not the runner's own cancellation (that one is let through before): a timeout
                case JasperFx.ConcurrencyException or Marten.Exceptions.ConcurrentUpdateException:
                    return true; // another writer moved the checkpoint: reload it and try again
                case AggregateException many:
                    return many.InnerExceptions.Count > 0 && many.InnerExceptions.All(IsTransient);
            }
        }
        return false;
    }

    private static bool IsTransientState(string state) =>
        state.StartsWith("08", StringComparison.Ordinal) || state.StartsWith("53", StringComparison.Ordinal)
        || state.StartsWith("57", StringComparison.Ordinal) || state.StartsWith("58", StringComparison.Ordinal)
        || state is "40001" or "40P01" or "55P03" or "55006";

    /// <summary>
    /// The exception's type (full name) and where it came from, without its message: for a PostgreSQL error its
    /// SQLSTATE and the constraint or table it names (schema names, never the row's values, which
    /// <see cref="PostgresException.Detail"/> may quote); otherwise the method that threw it.
    /// </summary>
    public static (string Type, string Reason) Describe(Exception e)
    {
        var type = e.GetType().FullName ?? e.GetType().Name;
        for (var x = e; x is not null; x = x.InnerException)
        {
            if (x is not PostgresException pg) continue;
            var on = pg.ConstraintName is { } c ? $" on constraint {c}" : pg.TableName is { } t ? $" on table {t}" : "";
            return (type, $"SQLSTATE {pg.SqlState}{on}");
        }
        return (type, e.TargetSite is { } site ? $"thrown in {MethodName(site)}" : "thrown outside managed code");
    }

    /// <summary><c>Namespace.Type.Method</c>, the compiler's state machine of an async method named as its method.</summary>
    private static string MethodName(MethodBase site)
    {
        var declaring = site.DeclaringType;
        if (declaring is { Name: ['<', ..] name, DeclaringType: { } outer } && name.IndexOf('>') is > 1 and var end)
            return $"{outer.FullName}.{name[1..end]}";
        return declaring is null ? site.Name : $"{declaring.FullName}.{site.Name}";
    }
}
