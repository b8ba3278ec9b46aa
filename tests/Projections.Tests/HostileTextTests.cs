using HealthEvents.Domain.Common;
using HealthEvents.Domain.Patients;
using HealthEvents.Projections.Views.Audit;
using HealthEvents.Projections.Views.Consents;
using HealthEvents.Projections.Views.Insurance;

namespace HealthEvents.Projections.Tests;

/// <summary>
/// Events appended straight through the store, past validation (as before the text rule, or by another node), with
/// every hostile string PostgreSQL's jsonb refuses: every view still stores its rows and moves on.
/// </summary>
public sealed class HostileTextTests : IAsyncLifetime
{
    private ProjectionDatabase _db = null!;

    public async Task InitializeAsync() => _db = await ProjectionDatabase.CreateAsync();

    public async Task DisposeAsync() => await _db.DisposeAsync();

    [Theory]
    [InlineData("nul\u0000inside")]
    [InlineData("\u0000")]
    [InlineData("lone \uD800 surrogate")]
    [InlineData("bell\u0007 and escape\u001B")]
    public async Task Every_view_stores_hostile_text_and_moves_on(string hostile)
    {
        var p = _db.Patient();
        var actor = new Actor("dr-" + hostile, Role.Physician, "h1");
        await p.AppendAsync(actor, new PatientRegistered(p.Id, "h1", 1970, Sex.Female, "enc"));
        await p.AppendAsync(actor, new RecordEntryAdded(Guid.NewGuid(), Category.Conditions, "http://x/" + hostile, hostile, "enc", p.Now, actor.Id, "h1"));
        await p.AppendAsync(p.Self, new ConsentGranted(Guid.NewGuid(), Grantee.Practitioner(hostile), [Category.Conditions], [Purpose.Treatment], [AccessAction.Read], p.Now, null));
        await p.AppendAsync(actor, new EmergencyAccessUsed(Guid.NewGuid(), actor, hostile, [Category.Conditions]));
        await p.AppendAsync(PatientWriter.Admin, new InsuranceLinked(hostile, hostile, p.Now, p.Now.AddYears(1)));
        var last = await p.AppendAsync(PatientWriter.DrB, new RecordEntryRetracted(Guid.NewGuid(), hostile, "dr-b", "h2"));

        var readModels = _db.NewReadModels();
        var runner = _db.NewRunner([new AuditProjection(), new ConsentProjection(), new InsuranceProjection()], readModels: readModels);
        _db.Own(await runner.StartedAsync());

        await runner.WaitForOrFailAsync(last.Events[^1].Position!.Value);
        var audit = await new AuditQuery(readModels).QueryAsync(p.Id, limit: 50);
        Assert.Equal(6, audit.Items.Count);
        Assert.DoesNotContain(audit.Items, i => i.Reason?.Contains('\0') == true);
    }
}
