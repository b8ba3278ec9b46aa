using System.Net;
using HealthEvents.Application.Endorsement;
using HealthEvents.Application.Ledger;
using HealthEvents.Application.Network;
using HealthEvents.Application.Patients;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;
using HealthEvents.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace HealthEvents.Api.Tests;

/// <summary>
/// Someone with write access to EventStoreDB hides or adds history in ways the server offers besides plain appends:
/// events of a reserved ('$') type, stream metadata that hides a stream's beginning (<c>$maxCount</c>), a soft delete
/// followed by new appends, the ledger stream deleted. Each must be named at its stream and version by the patient's
/// verification and by the whole-store pass (<c>./run.sh verify</c>), and no answer may be a 500.
/// </summary>
public sealed class HiddenHistoryAttackTests() : ServiceOnStore(TestStore.EventStoreDb)
{
    [SkippableTheory]
    [InlineData("$>", "")]
    [InlineData("$>", "{}")]
    [InlineData("junk", "")]
    public async Task Probe_dollar_typed_event(string type, string meta)
    {
        var (patient, patientClient) = await Host.NewPatientAsync("Dolores Dollar");
        var stream = PatientStream.StreamId(patient);
        var head = (await Events.ReadLastAsync(stream))!;
        await using (var attacker = new EventStoreDbAttacker(Host))
            await attacker.AppendForeignAsync(stream, type, $"0@{Host.EventStoreDbPrefix}{NetworkStream.StreamId}", meta);

        var own = await (await patientClient.GetAsync($"/patients/{patient}/verification")).JsonAsync();
        Console.WriteLine($"DOLLAR {type} [{meta}] own: " + own);
        var whole = await WholeStoreAsync();
        Console.WriteLine("DOLLAR whole: " + string.Join("; ", whole.BrokenStreams.Select(b => $"{b.StreamId}@{b.FirstBrokenVersion}")) + " verified=" + whole.Verified);
        using var command = await Host.As("riverside physician").PostJsonAsync($"/patients/{patient}/access",
            new { purpose = "treatment", categories = new[] { "conditions" } });
        Console.WriteLine($"DOLLAR command: {(int)command.StatusCode} {await command.Content.ReadAsStringAsync()}");
        Assert.False(whole.Verified);
    }

    [SkippableFact]
    public async Task Probe_soft_delete_and_reregister()
    {
        var (patient, patientClient) = await Host.NewPatientAsync("Rena Recreated");
        var stream = PatientStream.StreamId(patient);
        await using (var attacker = new EventStoreDbAttacker(Host)) await attacker.SoftDeleteAsync(stream);
        using var again = await Host.As("northside physician").PostJsonAsync("/patients",
            new { patientId = patient, homeHospital = "northside", birthYear = 1980, sex = "female", name = "Rena Again" });
        Console.WriteLine($"RECREATE register: {(int)again.StatusCode} {await again.Content.ReadAsStringAsync()}");
        var events = await Events.ReadStreamAsync(stream).ToListAsync();
        Console.WriteLine("RECREATE stream: " + string.Join(", ", events.Select(e => $"v{e.Version} {e.Type}")));
        var own = await (await patientClient.GetAsync($"/patients/{patient}/verification")).JsonAsync();
        Console.WriteLine("RECREATE own: " + own);
        var whole = await WholeStoreAsync();
        Console.WriteLine("RECREATE whole: " + string.Join("; ", whole.BrokenStreams.Select(b => $"{b.StreamId}@{b.FirstBrokenVersion}:{string.Join(",", b.Problems.Select(p => p.Code + "@" + p.Version))}")));
        using var entry = await Host.As("northside physician").PostJsonAsync($"/patients/{patient}/entries", new
        {
            category = "conditions", code = new { system = "http://hl7.org/fhir/sid/icd-10", code = "J45", display = "Asthma" },
            text = "Uses inhaler when running.",
        });
        Console.WriteLine($"RECREATE entry: {(int)entry.StatusCode} {await entry.Content.ReadAsStringAsync()}");
        Assert.NotEqual(HttpStatusCode.Created, again.StatusCode);
    }

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

        await using var cold = await ServiceHost.StartAsync(new ServiceHost.Node(Host.ConnectionString, Host.DataFolder, Host.EventStoreDbPrefix));
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

    [SkippableFact]
    public async Task Probe_max_count_patient()
    {
        var (patient, patientClient) = await Host.NewPatientAsync("Max Count");
        var stream = PatientStream.StreamId(patient);
        using (var grant = await patientClient.PostJsonAsync($"/patients/{patient}/consents", new
               {
                   grantee = new { kind = "hospital", id = "riverside" }, categories = new[] { "conditions" },
                   purposes = new[] { "treatment" }, actions = new[] { "read" },
               }))
            Console.WriteLine($"MAXCOUNT grant: {(int)grant.StatusCode} {await grant.Content.ReadAsStringAsync()}");
        await using (var attacker = new EventStoreDbAttacker(Host)) await attacker.SetMetadataAsync(stream, "{\"$maxCount\":1}");
        Console.WriteLine("MAXCOUNT stream: " + string.Join(", ", (await Events.ReadStreamAsync(stream).ToListAsync()).Select(e => $"v{e.Version} {e.Type}")));
        var own = await (await patientClient.GetAsync($"/patients/{patient}/verification")).JsonAsync();
        Console.WriteLine("MAXCOUNT own: " + own);
        var whole = await WholeStoreAsync();
        Console.WriteLine("MAXCOUNT whole: " + string.Join("; ", whole.BrokenStreams.Select(b => $"{b.StreamId}@{b.FirstBrokenVersion}:{string.Join(",", b.Problems.Select(p => p.Code + "@" + p.Version))}")));
        using var command = await Host.As("riverside physician").PostJsonAsync($"/patients/{patient}/access",
            new { purpose = "treatment", categories = new[] { "conditions" } });
        Console.WriteLine($"MAXCOUNT command: {(int)command.StatusCode} {await command.Content.ReadAsStringAsync()}");
        Assert.False(whole.Verified);
    }

