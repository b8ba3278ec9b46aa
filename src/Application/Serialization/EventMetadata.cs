using System.Text.Json;
using HealthEvents.Domain.Common;

namespace HealthEvents.Application.Serialization;

/// <summary>Envelope metadata: who did it and on which command. Stays in clear for the audit; holds no clinical content.</summary>
public sealed record EventMetadata(
    string ActorId,
    Role ActorRole,
    string Hospital,
    Guid CommandId,
    Guid CorrelationId,
    DateTimeOffset OccurredAt)
{
    public byte[] ToBytes() => JsonSerializer.SerializeToUtf8Bytes(this, Json.Options);

    public static EventMetadata FromBytes(ReadOnlySpan<byte> bytes) =>
        JsonSerializer.Deserialize<EventMetadata>(bytes, Json.Options) ?? throw new InvalidDataException("Empty event metadata.");
}
