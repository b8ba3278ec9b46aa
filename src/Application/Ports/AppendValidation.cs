namespace HealthEvents.Application.Ports;

/// <summary>What every adapter refuses before touching its store: the port's contract for a well-formed append.</summary>
public static class AppendValidation
{
    public static void Validate(string streamId, IReadOnlyList<ProposedEvent> events)
    {
        ArgumentException.ThrowIfNullOrEmpty(streamId);
        ArgumentNullException.ThrowIfNull(events);
        if (events.Count == 0) throw new ArgumentException("An append needs at least one event.", nameof(events));
        var ids = new HashSet<Guid>();
        foreach (var e in events)
        {
            ArgumentNullException.ThrowIfNull(e);
            if (e.Data is null || e.Metadata is null || string.IsNullOrEmpty(e.Type))
                throw new ArgumentException($"Event {e.EventId} lacks a type, data or metadata.", nameof(events));
            if (!ids.Add(e.EventId)) throw new ArgumentException($"Event id {e.EventId} appears twice in one append.", nameof(events));
        }
    }
}
