using HealthEvents.TestSupport;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Research;
using HealthEvents.Application.Serialization;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Patients;
using HealthEvents.Domain.Research;
using HealthEvents.Projections.Research;
using HealthEvents.Projections.Runner;
using HealthEvents.Projections.Views.Audit;
using HealthEvents.Projections.Views.Consents;
using Npgsql;

namespace HealthEvents.Projections.Tests.Research;

public sealed class FakeClock(DateTimeOffset now) : IClock
{
    public DateTimeOffset UtcNow { get; set; } = now;
}

/// <summary>A research-side test bed: the database, the research stream, a runner with the audit and consent views and the catalog as its source.</summary>
public sealed class ResearchBed : IAsyncDisposable
{
    public static readonly Actor Researcher = new("researcher-1", Role.Researcher, "h3");
    public const string Organisation = "Lakeside University";
    public static readonly DateTimeOffset T0 = PatientHistory.T0;

    private ResearchBed(ProjectionDatabase db)
    {
        Db = db;
        ReadModels = db.NewReadModels();
        Catalog = new ResearchCatalog(db.Events);
        var options = ProjectionDatabase.FastOptions();
        options.SourcePollInterval = TimeSpan.FromMilliseconds(100);
        Runner = new ProjectionRunner(db.Events, ReadModels, [new AuditProjection(), new ConsentProjection()], EventSerializer.Default, options, null, [Catalog]);
        Query = new ResearchQuery(ReadModels, Catalog, Runner, Clock, Statistics);
    }

    public ProjectionDatabase Db { get; }
    public ReadModelStore ReadModels { get; }
    public ResearchCatalog Catalog { get; }
    public ProjectionRunner Runner { get; }
    public ResearchQuery Query { get; }
    public FakeClock Clock { get; } = new(T0.AddMonths(1));
    public IEventLogStatistics Statistics => new CountingStatistics(Db);

    public static async Task<ResearchBed> CreateAsync() => new(await ProjectionDatabase.CreateAsync());

    public async Task<AppendResult> DeclareAsync(string name, IReadOnlyList<ResearchDimension> groupBy, int k = 2,
        IReadOnlyList<Category>? categories = null, IReadOnlyList<ResearchCode>? codes = null, DateTimeOffset? to = null) =>
        await AppendResearchAsync(new ResearchProjectionDeclared(name, Researcher.Id, Organisation,
            new ResearchFilter(categories ?? [Category.Conditions], codes ?? [], null, to), groupBy, k, T0));

    public async Task<AppendResult> AppendResearchAsync(IResearchEvent e)
    {
        var metadata = new EventMetadata(Researcher.Id, Researcher.Role, Researcher.Hospital, Guid.NewGuid(), Guid.NewGuid(), Clock.UtcNow).ToBytes();
        return await Db.Events.AppendAsync(ResearchStream.StreamId, ExpectedVersion.Any,
            [new ProposedEvent(Guid.NewGuid(), EventSerializer.Default.NameOf(e), EventSerializer.Default.Serialize(e), metadata)]);
    }

    /// <summary>Starts the projection on the runner (as the endpoint does after a declaration) and waits until it has applied <paramref name="position"/>.</summary>
    public async Task CatchUpAsync(string name, GlobalPosition position)
    {
        Assert.NotNull(await Query.StartAsync(name));
        Assert.True(await Runner.WaitForAsync(ResearchProjectionNames.Of(name), position, Patience.Deadline), $"{name} did not reach {position}");
        Assert.True(await Runner.WaitForAsync(position, Patience.Deadline), $"views did not reach {position}");
    }

    /// <summary>The stored JSON of every research document (subjects and keys), as text.</summary>
    public async Task<IReadOnlyList<string>> StoredResearchJsonAsync()
    {
        await using var conn = new NpgsqlConnection(Db.ConnectionString);
        await conn.OpenAsync();
        var tables = new List<string>();
        await using (var list = new NpgsqlCommand(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'readmodels' AND table_name LIKE 'mt_doc_research%'", conn))
        await using (var reader = await list.ExecuteReaderAsync())
            while (await reader.ReadAsync()) tables.Add(reader.GetString(0));
        Assert.Contains("mt_doc_researchsubject", tables);
        var rows = new List<string>();
        foreach (var table in tables)
        {
            await using var cmd = new NpgsqlCommand($"SELECT id::text || ' ' || data::text FROM readmodels.{table}", conn);
            await using var reader = await cmd.ExecuteReaderAsync();
            while (await reader.ReadAsync()) rows.Add(reader.GetString(0));
        }
        return rows;
    }

    public async Task<IReadOnlyList<ResearchSubject>> SubjectsAsync(string name) =>
        (await Db.AllAsync<ResearchSubject>()).Where(s => s.Projection == ResearchProjectionNames.Of(name)).ToList();

    public async ValueTask DisposeAsync()
    {
        await Runner.StopAsync(CancellationToken.None);
        Runner.Dispose();
        await Db.DisposeAsync();
    }

    private sealed class CountingStatistics(ProjectionDatabase db) : IEventLogStatistics
    {
        public async Task<long?> CountEventsAsync(CancellationToken ct = default) => await db.CountEventsAsync();
    }
}

/// <summary>A patient of the cohort: registered, one condition entry (E11), and the consents given.</summary>
public sealed record CohortPatient(PatientWriter Writer, Sex Sex, int BirthYear, Guid EntryId, List<Guid> ConsentIds)
{
    public Guid Id => Writer.Id;

    public static async Task<CohortPatient> WriteAsync(ProjectionDatabase db, Sex sex, int birthYear, params (Grantee Grantee, Category[] Categories, Purpose Purpose, DateTimeOffset? Until)[] consents)
    {
        var p = new CohortPatient(db.Patient(), sex, birthYear, Guid.NewGuid(), []);
        await p.Writer.AppendAsync(PatientWriter.DrA, new PatientRegistered(p.Id, "h1", birthYear, sex, $"enc-demographics-{p.Id:N}"));
        await p.Writer.AppendAsync(PatientWriter.DrA, new RecordEntryAdded(p.EntryId, Category.Conditions, "http://hl7.org/fhir/sid/icd-10", "E11",
            $"enc-text-{p.EntryId:N}", ResearchBed.T0.AddDays(-400), "dr-a", "h1"));
        foreach (var c in consents) await p.GrantAsync(c.Grantee, c.Categories, c.Purpose, c.Until);
        return p;
    }

    public async Task<AppendResult> GrantAsync(Grantee grantee, Category[] categories, Purpose purpose = Purpose.Research, DateTimeOffset? until = null)
    {
        var id = Guid.NewGuid();
        ConsentIds.Add(id);
        return await Writer.AppendAsync(Writer.Self, new ConsentGranted(id, grantee, categories, [purpose], [AccessAction.Read], ResearchBed.T0.AddDays(-1), until));
    }

    public static (Grantee, Category[], Purpose, DateTimeOffset?) ToResearchers(params Category[] categories) =>
        (Grantee.OfRole(Role.Researcher), categories.Length == 0 ? [Category.Conditions] : categories, Purpose.Research, null);
}
