using HealthEvents.Domain.Common;
using HealthEvents.Domain.Patients;
using HealthEvents.Projections.Views.Audit;
using HealthEvents.Projections.Views.Consents;
using HealthEvents.Projections.Views.Insurance;

namespace HealthEvents.Projections.Tests;

/// <summary>The four views built by the runner from one realistic history.</summary>
public sealed class ViewTests : IAsyncLifetime
{
    private ProjectionDatabase _db = null!;
    private PatientHistory _h = null!;
    private ReadModelStore _rm = null!;

    public async Task InitializeAsync()
    {
        _db = await ProjectionDatabase.CreateAsync();
        _h = await PatientHistory.WriteAsync(_db);
        _rm = _db.NewReadModels();
        var runner = _db.NewRunner([new AuditProjection(), new ConsentProjection(), new InsuranceProjection()], readModels: _rm);
        _db.Own(await runner.StartedAsync());
        await runner.WaitForOrFailAsync(_h.Last);
    }

    public async Task DisposeAsync() => await _db.DisposeAsync();

    [Fact]
    public async Task Audit_has_one_row_per_patient_event_with_actor_hash_and_endorsers()
    {
        var page = await new AuditQuery(_rm).QueryAsync(_h.P.Id, limit: 200);
        Assert.Null(page.Next);
        var versions = page.Items.Select(i => i.StreamVersion).ToList();
        Assert.Equal(Enumerable.Range(0, 18).Where(v => v != 9).Select(v => (long)v), versions); // v9: unknown type

        Assert.Equal(
            ["patient-registered", "entry-added", "entry-added", "consent-granted", "consent-granted", "consent-granted", "consent-granted",
             "access-granted", "access-denied", "emergency-access", "entry-amended", "entry-added", "entry-retracted", "consent-revoked",
             "insurance-linked", "insurance-ended", "insurance-linked"],
            page.Items.Select(i => i.Action));

        foreach (var item in page.Items)
        {
            var envelope = _h.PByVersion[item.StreamVersion];
            Assert.Equal(envelope.EventId, item.EventId);
            Assert.Equal(envelope.EventId, item.Id);
            Assert.Equal(_h.P.Id, item.PatientId);
            Assert.Equal(Convert.ToHexStringLower(envelope.Hash), item.Hash);
            Assert.Equal(64, item.Hash.Length);
        }

        var registered = page.Items[0];
        Assert.Equal(new AuditActor("dr-a", Role.Physician, "h1"), registered.Actor);
        Assert.Equal(PatientHistory.T0, registered.At);
        Assert.Equal(["h1", "h2"], registered.EndorsedBy);
        Assert.Equal(AuditOutcomes.Recorded, registered.Outcome);

        var added = page.Items.Where(i => i.StreamVersion is 1 or 2).ToList();
        Assert.All(added, a => Assert.Equal(["h1", "h2", "h3"], a.EndorsedBy)); // one transaction, its endorsement on both
        Assert.Equal([Category.Allergies], added[0].Categories);
        Assert.Equal(_h.AllergyEntry, added[0].EntryId);

        var granted = page.Items.Single(i => i.Action == "access-granted");
        Assert.Equal(AuditOutcomes.Granted, granted.Outcome);
        Assert.Equal(new AuditActor("dr-b", Role.Physician, "h2"), granted.Actor);
        Assert.Equal(Purpose.Treatment, granted.Purpose);
        Assert.Equal([Category.Allergies], granted.Categories);
        Assert.Equal([Category.Allergies, Category.MentalHealth], granted.CategoriesRequested);
        Assert.Equal(_h.ConsentDrB, granted.ConsentId);
        Assert.Equal([_h.ConsentDrB], granted.ConsentIds);

        var consent = page.Items.First(i => i.Action == "consent-granted");
        Assert.Equal(_h.ConsentDrB, consent.ConsentId);
        Assert.Equal(Grantee.Practitioner("dr-b"), consent.Grantee);
        Assert.Equal(Role.Patient, consent.Actor.Role);

        var amended = page.Items.Single(i => i.Action == "entry-amended");
        Assert.Equal([Category.Allergies], amended.Categories); // from the audit's own entry lookup
        Assert.Equal("dose corrected", amended.Reason);
        var retracted = page.Items.Single(i => i.Action == "entry-retracted");
        Assert.Equal([Category.MentalHealth], retracted.Categories);
        Assert.Equal(_h.MentalEntry, retracted.EntryId);
    }

