using System.Net;
using HealthEvents.Application.Patients;
using HealthEvents.Application.Ports;
using HealthEvents.Domain.Common;
using HealthEvents.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace HealthEvents.Api.Tests;

/// <summary>
/// A dishonest member with write access to the event store takes a patient over. It hides the patient's registration
/// from stream reads for a moment — on EventStoreDB with <c>$tb</c> past version 0 (or a soft delete), on PostgreSQL by
/// moving the row aside — and registers the same patient id as its own on a node that reads the stream afresh (a
/// restart, a second API node). That node, seeing no registration, decides a new one, and its endorsers, reading the
/// same cut stream, endorse it (today: 201). Once the registration is back, the stream holds two endorsed registrations,
/// every verifier holds it for intact, and the later one names another home hospital: its patient tokens now speak for
/// the patient, the real home's are refused. Nothing may be decided on a stream that does not start at version 0.
/// </summary>
public abstract partial class HiddenStreamStartSpec(TestStore store) : ServiceOnStore(store)
{
    /// <summary>Hides version 0 of <paramref name="stream"/> from reads, restorably (see <see cref="RestoreAsync"/>).</summary>
    protected abstract Task HideStartAsync(string stream);

    /// <summary>Serves the hidden events again.</summary>
    protected abstract Task RestoreAsync(string stream);

    [SkippableFact]
    public Task A_registration_decided_on_a_stream_whose_beginning_is_hidden_cannot_take_the_patient_over() =>
        AssertNoTakeoverAsync(HideStartAsync);

