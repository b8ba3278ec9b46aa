using System.Collections.Immutable;
using System.Reflection;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Research;
using HealthEvents.Application.Serialization;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Research;

namespace HealthEvents.Projections.Research;

/// <summary>
/// The research projections declared so far, read from the <c>research</c> stream (incrementally: each refresh reads
/// only what was appended since). One <see cref="ResearchProjection"/> instance per name, handed to the runner and the
/// rebuilder as their <see cref="IProjectionSource"/>.
/// </summary>
public sealed class ResearchCatalog(IEventStore events, EventSerializer? serializer = null) : IProjectionSource
{
    private static readonly string DeclaredType = typeof(ResearchProjectionDeclared).GetCustomAttribute<EventTypeAttribute>()!.Name;

    private readonly EventSerializer _serializer = serializer ?? EventSerializer.Default;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private ImmutableDictionary<string, ResearchProjection> _byName = ImmutableDictionary<string, ResearchProjection>.Empty.WithComparers(StringComparer.Ordinal);
    private long _version = -1;

    /// <summary>Known now, without reading the stream (by research name, not the runner's name).</summary>
    public ResearchProjection? Find(string name) => _byName.GetValueOrDefault(name);

    /// <summary>Known now, or after reading what was declared since the last refresh.</summary>
    public async Task<ResearchProjection?> FindAsync(string name, CancellationToken ct = default)
    {
        if (Find(name) is { } known) return known;
        await RefreshAsync(ct);
        return Find(name);
    }

    public async Task<IReadOnlyList<IProjection>> LoadAsync(CancellationToken ct)
    {
        await RefreshAsync(ct);
        return [.. _byName.Values.OrderBy(p => p.Name, StringComparer.Ordinal)];
    }

    public async Task RefreshAsync(CancellationToken ct = default)
    {
        await _gate.WaitAsync(ct);
        try
        {
            var (byName, version) = (_byName, _version);
            await foreach (var e in events.ReadStreamAsync(ResearchStream.StreamId, _version + 1, ct))
            {
                version = e.Version;
                if (e.Type != DeclaredType || _serializer.Deserialize(e.Type, e.Data) is not ResearchProjectionDeclared declared) continue;
                if (!byName.ContainsKey(declared.Name))
                    byName = byName.Add(declared.Name, new ResearchProjection(new ResearchDefinition(declared), events, _serializer));
            }
            (_byName, _version) = (byName, version);
        }
        finally
        {
            _gate.Release();
        }
    }
}
