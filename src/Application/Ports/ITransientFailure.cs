namespace HealthEvents.Application.Ports;

/// <summary>
/// Marks an adapter's exception as a failure of the moment — a store unreachable, timed out, or in a leader election —
/// after which the same call may succeed: what a caller retries rather than blames on its input. The projection runner
/// reads it to tell such a failure from an event's own (see <c>ProjectionFailure</c>), as it reads Npgsql's
/// <c>IsTransient</c> for PostgreSQL.
/// </summary>
public interface ITransientFailure;