    /// <summary>
    /// Northside's patient, who granted Lakeside a consent (versions 0 and 1); <paramref name="hide"/> hides her stream's
    /// start; Riverside registers her id as its own on a cold node; the start is restored. Nothing may have changed.
    /// </summary>
    protected async Task AssertNoTakeoverAsync(Func<string, Task> hide)
    {
        var (patient, patientClient) = await NewConsentingPatientAsync("Paula Possession", "lakeside");
        var stream = PatientStream.StreamId(patient);
        var end = (await Events.ReadLastAsync(stream))!.Version;
        await hide(stream);

        var failures = new List<string>();
        await using (var cold = await ColdNodeAsync())
        {
            using var register = await cold.As("riverside physician").PostJsonAsync("/patients",
                new { patientId = patient, homeHospital = "riverside", birthYear = 1975, sex = "female", name = "Paula Possession" });
            if (register.IsSuccessStatusCode) failures.Add($"registering over the hidden registration answered {(int)register.StatusCode} {await register.Content.ReadAsStringAsync()}");
        }
        await RestoreAsync(stream);

        var registrations = (await Events.ReadStreamAsync(stream).ToListAsync()).Where(e => e.Type == "patient.registered.v1").Select(e => e.Version).ToList();
        if (registrations.Count != 1) failures.Add($"the stream holds registrations at versions {string.Join(", ", registrations)}");
        if ((await Events.ReadLastAsync(stream))!.Version != end) failures.Add($"the stream grew past version {end}");
        // This node still knows her home, so her own token still reads her verification here.
        using (var verification = await patientClient.GetAsync($"/patients/{patient}/verification"))
            if (registrations.Count != 1 && verification.StatusCode == HttpStatusCode.OK && (await verification.JsonAsync()).GetProperty("verified").GetBoolean())
                failures.Add("her verification holds the stream with a second registration for intact");
        await using (var fresh = await ColdNodeAsync())
        {
            using var riversideAsPatient = await fresh.Client(fresh.Mint("riverside", "paula", Role.Patient, patient)).GetAsync($"/patients/{patient}/consents");
            if (riversideAsPatient.StatusCode != HttpStatusCode.Unauthorized)
                failures.Add($"a patient token of riverside (not her home) reads her consents: {(int)riversideAsPatient.StatusCode}");
            using var homeAsPatient = await fresh.Client(fresh.Mint("northside", "paula", Role.Patient, patient)).GetAsync($"/patients/{patient}/consents");
            if (homeAsPatient.StatusCode != HttpStatusCode.OK) failures.Add($"her home hospital's patient token is refused: {(int)homeAsPatient.StatusCode}");
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    /// <summary>
    /// The store writer who holds the read models writes a leaf of the ledger view whose hash is not hex (every leaf of a
    /// patient's stream). Every decision on the stream now reads that leaf (<c>ILedgeredHistory</c>), and so do her
    /// verification and envelopes: a view the attacker can write is input like any other, and no route may answer 500 on it
    /// (today: 500 for the physician's access request and for her own verification).
    /// </summary>
    [SkippableFact]
    public async Task A_ledger_leaf_whose_hash_is_not_hex_gets_answers_never_a_500()
    {
        var (patient, patientClient) = await NewConsentingPatientAsync("Hexa Broken", "lakeside");
        var stream = PatientStream.StreamId(patient);
        await Patience.UntilAsync(async () => await Host.ExecuteSqlAsync(
                $"UPDATE readmodels.mt_doc_ledgerleaf SET data = jsonb_set(data, '{{hash}}', '\"not-hex\"') WHERE data->>'streamId' = '{stream}'") >= 2,
            () => "the ledger never took her registration and consent in");

        var failures = new List<string>();
        using (var access = await Host.As("lakeside physician").PostJsonAsync($"/patients/{patient}/access",
            new { purpose = "treatment", categories = new[] { "conditions" } }))
            if ((int)access.StatusCode >= 500) failures.Add($"POST /patients/{{id}}/access: {(int)access.StatusCode}");
        foreach (var route in new[] { "verification", "envelopes", "audit", "consents" })
        {
            using var answer = await patientClient.GetAsync($"/patients/{patient}/{route}");
            if ((int)answer.StatusCode >= 500) failures.Add($"GET /patients/{{id}}/{route} as the patient: {(int)answer.StatusCode}");
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    /// <summary>A new patient of Northside (version 0) who granted <paramref name="grantee"/> treatment reads of conditions (version 1).</summary>
    protected async Task<(Guid Id, HttpClient Patient)> NewConsentingPatientAsync(string name, string grantee)
    {
        var (patient, patientClient) = await Host.NewPatientAsync(name);
        await GrantAsync(patientClient, patient, grantee);
        return (patient, patientClient);
    }

    /// <summary>The patient grants <paramref name="grantee"/> treatment reads of conditions; the consent's id.</summary>
    protected internal static async Task<string?> GrantAsync(HttpClient patientClient, Guid patient, string grantee)
    {
        using var grant = await patientClient.PostJsonAsync($"/patients/{patient}/consents", new
        {
            grantee = new { kind = "hospital", id = grantee }, categories = new[] { "conditions" },
            purposes = new[] { "treatment" }, actions = new[] { "read" },
        });
        Assert.True(grant.StatusCode == HttpStatusCode.Created, $"granting answered {(int)grant.StatusCode} {await grant.Content.ReadAsStringAsync()}");
        return (await grant.JsonAsync()).GetProperty("consentId").GetString();
    }

    protected IEventStore Events => Host.Services.GetRequiredService<IEventStore>();

    /// <summary>Registers one more patient (a head signs only over new leaves); false, so a wait looks again.</summary>
    protected async Task<bool> RegisteredFillerAsync()
    {
        await Host.NewPatientAsync("Filler Patient");
        return false;
    }

    /// <summary>A node reading every stream afresh beside this one (<see cref="ServiceHost.ColdCopyAsync"/>).</summary>
    protected Task<ServiceHost> ColdNodeAsync() => Host.ColdCopyAsync();
}

/// <summary>The takeover on PostgreSQL: version 0's row moved to another stream id for a moment, then moved back.</summary>
public sealed partial class HiddenStreamStartOnPostgresTests() : HiddenStreamStartSpec(TestStore.PostgreSql)
{
    protected override Task HideStartAsync(string stream) =>
        Host.ExecuteSqlAsync($"UPDATE he_events SET stream_id = '{stream}-aside' WHERE stream_id = '{stream}' AND version = 0");

    protected override Task RestoreAsync(string stream) =>
        Host.ExecuteSqlAsync($"UPDATE he_events SET stream_id = '{stream}' WHERE stream_id = '{stream}-aside'");

    /// <summary>
    /// A store writer replaces the patient's registration (version 0) in place: same event id, type and metadata, the
    /// home hospital changed to Riverside, its hash recomputed from the genesis so version 0 is self-consistent; the
    /// endorsement is left as it was (it no longer matches), and version 1's prevHash no longer links to it. A cold
    /// node's patient-token check (PatientDirectory.HomeAsync: genesis prevHash and own hash only) and its fold
    /// (StreamContinuity: versions only, no link check) both take Riverside for her home: Riverside's patient token reads
    /// her consents and grants itself a consent that its endorsers endorse (today: 200 and 201). Nothing may be decided on,
    /// nor anyone let speak for her by, a version 0 the network did not endorse.
    /// </summary>
    [SkippableFact]
    public async Task A_registration_replaced_in_place_does_not_let_another_hospital_speak_for_the_patient()
    {
        var (patient, _) = await NewConsentingPatientAsync("Rhoda Rewritten", "lakeside");
        var stream = PatientStream.StreamId(patient);
        var end = (await Events.ReadLastAsync(stream))!.Version;
        var first = (await Events.ReadFirstAsync(stream))!;
        var serializer = HealthEvents.Application.Serialization.EventSerializer.Default;
        var registered = (HealthEvents.Domain.Patients.PatientRegistered)serializer.Deserialize(first.Type, first.Data);
        Assert.Equal("northside", registered.HomeHospital);
        var data = serializer.Serialize(registered with { HomeHospital = "riverside" });
        var hash = HealthEvents.Application.Ledger.HashChain.ComputeHash(first with { Data = data });
        await using (var connection = new Npgsql.NpgsqlConnection(Host.ConnectionString))
        {
            await connection.OpenAsync();
            await using var update = new Npgsql.NpgsqlCommand(
                "UPDATE he_events SET data = $1, hash = $2 WHERE stream_id = $3 AND version = 0", connection);
            update.Parameters.Add(new() { Value = data });
            update.Parameters.Add(new() { Value = hash });
            update.Parameters.Add(new() { Value = stream });
            Assert.Equal(1, await update.ExecuteNonQueryAsync());
        }

        var failures = new List<string>();
        await using (var cold = await ColdNodeAsync())
        {
            var riverside = cold.Client(cold.Mint("riverside", "rhoda", Role.Patient, patient));
            using var read = await riverside.GetAsync($"/patients/{patient}/consents");
            if (read.IsSuccessStatusCode) failures.Add($"riverside's patient token reads her consents: {(int)read.StatusCode}");
            using var grant = await riverside.PostJsonAsync($"/patients/{patient}/consents", new
            {
                grantee = new { kind = "hospital", id = "riverside" }, categories = new[] { "conditions" },
                purposes = new[] { "treatment" }, actions = new[] { "read" },
            });
            if (grant.IsSuccessStatusCode) failures.Add($"riverside's patient token grants a consent in her name: {(int)grant.StatusCode}");
        }
        var last = (await Events.ReadLastAsync(stream))!.Version;
        if (last != end) failures.Add($"the stream grew from version {end} to {last}");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    /// <summary>
    /// The registration replaced as above, and the chain after it rewritten too: version 1 re-linked to the new version 0
    /// and every hash recomputed, so the stream's own chain holds from the genesis to its end. Only two witnesses remain:
    /// the endorsement of version 0 (the network signed a registration naming Northside) and the ledger, which took both
    /// events in with their old hashes. The patient-token check must not take Riverside's word from an unendorsed
    /// version 0, and no node may decide on a chain that is not the one the ledger holds.
    /// </summary>
    [SkippableFact]
    public async Task A_registration_rewritten_with_its_whole_chain_does_not_let_another_hospital_speak_for_the_patient()
    {
        var (patient, patientClient) = await NewConsentingPatientAsync("Rhea Rechained", "lakeside");
        var stream = PatientStream.StreamId(patient);
        var (stored, _) = await RewriteAsRiversidesAsync(stream);

        var failures = new List<string>();
        await using (var cold = await ColdNodeAsync())
        {
            var riverside = cold.Client(cold.Mint("riverside", "rhea", Role.Patient, patient));
            using var read = await riverside.GetAsync($"/patients/{patient}/consents");
            if (read.StatusCode != HttpStatusCode.Forbidden && read.StatusCode != HttpStatusCode.Unauthorized)
                failures.Add($"riverside's patient token reads her consents: {(int)read.StatusCode}");
            using var access = await cold.As("lakeside physician").PostJsonAsync($"/patients/{patient}/access",
                new { purpose = "treatment", categories = new[] { "conditions" } });
            var body = await access.Content.ReadAsStringAsync();
            if (access.StatusCode != HttpStatusCode.Conflict || !body.Contains("damaged-stream"))
                failures.Add($"a node decided on the rewritten chain: {(int)access.StatusCode} {body}");
        }
        var last = (await Events.ReadLastAsync(stream))!.Version;
        if (last != stored[^1].Version) failures.Add($"the stream grew from version {stored[^1].Version} to {last}");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    /// <summary>
    /// The whole chain rewritten as above (her registration naming Riverside), and each transaction endorsed again by two
    /// members that are not her home, Riverside and Lakeside, who meet the policy between themselves, at each transaction's
    /// own stamped time. The stream now verifies on its own; the ledger, which took both events in with their old hashes,
    /// is the one witness left, and every command reads it — but a cold node's patient-token check reads only version 0
    /// and its endorsement, and a patient's reads fold the stream without the ledger's leaf. Riverside's patient token
    /// then reads her consents (today: 200): two hospitals that do not represent her speak for her.
    /// </summary>
    [SkippableFact]
    public async Task A_registration_rewritten_and_endorsed_again_by_two_other_members_does_not_let_them_speak_for_the_patient()
    {
        var (patient, _) = await NewConsentingPatientAsync("Rena Reendorsed", "lakeside");
        await ReendorseAsRiversidesAsync(patient);

        await AssertRiversideCannotSpeakForAsync(patient);
    }

    /// <summary>
    /// The patient's whole chain rewritten with her registration naming Riverside, each transaction endorsed again by
    /// Riverside and Lakeside, who meet the policy between themselves. Returns the rewritten events, by version.
    /// </summary>
    private async Task<List<EventEnvelope>> ReendorseAsRiversidesAsync(Guid patient)
    {
        var colluders = new ColludingHospitals(Host, "riverside", "lakeside");
        var (_, rewritten) = await RewriteAsRiversidesAsync(PatientStream.StreamId(patient), (e, hash) =>
        {
            Assert.Equal(1, e.Endorsement?.EventCount); // each event here is a transaction of its own
            return colluders.Endorse(e.Version, 1, hash);
        });
        return rewritten;
    }

    /// <summary>
    /// The rewrite above, and the store writer who holds the read models deletes the ledger view's leaf at her version 0.
    /// The token check must not take "no leaf" for "not taken in yet" once a signed tree head covers her registration.
    /// </summary>
    [SkippableFact]
    public async Task A_rewritten_registration_whose_ledger_leaf_is_deleted_from_the_view_does_not_let_them_speak_for_the_patient()
    {
        var (patient, _) = await NewConsentingPatientAsync("Lena Leafless", "lakeside");
        await SignedOverAsync(PatientStream.StreamId(patient));
        await ReendorseAsRiversidesAsync(patient);
        Assert.Equal(1, await Host.ExecuteSqlAsync(
            $"DELETE FROM readmodels.mt_doc_ledgerleaf WHERE data->>'streamId' = '{PatientStream.StreamId(patient)}' AND (data->>'streamVersion')::bigint = 0"));

        await AssertRiversideCannotSpeakForAsync(patient);
    }

    /// <summary>
    /// The rewrite above, and the view's leaf at her version 0 edited to the forged hash: the token check must prove the
    /// registration under a signed tree head (whose root still holds the old hash), not take the view's leaf on its word.
    /// </summary>
    [SkippableFact]
    public async Task A_rewritten_registration_whose_ledger_leaf_is_edited_to_the_forged_hash_does_not_let_them_speak_for_the_patient()
    {
        var (patient, _) = await NewConsentingPatientAsync("Edda Edited", "lakeside");
        await SignedOverAsync(PatientStream.StreamId(patient));
        var forged = Convert.ToHexStringLower((await ReendorseAsRiversidesAsync(patient))[0].Hash);
        Assert.Equal(1, await Host.ExecuteSqlAsync(
            $"UPDATE readmodels.mt_doc_ledgerleaf SET data = jsonb_set(data, '{{hash}}', '\"{forged}\"') " +
            $"WHERE data->>'streamId' = '{PatientStream.StreamId(patient)}' AND (data->>'streamVersion')::bigint = 0"));

        await AssertRiversideCannotSpeakForAsync(patient);
    }

    /// <summary>
    /// The rewrite above, and every leaf of her stream deleted from the ledger view: her verification must still compare
    /// her stream with the signed tree heads that cover her original events, and name the rewrite.
    /// </summary>
    [SkippableFact]
    public async Task A_rewritten_stream_whose_ledger_leaves_are_deleted_from_the_view_is_not_verified()
    {
        var (patient, _) = await NewConsentingPatientAsync("Vera Viewless", "lakeside");
        await SignedOverAsync(PatientStream.StreamId(patient));
        await ReendorseAsRiversidesAsync(patient);
        Assert.True(await Host.ExecuteSqlAsync($"DELETE FROM readmodels.mt_doc_ledgerleaf WHERE data->>'streamId' = '{PatientStream.StreamId(patient)}'") >= 2);

        await using var cold = await ColdNodeAsync();
        using var verification = await cold.Client(cold.Mint("riverside", "vera", Role.Patient, patient)).GetAsync($"/patients/{patient}/verification");
        var body = await verification.Content.ReadAsStringAsync();
        Assert.False(verification.StatusCode == HttpStatusCode.OK && (await verification.JsonAsync()).GetProperty("verified").GetBoolean(),
            $"her rewritten history reads as verified: {(int)verification.StatusCode} {body}");
    }

    /// <summary>
    /// The rewrite above (endorsed again by the two colluders), and every leaf of her stream deleted from the ledger view:
    /// the decision's ledger check finds no leaf to compare with. A node folding her stream for the first time must still
    /// prove it under the signed tree head that covers her original events, and refuse to decide on the rewrite.
    /// </summary>
    [SkippableFact]
    public async Task A_rewritten_stream_whose_ledger_leaves_are_deleted_from_the_view_is_not_decided_on()
    {
        var (patient, stream, rewritten) = await RewrittenWithoutLeavesAsync("Dora Decided");

        await using var cold = await ColdNodeAsync();
        Assert.Null(await DecidedOnAsync(cold, patient));
        Assert.Equal(rewritten[^1].Version, (await Events.ReadLastAsync(stream))!.Version);
        // The refusal says what is wrong: the event the stream holds is not the one the signed heads hold (not "unreadable").
        using var again = await cold.As("lakeside physician").PostJsonAsync($"/patients/{patient}/access",
            new { purpose = "treatment", categories = new[] { "conditions" } });
        var detail = await again.Content.ReadAsStringAsync();
        Assert.True(again.StatusCode == HttpStatusCode.Conflict && detail.Contains("is not the one the ledger's signed tree heads hold"), detail);
    }

    /// <summary>
    /// A new patient of Northside whose stream, once a signed tree head covers it, is rewritten as Riverside's and endorsed
    /// again by the two colluders, and every leaf of it deleted from the ledger view. Returns her, her stream and the rewrite.
    /// </summary>
    private async Task<(Guid Patient, string Stream, List<EventEnvelope> Rewritten)> RewrittenWithoutLeavesAsync(string name)
    {
        var (patient, _) = await NewConsentingPatientAsync(name, "lakeside");
        var stream = PatientStream.StreamId(patient);
        await SignedOverAsync(stream);
        var rewritten = await ReendorseAsRiversidesAsync(patient);
        Assert.True(await Host.ExecuteSqlAsync($"DELETE FROM readmodels.mt_doc_ledgerleaf WHERE data->>'streamId' = '{stream}'") >= 2);
        return (patient, stream, rewritten);
    }

    /// <summary>Lakeside's physician asks <paramref name="node"/> for her conditions: null when refused as damaged-stream (409), else what it answered.</summary>
    private static async Task<string?> DecidedOnAsync(ServiceHost node, Guid patient)
    {
        using var access = await node.As("lakeside physician").PostJsonAsync($"/patients/{patient}/access",
            new { purpose = "treatment", categories = new[] { "conditions" } });
        var body = await access.Content.ReadAsStringAsync();
        // Refused as damaged, or (its ledger view cannot prove anything now) as unavailable: either way nothing was decided.
        return (access.StatusCode == HttpStatusCode.Conflict && body.Contains("damaged-stream"))
            || (access.StatusCode == HttpStatusCode.ServiceUnavailable && body.Contains("ledger-view-behind"))
            ? null : $"a node decided on the rewritten chain: {(int)access.StatusCode} {body}";
    }

    /// <summary>
    /// A signed head erased: once a tree head signed over her events, the store writer rewrites and re-endorses her stream
    /// as above, deletes from the ledger stream the heads that cover her events (its tail: the earlier heads stay), and
    /// deletes her leaves from the ledger view. The latest head left is older than her events; `verify` must notice the
    /// ledger stream no longer serves the heads the view recorded.
    /// </summary>
    [SkippableFact]
    public async Task A_signed_head_cut_from_the_ledger_stream_over_a_rewritten_stream_is_not_verified()
    {
        var (patient, _) = await NewConsentingPatientAsync("Cora Cut", "lakeside");
        var stream = PatientStream.StreamId(patient);
        var covering = await SignedOverAsync(stream);
        await ReendorseAsRiversidesAsync(patient);
        Assert.True(await Host.ExecuteSqlAsync($"DELETE FROM he_events WHERE stream_id = 'ledger' AND event_id IN (SELECT h.id::uuid {covering})") >= 1);
        Assert.True(await Host.ExecuteSqlAsync($"DELETE FROM readmodels.mt_doc_ledgerleaf WHERE data->>'streamId' = '{stream}'") >= 2);

        var verify = await Host.RunVerbAsync("verify");
        Assert.True(verify.ExitCode == 1, $"verify calls the store verified with a signed head cut and her stream rewritten: exit {verify.ExitCode}: {verify.Stdout}{verify.Stderr}");
    }

    /// <summary>
    /// Waits until a signed tree head covers the stream's every event and at least one leaf after them (a head signs only
    /// over new leaves: other patients register until one does). Returns the SQL tail that selects those heads in the ledger view (<c>FROM ... h WHERE ...</c>).
    /// </summary>
    private async Task<string> SignedOverAsync(string stream)
    {
        // Beyond her last leaf: a head whose last leaf is her own event would be one the rewrite damages, and the anchor is
        // then the head before it (docs/architecture.md, "What this cannot see").
        var covering = "FROM readmodels.mt_doc_ledgertreehead h WHERE (h.data->>'treeSize')::bigint > 1 + (SELECT max((l.data->>'leafIndex')::bigint) " +
            $"FROM readmodels.mt_doc_ledgerleaf l WHERE l.data->>'streamId' = '{stream}')";
        await LedgeredStreamAsync(stream);
        await Patience.UntilAsync(async () =>
        {
            if (await Host.ExecuteSqlAsync($"UPDATE readmodels.mt_doc_ledgertreehead SET data = data WHERE id IN (SELECT h.id {covering})") > 0) return true;
            await Host.NewPatientAsync("Filler Patient");
            return false;
        }, () => "no signed tree head ever covered her events");
        return covering;
    }

    /// <summary>Riverside's patient token (not her home) reading her consents on a node reading her stream afresh: refused.</summary>
    private async Task AssertRiversideCannotSpeakForAsync(Guid patient)
    {
        await using var cold = await ColdNodeAsync();
        using var read = await cold.Client(cold.Mint("riverside", "rena", Role.Patient, patient)).GetAsync($"/patients/{patient}/consents");
        Assert.True(read.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden or HttpStatusCode.Conflict,
            $"riverside's patient token reads her consents on a node reading her stream afresh: {(int)read.StatusCode} {await read.Content.ReadAsStringAsync()}");
    }

    /// <summary>
    /// A store writer cuts the stream's end instead of its start: the patient's revocation of Lakeside's consent (her last
    /// event) is deleted after the ledger took it in. A cold node folds versions 0 and 1, which start at the genesis and
    /// skip nothing, finds the consent active, and Lakeside's physician is released her conditions, endorsed, at the
    /// version her revocation held (today: 200). Only the ledger knows the stream was longer; nothing may be decided,
    /// nor endorsed, on a stream shorter than the history the ledger holds of it.
    /// </summary>
    [SkippableFact]
    public async Task A_revocation_cut_from_the_streams_end_does_not_release_her_records()
    {
        var (patient, stream, revokedAt) = await RevokedAndLedgeredAsync("Trudy Truncated");
        await Host.ExecuteSqlAsync($"DELETE FROM he_events WHERE stream_id = '{stream}' AND version = {revokedAt}");

        await AssertNotReleasedByAColdNodeAsync(patient);
    }

    /// <summary>
    /// The store writer cuts the patient's revocation off her stream's end before the ledger took it in (the ledger view's
    /// leaves held still by a table lock, as a busy ledger lags). The node that decided the revocation knows it: its cached
    /// state is past the cut. Lakeside's physician then asks that node for her conditions; the denial it decides (an
    /// event) fails on the version, the node finds the stream shorter than it decided on, drops its cached state and
    /// decides again on what is served — the consent active — and its endorsers, told the older version, drop theirs
    /// too: her records are released, endorsed, at the version her revocation held (today: 200). A node must not
    /// forget, because a store writer cut it, a history it decided on itself: a stream shorter than this node's own
    /// decision is damaged, as one shorter than the ledger is.
    /// </summary>
    [SkippableFact]
    public async Task A_warm_node_does_not_forget_a_revocation_cut_before_the_ledger_took_it_in()
    {
        var (patient, patientClient) = await Host.NewPatientAsync("Wanda Warm");
        var consentId = await GrantAsync(patientClient, patient, "lakeside");
        var stream = PatientStream.StreamId(patient);

        // The ledger view takes nothing in while this transaction holds its leaves (reads still pass).
        await using var hold = new Npgsql.NpgsqlConnection(Host.ConnectionString);
        await hold.OpenAsync();
        await using var held = await hold.BeginTransactionAsync();
        await using (var lockLeaves = new Npgsql.NpgsqlCommand("LOCK TABLE readmodels.mt_doc_ledgerleaf IN SHARE ROW EXCLUSIVE MODE", hold, held))
            await lockLeaves.ExecuteNonQueryAsync();

        using (var revoke = await patientClient.DeleteAsync($"/patients/{patient}/consents/{consentId}"))
            Assert.True(revoke.IsSuccessStatusCode, $"revoking answered {(int)revoke.StatusCode}");
        var revokedAt = (await Events.ReadLastAsync(stream))!.Version;
        Assert.True((await Host.Services.GetRequiredService<ILedgeredHistory>().LatestLeafAsync(stream))?.Version is not { } leaf || leaf < revokedAt,
            "the ledger took the revocation in despite the lock");
        Assert.Equal(1, await Host.ExecuteSqlAsync($"DELETE FROM he_events WHERE stream_id = '{stream}' AND version = {revokedAt}"));

        using var access = await Host.As("lakeside physician").PostJsonAsync($"/patients/{patient}/access",
            new { purpose = "treatment", categories = new[] { "conditions" } });
        var body = await access.Content.ReadAsStringAsync();
        await held.RollbackAsync();
        Assert.True(access.StatusCode != HttpStatusCode.OK,
            $"the node that decided her revocation released her records once it was cut: {(int)access.StatusCode} {body}");
    }

    /// <summary>
    /// The store writer cuts the <c>ledger</c> stream's last tree head (its row in <c>he_events</c>). The ledger stream is the
    /// one stream no decision checks against the ledger view, and the node that signed that head keeps it in its cached
    /// state: it decides the next head at the version after the cut one, the store answers that the stream is shorter, and
    /// the cache is never dropped, so no head is ever signed again — no new patient's event is proven, nothing after the cut
    /// is dated — while commands go on being accepted. Honest work after the cut must still be signed into the ledger, or
    /// the node must say why it cannot (today: the ledger stream never grows again).
    /// </summary>
    [SkippableFact]
    public async Task Tree_heads_are_signed_again_after_the_ledger_streams_last_head_is_cut()
    {
        // A head is signed only over new leaves: a patient registered after each look, until two heads are stored.
        await Patience.UntilAsync(async () =>
        {
            if ((await Events.ReadLastAsync(Application.Ledger.LedgerStream.StreamId))?.Version >= 1) return true;
            await Host.NewPatientAsync("Lena Ledger");
            return false;
        }, () => "the ledger never signed two heads");
        var cut = (await Events.ReadLastAsync(Application.Ledger.LedgerStream.StreamId))!.Version;
        Assert.Equal(1, await Host.ExecuteSqlAsync($"DELETE FROM he_events WHERE stream_id = '{Application.Ledger.LedgerStream.StreamId}' AND version = {cut}"));

        await Host.NewPatientAsync("Nora Next");
        await Patience.UntilAsync(async () => (await Events.ReadLastAsync(Application.Ledger.LedgerStream.StreamId))?.Version >= cut,
            () => $"no tree head was signed after the ledger stream's head at version {cut} was cut; the node said:\n"
                + string.Join("\n", Host.Logs.Lines.Where(l => l.Contains("Ledger") || l.StartsWith("Warning") || l.StartsWith("Error")).TakeLast(15)));
    }

    /// <summary>
    /// A new patient who granted Lakeside treatment reads of conditions and then revoked it (her last event, at the version
    /// returned), once the ledger has taken the revocation in and a signed head proves it.
    /// </summary>
    private async Task<(Guid Patient, string Stream, long RevokedAt)> RevokedAndLedgeredAsync(string name)
    {
        var (patient, patientClient) = await Host.NewPatientAsync(name);
        var consentId = await GrantAsync(patientClient, patient, "lakeside");
        using var revoke = await patientClient.DeleteAsync($"/patients/{patient}/consents/{consentId}");
        Assert.True(revoke.IsSuccessStatusCode, $"revoking answered {(int)revoke.StatusCode}");
        var stream = PatientStream.StreamId(patient);
        var revokedAt = (await Events.ReadLastAsync(stream))!.Version;
        await Patience.UntilAsync(async () => (await patientClient.GetAsync($"/patients/{patient}/envelopes")).StatusCode == HttpStatusCode.OK
            && (await (await patientClient.GetAsync($"/patients/{patient}/envelopes")).JsonAsync()).GetProperty("ledger") is { ValueKind: System.Text.Json.JsonValueKind.Object } ledger
            && ledger.TryGetProperty("provenVersion", out var proven) && proven.ValueKind == System.Text.Json.JsonValueKind.Number && proven.GetInt64() == revokedAt,
            () => "the ledger never took the revocation in");
        return (patient, stream, revokedAt);
    }

    /// <summary>
    /// Rewrites the patient's whole ledgered stream in place so that her registration names Riverside: version 0's data
    /// changed, every event re-linked and its hash recomputed from the genesis; each event's endorsement replaced by
    /// <paramref name="reendorse"/>'s (given the stored event and its new hash), or left as it was. Returns the stream as
    /// it was stored and as rewritten.
    /// </summary>
    private async Task<(List<EventEnvelope> Stored, List<EventEnvelope> Rewritten)> RewriteAsRiversidesAsync(
        string stream, Func<EventEnvelope, byte[], TransactionEndorsement>? reendorse = null)
    {
        var (stored, registered) = await LedgeredStreamAsync(stream);
        var serializer = HealthEvents.Application.Serialization.EventSerializer.Default;
        var rewritten = new List<EventEnvelope>();
        var prev = HealthEvents.Application.Ledger.HashChain.Genesis;
        await using var connection = new Npgsql.NpgsqlConnection(Host.ConnectionString);
        await connection.OpenAsync();
        foreach (var e in stored)
        {
            var moved = e with { Data = e.Version == 0 ? serializer.Serialize(registered with { HomeHospital = "riverside" }) : e.Data, PrevHash = prev };
            moved = moved with { Hash = HealthEvents.Application.Ledger.HashChain.ComputeHash(moved) };
            if (reendorse is not null) moved = moved with { Endorsement = reendorse(e, moved.Hash) };
            rewritten.Add(moved);
            prev = moved.Hash;
            await using var update = new Npgsql.NpgsqlCommand(
                "UPDATE he_events SET data = $1, prev_hash = $2, hash = $3, endorsement = $4 WHERE stream_id = $5 AND version = $6", connection);
            foreach (var value in new object?[] { moved.Data, moved.PrevHash, moved.Hash, moved.Endorsement?.ToJson() ?? e.Endorsement?.ToJson(), stream, e.Version })
                update.Parameters.Add(new() { Value = value ?? DBNull.Value });
            Assert.Equal(1, await update.ExecuteNonQueryAsync());
        }
        return (stored, rewritten);
    }

    /// <summary>The stream's events, once the ledger has taken its last one in, and the registration at version 0.</summary>
    private async Task<(List<EventEnvelope> Stored, HealthEvents.Domain.Patients.PatientRegistered Registered)> LedgeredStreamAsync(string stream)
    {
        var stored = new List<EventEnvelope>();
        await foreach (var e in Events.ReadStreamAsync(stream)) stored.Add(e);
        await Patience.UntilAsync(async () => (await Host.Services.GetRequiredService<ILedgeredHistory>().LatestLeafAsync(stream))?.Version == stored[^1].Version,
            () => "the ledger never took the patient's last event in");
        var registered = (HealthEvents.Domain.Patients.PatientRegistered)HealthEvents.Application.Serialization.EventSerializer.Default.Deserialize(stored[0].Type, stored[0].Data);
        return (stored, registered);
    }

    /// <summary>Lakeside's physician, on a node reading the stream afresh, is not released her conditions.</summary>
    private async Task AssertNotReleasedByAColdNodeAsync(Guid patient)
    {
        await using var cold = await ColdNodeAsync();
        using var access = await cold.As("lakeside physician").PostJsonAsync($"/patients/{patient}/access",
            new { purpose = "treatment", categories = new[] { "conditions" } });
        Assert.True(access.StatusCode != HttpStatusCode.OK, $"a node reading the cut stream released her records: {(int)access.StatusCode} {await access.Content.ReadAsStringAsync()}");
    }
}
