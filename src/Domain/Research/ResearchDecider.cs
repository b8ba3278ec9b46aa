using System.Text.RegularExpressions;
using HealthEvents.Domain.Common;

namespace HealthEvents.Domain.Research;

/// <summary>
/// The <c>research</c> stream: research projections declared by registered researchers (names unique, k at least
/// <see cref="MinK"/>), and their publications — which patients each served result counted, for the patients' audit.
/// </summary>
public sealed partial class ResearchDecider : IDecider<ResearchState, IResearchCommand, IResearchEvent>
{
    public const int MinK = 2;
    public const int MaxK = 1000;
    public const int DefaultK = 5;

    /// <summary>Uses per publication event; a larger publication is split over several events of one transaction.</summary>
    public const int UsesPerEvent = 500;

    private ResearchDecider() { }

    public static ResearchState Initial => ResearchState.Empty;

    /// <summary>Lowercase letters, digits and hyphens, starting with a letter, 3 to 63 characters.</summary>
    [GeneratedRegex("^[a-z][a-z0-9-]{2,62}$", RegexOptions.CultureInvariant)]
    public static partial Regex NamePattern();

    public static IReadOnlyList<IResearchEvent> Decide(IResearchCommand command, ResearchState state) => command switch
    {
        DeclareResearchProjection c => Declare(c, state),
        PublishResearchResults c => Publish(c, state),
        _ => throw new ArgumentException($"Unknown research command {command.GetType().Name}.", nameof(command)),
    };

    public static ResearchState Evolve(ResearchState state, IResearchEvent @event) => @event switch
    {
        ResearchProjectionDeclared e => state with { Projections = state.Projections.SetItem(e.Name, new DeclaredResearchProjection(e, null)) },
        ResearchResultsPublished e => state.Projections.TryGetValue(e.Projection, out var p)
            ? state with { Projections = state.Projections.SetItem(e.Projection, p with { LastDigest = e.Digest }) }
            : state,
        _ => throw new ArgumentException($"Unknown research event {@event.GetType().Name}.", nameof(@event)),
    };

    private static IReadOnlyList<IResearchEvent> Declare(DeclareResearchProjection c, ResearchState state)
    {
        if (c.Actor.Role != Role.Researcher)
            throw RejectedException.Forbidden("researcher-required", "Only researchers declare research projections.");
        if (string.IsNullOrWhiteSpace(c.Organisation))
            throw RejectedException.Forbidden("researcher-not-registered", "The researcher is not registered in the network.");
        if (c.Name is null || !NamePattern().IsMatch(c.Name))
            throw RejectedException.Invalid("name-invalid", "A name is 3 to 63 lowercase letters, digits or hyphens, starting with a letter.");
        if (c.K is < MinK or > MaxK)
            throw RejectedException.Invalid("k-out-of-range", $"k is between {MinK} and {MaxK}.");
        if (c.GroupBy.Distinct().Count() != c.GroupBy.Count || c.GroupBy.Any(d => !Enum.IsDefined(d)))
            throw RejectedException.Invalid("group-by-invalid", "Each group-by dimension is known and named once.");
        if (c.Filter.From is { } from && c.Filter.To is { } to && to <= from)
            throw RejectedException.Invalid("time-window-invalid", "The time window must end after it starts.");
        if (c.Filter.Codes.Any(code => string.IsNullOrWhiteSpace(code.System) || string.IsNullOrWhiteSpace(code.Code)))
            throw RejectedException.Invalid("code-invalid", "Each code names its system and code.");
        if (state.Projections.ContainsKey(c.Name))
            throw RejectedException.Conflict("research-projection-exists", "A research projection with this name already exists.");

        var filter = new ResearchFilter(
            [.. c.Filter.Categories.Distinct()], [.. c.Filter.Codes.Distinct()],
            c.Filter.From?.ToUniversalTime(), c.Filter.To?.ToUniversalTime());
        return [new ResearchProjectionDeclared(c.Name, c.Actor.Id, c.Organisation, filter, [.. c.GroupBy], c.K, c.At)];
    }

    private static IReadOnlyList<IResearchEvent> Publish(PublishResearchResults c, ResearchState state)
    {
        if (!state.Projections.TryGetValue(c.Projection, out var projection))
            throw RejectedException.NotFound("research-projection-not-found", "No research projection has this name.");
        if (c.Actor.Role != Role.Researcher || !string.Equals(c.Actor.Id, projection.ResearcherId, StringComparison.Ordinal))
            throw RejectedException.Forbidden("not-the-researcher", "Only the researcher who declared the projection reads its results.");
        if (string.IsNullOrWhiteSpace(c.Digest))
            throw RejectedException.Invalid("digest-required", "A publication names the digest of its result.");
        if (c.Uses.Count == 0)
            throw RejectedException.Invalid("uses-required", "A publication counts at least one patient.");
        if (c.Uses.Select(u => u.PatientId).Distinct().Count() != c.Uses.Count)
            throw RejectedException.Invalid("uses-duplicate", "Each patient is named once per publication.");
        // The same result served again is the same publication: nothing new to record.
        if (string.Equals(projection.LastDigest, c.Digest, StringComparison.Ordinal)) return [];

        var parts = (c.Uses.Count + UsesPerEvent - 1) / UsesPerEvent;
        return [.. c.Uses.Chunk(UsesPerEvent).Select((slice, i) => (IResearchEvent)new ResearchResultsPublished(
            c.Projection, c.PublicationId, c.Actor.Id, c.Digest, i + 1, parts, [.. slice], c.At))];
    }
}