    [SkippableFact]
    public async Task Probe_ledger_tombstone()
    {
        var (patient, patientClient) = await Host.NewPatientAsync("Lea Ledger");
        var doctor = Host.As("northside physician");
        await Patience.UntilAsync(async () => (await doctor.GetAsync("/ledger/checkpoints/latest")).StatusCode == HttpStatusCode.OK, () => "no head");
        await using (var attacker = new EventStoreDbAttacker(Host)) await attacker.HardDeleteAsync(LedgerStream.StreamId);
        using (var latest = await doctor.GetAsync("/ledger/checkpoints/latest"))
            Console.WriteLine($"LEDGER latest: {(int)latest.StatusCode} {await latest.Content.ReadAsStringAsync()}");
        var (other, _) = await Host.NewPatientAsync("Lou Later");
        using (var ready = await Host.Client().GetAsync("/health/ready"))
            Console.WriteLine($"LEDGER ready: {(int)ready.StatusCode} {await ready.Content.ReadAsStringAsync()}");
        using (var own = await patientClient.GetAsync($"/patients/{patient}/verification"))
            Console.WriteLine($"LEDGER own: {(int)own.StatusCode} {await own.Content.ReadAsStringAsync()}");
        var whole = await WholeStoreAsync();
        Console.WriteLine("LEDGER whole: " + whole.Verified + " " + string.Join("; ", whole.BrokenStreams.Select(b => $"{b.StreamId}@{b.FirstBrokenVersion}:{string.Join(",", b.Problems.Select(p => p.Code + "@" + p.Version))}")));
        try
        {
            await using var restarted = await ServiceHost.StartAsync(new ServiceHost.Node(Host.ConnectionString, Host.DataFolder, Host.EventStoreDbPrefix));
            using var r = await restarted.Client().GetAsync("/health/ready");
            Console.WriteLine($"LEDGER restart ready: {(int)r.StatusCode} {await r.Content.ReadAsStringAsync()}");
            using var latest2 = await restarted.As("northside physician").GetAsync("/ledger/checkpoints/latest");
            Console.WriteLine($"LEDGER restart latest: {(int)latest2.StatusCode} {await latest2.Content.ReadAsStringAsync()}");
        }
        catch (Exception e) { Console.WriteLine("LEDGER restart threw: " + e.GetType().Name + ": " + e.Message); }
        Assert.False(whole.Verified);
    }

    [SkippableFact]
    public async Task Probe_max_count_network()
    {
        var (patient, patientClient) = await Host.NewPatientAsync("Nina MaxCount");
        await using (var attacker = new EventStoreDbAttacker(Host)) await attacker.SetMetadataAsync(NetworkStream.StreamId, "{\"$maxCount\":1}");
        var directory = Host.Services.GetRequiredService<NetworkDirectory>();
        await directory.RefreshAsync();
        Console.WriteLine("NETMAX untrusted: " + directory.Untrusted);
        using (var ready = await Host.Client().GetAsync("/health/ready"))
            Console.WriteLine($"NETMAX ready: {(int)ready.StatusCode} {await ready.Content.ReadAsStringAsync()}");
        using (var own = await patientClient.GetAsync($"/patients/{patient}/verification"))
            Console.WriteLine($"NETMAX own: {(int)own.StatusCode} {await own.Content.ReadAsStringAsync()}");
        using var network = await Host.As("northside admin").PostJsonAsync("/network/practitioners",
            new { practitionerId = "northside-relief", role = "physician" });
        Console.WriteLine($"NETMAX command: {(int)network.StatusCode} {await network.Content.ReadAsStringAsync()}");
        Assert.Equal(0, directory.Untrusted?.Version);
    }

    [SkippableFact]
    public async Task Probe_dollar_typed_network()
    {
        await using (var attacker = new EventStoreDbAttacker(Host))
            await attacker.AppendForeignAsync(NetworkStream.StreamId, "$>", $"0@{Host.EventStoreDbPrefix}{NetworkStream.StreamId}", "");
        var directory = Host.Services.GetRequiredService<NetworkDirectory>();
        await directory.RefreshAsync();
        Console.WriteLine("NETDOLLAR untrusted: " + directory.Untrusted);
        var whole = await WholeStoreAsync();
        Console.WriteLine("NETDOLLAR whole: " + whole.Verified + " " + string.Join("; ", whole.BrokenStreams.Select(b => $"{b.StreamId}@{b.FirstBrokenVersion}")));
        Assert.False(whole.Verified);
    }

    private IEventStore Events => Host.Services.GetRequiredService<IEventStore>();

    private async Task<StoreVerificationReport> WholeStoreAsync()
    {
        var checker = await EndorsementChecker.LoadAsync(Events, Host.Services.GetRequiredService<EventSerializer>());
        return await StoreVerifier.VerifyAsync(Events, new StoreVerifierOptions { EndorsementChecker = checker });
    }
}
