using HealthEvents.Application.Serialization;
using HealthEvents.Projections.Runner;
using HealthEvents.Projections.Views.Audit;
using HealthEvents.Projections.Views.Consents;
using HealthEvents.Projections.Views.Insurance;
using HealthEvents.Projections.Views.Records;
using JasperFx;
using Marten;
using Npgsql;
using Weasel.Core;

namespace HealthEvents.Projections;

/// <summary>
/// The one Marten document store of the read side: its own schema (<see cref="SchemaName"/>), System.Text.Json with
/// the project's JSON options (camelCase, enums as kebab-case strings), and schema objects created or updated on use.
/// </summary>
public sealed class ReadModelStore : IDisposable
{
    public const string SchemaName = "readmodels";

    private ReadModelStore(DocumentStore store, string connectionString)
    {
        Store = store;
        ConnectionString = connectionString;
    }

    public IDocumentStore Store { get; }

    /// <summary>The read-model database; projection advisory locks are taken there too.</summary>
    public string ConnectionString { get; }

    /// <param name="configure">Extra Marten configuration (tests: their own document types).</param>
    public static ReadModelStore Create(string connectionString, Action<StoreOptions>? configure = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(connectionString);
        var options = new StoreOptions();
        options.Connection(connectionString);
        options.DatabaseSchemaName = SchemaName;
        options.AutoCreateSchemaObjects = AutoCreate.CreateOrUpdate;
        options.UseSystemTextJsonForSerialization(casing: Casing.CamelCase, configure: o => Json.Configure(o));
        Configure(options);
        configure?.Invoke(options);
        return new ReadModelStore(new DocumentStore(options), connectionString);
    }

    /// <summary>The documents and indexes of the built-in views.</summary>
    private static void Configure(StoreOptions options)
    {
        options.Schema.For<ProjectionCheckpoint>().Identity(x => x.Id).UseNumericRevisions(true);
        options.Schema.For<AuditEntry>()
            .Index([x => x.PatientId, x => x.StreamVersion], i => i.Name = "he_audit_patient_version_ix");
        options.Schema.For<AuditEntryCategory>();
        options.Schema.For<ConsentDocument>().Index(x => x.PatientId, i => i.Name = "he_consent_patient_ix");
        options.Schema.For<RecordEntryDocument>().Index(x => x.PatientId, i => i.Name = "he_record_patient_ix");
        options.Schema.For<InsuranceDocument>();
    }

    /// <summary>Creates or updates every configured table and index now (rather than on first use).</summary>
    public Task EnsureSchemaAsync(CancellationToken ct = default) =>
        Store.Storage.Database.ApplyAllConfiguredChangesToDatabaseAsync(ct: ct);

    /// <summary>A connection string for a dedicated, unpooled connection (advisory locks live as long as it does).</summary>
    internal string LockConnectionString => new NpgsqlConnectionStringBuilder(ConnectionString)
    {
        Pooling = false,
        ApplicationName = "healthevents-projection-lock",
    }.ConnectionString;

    public void Dispose() => Store.Dispose();
}
