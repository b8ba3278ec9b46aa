using Marten;

namespace HealthEvents.Projections.Research;

/// <summary>The research documents in the read-model store: every research projection shares these tables, partitioned by projection.</summary>
internal static class ResearchStore
{
    public static void Configure(StoreOptions options)
    {
        options.Schema.For<ResearchSubject>().Index(x => x.Projection, i => i.Name = "he_research_subject_projection_ix");
        options.Schema.For<ResearchKey>();
    }
}