    [Fact]
    public async Task Denied_and_emergency_accesses_appear_with_outcome_and_reason()
    {
        var query = new AuditQuery(_rm);
        var denied = Assert.Single((await query.QueryAsync(_h.P.Id, action: "access-denied")).Items);
        Assert.Equal(AuditOutcomes.Denied, denied.Outcome);
        Assert.Equal("no-active-consent", denied.Reason);
        Assert.Equal(Purpose.Research, denied.Purpose);
        Assert.Equal([Category.Genetics], denied.Categories);
        Assert.Equal(new AuditActor("nurse-x", Role.Nurse, "h3"), denied.Actor);
        Assert.Null(denied.ConsentId);

        var emergency = Assert.Single((await query.QueryAsync(_h.P.Id, action: "emergency-access")).Items);
        Assert.Equal(AuditOutcomes.Emergency, emergency.Outcome);
        Assert.Equal("unconscious on arrival", emergency.Reason);
        Assert.Equal(new AuditActor("dr-c", Role.Physician, "h3"), emergency.Actor);
        Assert.Equal([Category.Allergies, Category.Medications], emergency.Categories);
    }

    [Fact]
    public async Task Forgotten_patient_keeps_audit_rows()
    {
        var audit = await new AuditQuery(_rm).QueryAsync(_h.Q.Id);
        Assert.Equal(["patient-registered", "entry-added", "consent-granted", "patient-forgotten"], audit.Items.Select(i => i.Action));
    }

    [Fact]
    public async Task Consent_view_splits_active_upcoming_and_past_and_answers_grantee_checks()
    {
        var consents = new ConsentQuery(_rm);
        var at = PatientHistory.T0.AddDays(1);
        var list = await consents.ListAsync(_h.P.Id, at);
        Assert.Equal([_h.ConsentNurseOpen], list.Active.Select(c => c.ConsentId));
        Assert.Equal([_h.ConsentH2Upcoming], list.Upcoming.Select(c => c.ConsentId));
        Assert.Equal([_h.ConsentDrB, _h.ConsentHomeCareExpired], list.Past.Select(c => c.ConsentId));

        var revoked = list.Past[0];
        Assert.NotNull(revoked.RevokedAt);
        Assert.Equal(Grantee.Practitioner("dr-b"), revoked.Grantee);
        Assert.Equal([Category.Allergies, Category.Medications], revoked.Categories);
        Assert.Equal([Purpose.Treatment], revoked.Purposes);
        Assert.Equal([AccessAction.Read], revoked.Actions);
        Assert.Equal(PatientHistory.T0.AddDays(30), revoked.ValidUntil);
        var nurse = list.Active[0];
        Assert.Null(nurse.ValidUntil);
        Assert.Null(nurse.RevokedAt);
        Assert.Equal(_h.P.Id, nurse.PatientId);
        Assert.True(nurse.GrantedAt > PatientHistory.T0);

    }

    [Fact]
    public async Task Insurance_validity_follows_links_and_ends()
    {
        var insurance = new InsuranceQuery(_rm);
        var t0 = PatientHistory.T0;
        Assert.Equal(new InsuranceValidity(true, "acme-health", t0.AddMonths(6)), await insurance.ValidityAtAsync(_h.P.Id, t0.AddDays(10)));
        Assert.Equal(InsuranceValidity.None, await insurance.ValidityAtAsync(_h.P.Id, t0.AddMonths(6)));     // ended (exclusive)
        Assert.Equal(InsuranceValidity.None, await insurance.ValidityAtAsync(_h.P.Id, t0.AddDays(-1)));      // not yet
        Assert.Equal(new InsuranceValidity(true, "other-insurer", t0.AddYears(2)), await insurance.ValidityAtAsync(_h.P.Id, t0.AddMonths(8)));
        Assert.Equal(InsuranceValidity.None, await insurance.ValidityAtAsync(_h.Q.Id, t0));
    }
}
