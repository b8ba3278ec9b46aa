using System.Net;
using HealthEvents.Application.Patients;
using HealthEvents.Application.Ports;
using HealthEvents.Domain.Common;
using HealthEvents.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace HealthEvents.Api.Tests;

/// <summary>
/// Someone with write access to EventStoreDB hides the beginning of a patient's stream with the server's own tools —
/// stream metadata (<c>$tb</c>, <c>$maxCount</c>) or a soft delete — rather than by appending. Every verifier then reports
/// the stream cut at version 0; what must also hold is that no node decides anything on what is left of it: not on a
/// warm node's cached state, and not on a cold node's reading that lacks the registration.
/// </summary>
public sealed class HiddenHistoryAttackTests() : ServiceOnStore(TestStore.EventStoreDb)
{
    /// <summary>
    /// Stream metadata hides a patient stream's beginning (<c>$tb</c>, or <c>$maxCount</c> keeping only the last event):
    /// every verifier reports the stream cut at version 0, yet the node that served the patient before keeps deciding on
    /// its cached state and its endorsers endorse, so the service goes on appending to a history nobody can verify
    /// (today: 200 and a new event) — while a node that reads the stream afresh finds no registration and answers 404
    /// patient-not-found, so the same request gets two answers. As the network directory does for the network stream,
    /// a command on such a stream must be refused as a damaged stream, and nothing appended.
    /// </summary>
    [SkippableTheory]
    [InlineData("{\"$tb\":1}")]
    [InlineData("{\"$maxCount\":1}")]
    public async Task A_patient_stream_whose_beginning_is_hidden_takes_no_more_commands(string metadata)
    {
        var (patient, patientClient) = await Host.NewPatientAsync("Hilda Hidden");
        var stream = PatientStream.StreamId(patient);
        using (var grant = await patientClient.PostJsonAsync($"/patients/{patient}/consents", new
               {
                   grantee = new { kind = "hospital", id = "riverside" }, categories = new[] { "conditions" },
                   purposes = new[] { "treatment" }, actions = new[] { "read" },
               }))
            Assert.Equal(HttpStatusCode.Created, grant.StatusCode);
        await using (var attacker = new EventStoreDbAttacker(Host)) await attacker.SetMetadataAsync(stream, metadata);
        var end = (await Events.ReadLastAsync(stream))!.Version;
        Assert.Equal(end, (await Events.ReadFirstAsync(stream))!.Version); // only the last event is served

        await using var cold = await ColdNodeAsync();
        var answers = new List<string>();
        foreach (var (node, name) in new[] { (Host, "the node that served the patient"), (cold, "a node reading the stream afresh") })
        {
            using var access = await node.As("riverside physician").PostJsonAsync($"/patients/{patient}/access",
                new { purpose = "treatment", categories = new[] { "conditions" } });
            var body = await access.Content.ReadAsStringAsync();
            if (access.StatusCode != HttpStatusCode.Conflict || !body.Contains("damaged-stream")) answers.Add($"{name}: {(int)access.StatusCode} {body}");
        }
        Assert.True(answers.Count == 0, string.Join("\n", answers));
        Assert.Equal(end, (await Events.ReadLastAsync(stream))!.Version);
    }

    /// <summary>
    /// A dishonest member with write access to the server takes a patient over: it hides the patient's registration —
    /// <c>$tb</c> past version 0, or a soft delete of the whole stream — and registers the same patient id as its own on
    /// a node that reads the stream afresh. That node, seeing no registration, decides a new one, and its endorsers,
    /// reading the same hidden stream, endorse it (today: 201). With <c>$tb</c> back at 0 the stream holds two endorsed
    /// registrations, the patient's verification says it verifies, and the later one names another home hospital, whose
    /// patient tokens then speak for the patient while the real home's are refused. A registration must be refused on a
    /// stream whose beginning is not served (a damaged stream), and nothing appended.
    /// </summary>
    [SkippableTheory]
    [InlineData("$tb")]
    [InlineData("soft-delete")]
    public async Task A_registration_decided_on_a_stream_whose_beginning_is_hidden_cannot_take_the_patient_over(string hiding)
    {
        var (patient, patientClient) = await Host.NewPatientAsync("Paula Possession");
        var stream = PatientStream.StreamId(patient);
        using (var grant = await patientClient.PostJsonAsync($"/patients/{patient}/consents", new
               {
                   grantee = new { kind = "hospital", id = "lakeside" }, categories = new[] { "conditions" },
                   purposes = new[] { "treatment" }, actions = new[] { "read" },
               }))
            Assert.Equal(HttpStatusCode.Created, grant.StatusCode);
        var end = (await Events.ReadLastAsync(stream))!.Version;
        await using var attacker = new EventStoreDbAttacker(Host);
        if (hiding == "$tb") await attacker.TruncateBeforeAsync(stream, 1);
        else await attacker.SoftDeleteAsync(stream);

        var failures = new List<string>();
        await using (var cold = await ColdNodeAsync())
        {
            using var register = await cold.As("riverside physician").PostJsonAsync("/patients",
                new { patientId = patient, homeHospital = "riverside", birthYear = 1975, sex = "female", name = "Paula Possession" });
            if (register.IsSuccessStatusCode) failures.Add($"registering over the hidden registration answered {(int)register.StatusCode} {await register.Content.ReadAsStringAsync()}");
        }
        await attacker.TruncateBeforeAsync(stream, 0); // restored, as before a scavenge

        var registrations = (await Events.ReadStreamAsync(stream).ToListAsync()).Where(e => e.Type == "patient.registered.v1").Select(e => e.Version).ToList();
        if (registrations.Count != 1) failures.Add($"the stream holds registrations at versions {string.Join(", ", registrations)}");
        if ((await Events.ReadLastAsync(stream))!.Version != end) failures.Add($"the stream grew past version {end}");
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

    private IEventStore Events => Host.Services.GetRequiredService<IEventStore>();

    /// <summary>
    /// Another node of the same hospitals on the same stores (a restart, or a second API node), with nothing cached: a copy
    /// of this node's data folder (its keys and founding pin), since a node deletes its data folder when it stops.
    /// </summary>
    private async Task<ServiceHost> ColdNodeAsync()
    {
        var copy = Path.Combine(Path.GetTempPath(), "he-api-cold-" + Guid.NewGuid().ToString("N"));
        foreach (var file in Directory.EnumerateFiles(Host.DataFolder, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(copy, Path.GetRelativePath(Host.DataFolder, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        return await ServiceHost.StartAsync(new ServiceHost.Node(Host.ConnectionString, copy, Host.EventStoreDbPrefix));
    }
}
