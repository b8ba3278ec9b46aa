using System.Diagnostics;
using System.Net;
using HealthEvents.Api.Hosting;
using HealthEvents.Application.Endorsement;
using HealthEvents.Application.Ledger;
using HealthEvents.Application.Patients;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;
using HealthEvents.Domain.Common;
using HealthEvents.Infrastructure.Identity;
using HealthEvents.TestSupport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace HealthEvents.Api.Tests;

/// <summary>
/// The production shape on loopback: three endorser processes (`HealthEvents.Api endorser --hospital H`),
/// one per hospital, and an API node that reaches them over HTTP as the network's genesis registers them — on either
/// store (<see cref="EndorserProcessTests"/>, <see cref="EndorserProcessOnEventStoreDbTests"/>: there the endorsers
/// load streams from EventStoreDB, under the node's stream prefix).
/// </summary>
public abstract class EndorserProcessSpec(TestStore store) : IAsyncLifetime
{
    /// <summary>
    /// The submitter's wait for endorsers: long, since freshly started endorser processes answer their first proposal
    /// slowly on a busy machine; a stopped endorser refuses the connection at once, so the 503 case does not wait for it.
    /// </summary>
    private const int EndorsementTimeoutMilliseconds = 30_000;

    private readonly Dictionary<string, Process> _endorsers = new();
    private Dictionary<string, string> _endpoints = [];
    private Dictionary<string, string> _metrics = []; // each endorser's metrics listener
    private ServiceHost? _host;
    private ServiceHost.Node? _node;

    private ServiceHost Host => _host ?? throw new SkipException(ServiceHost.EventStoreDbSkipReason);
    private ServiceHost.Node Node => _node ?? throw new SkipException(ServiceHost.EventStoreDbSkipReason);

    public async Task InitializeAsync()
    {
        if (store == TestStore.EventStoreDb && ServiceHost.EventStoreDbConnectionString is null) return;
        _node = await ServiceHost.NewNodeAsync(store);
        // Each endorser node makes and keeps its own key in its own folder; the API node never holds one,
        // and founds the network with the public keys the endorsers serve.
        var endpoints = _endpoints = DemoNetwork.Hospitals.ToDictionary(h => h, _ => $"http://127.0.0.1:{FreePorts.Next()}/");
        _metrics = DemoNetwork.Hospitals.ToDictionary(h => h, _ => $"http://127.0.0.1:{FreePorts.Next()}");
        DemoNetwork.Genesis(new ConfigurationBuilder().AddInMemoryCollection(endpoints!).Build())
            .Save(Path.Combine(_node.DataFolder, "genesis.json"));

        foreach (var hospital in DemoNetwork.Hospitals) _endorsers[hospital] = StartEndorser(hospital, endpoints[hospital]);
        using var probe = new HttpClient();
        foreach (var endpoint in endpoints.Values) await WaitLiveAsync(probe, new Uri(new Uri(endpoint), "health/live"));
        _host = await ServiceHost.StartAsync(_node, $"--Endorsement:TimeoutMilliseconds={EndorsementTimeoutMilliseconds}");
    }

    private Process StartEndorser(string hospital, string url)
    {
        var node = _node!;
        var psi = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = AppContext.BaseDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in (string[])[Path.Combine(AppContext.BaseDirectory, "HealthEvents.Api.dll"), "endorser", "--hospital", hospital, "--urls", url.TrimEnd('/'),
                     "--HealthEvents:Metrics:Prometheus=true", $"--HealthEvents:Metrics:Urls={_metrics[hospital]}"])
            psi.ArgumentList.Add(arg);
        psi.Environment["HEALTHEVENTS_DATA"] = Path.Combine(node.DataFolder, "endorser-" + hospital); // removed with the node's folder
        psi.Environment["ConnectionStrings__Postgres"] = node.ConnectionString;
        if (node.EventStoreDbPrefix is { } prefix)
        {
            psi.Environment["EventStore__Provider"] = "EventStoreDB";
            psi.Environment["ConnectionStrings__EventStoreDB"] = ServiceHost.EventStoreDbConnectionString;
            psi.Environment["EventStore__StreamPrefix"] = prefix;
        }
        psi.Environment["Logging__LogLevel__Default"] = "Warning";
        var process = Process.Start(psi)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task WaitLiveAsync(HttpClient client, Uri live)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                if ((await client.GetAsync(live)).IsSuccessStatusCode) return;
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline) { }
            if (DateTime.UtcNow >= deadline) throw new TimeoutException($"The endorser at {live} did not start.");
            await Task.Delay(200);
        }
    }

    private void Kill(string hospital)
    {
        _endorsers[hospital].Kill(entireProcessTree: true);
        _endorsers[hospital].WaitForExit();
    }

    public async Task DisposeAsync()
    {
        foreach (var p in _endorsers.Values)
        {
            if (!p.HasExited) p.Kill(entireProcessTree: true);
            p.Dispose();
        }
        if (_host is not null) await _host.DisposeAsync();
    }

    private Task<HttpResponseMessage> RegisterAsync(Guid patientId) =>
        Host.As("northside physician").PostJsonAsync("/patients",
            new { patientId, homeHospital = "northside", birthYear = 1975, sex = "male", name = "Process Test" });

    [SkippableFact]
    public void The_api_node_holds_no_endorsement_key_and_the_network_registers_the_endorsers_own()
    {
        var keyring = new HospitalKeyring(Path.Combine(Node.DataFolder, "keys"));
        Assert.Empty(keyring.Hospitals(HospitalKeyUse.Endorsement));
        foreach (var hospital in DemoNetwork.Hospitals)
        {
            using var own = new HospitalKeyring(Path.Combine(Node.DataFolder, "endorser-" + hospital, "keys")).Get(hospital, HospitalKeyUse.Endorsement);
            var registered = Host.Services.GetRequiredService<HealthEvents.Application.Network.NetworkDirectory>().Current.Hospitals[hospital].EndorsementKeys[^1];
            Assert.Equal(PublicKeys.Export(own), registered.PublicKey);
        }
    }

    [SkippableFact]
    public async Task Commands_need_two_of_three_endorsers_and_fail_with_503_and_nothing_appended_below_that()
    {
        var all = await RegisterAsync(Guid.NewGuid());
        Assert.Equal(HttpStatusCode.Created, all.StatusCode);
        var signers = (await all.JsonAsync()).GetProperty("receipt").GetProperty("endorsedBy").EnumerateArray().Select(e => e.GetString()!).ToList();
        Assert.True(signers.Count >= 2);
        // Each endorser node counts what it judged (counted before it answers): every signer says it signed.
        using (var scraper = new HttpClient())
            foreach (var signer in signers)
                Assert.Matches($@"healthevents_endorser_proposals_total\{{[^}}]*healthevents_hospital=""{signer}""[^}}]*healthevents_outcome=""signed""[^}}]*\}} [1-9]",
                    await scraper.GetStringAsync($"{_metrics[signer]}/metrics"));

        Kill("lakeside");
        var oneDown = await RegisterAsync(Guid.NewGuid());
        Assert.True(oneDown.StatusCode == HttpStatusCode.Created, $"{oneDown.StatusCode}: {await oneDown.Content.ReadAsStringAsync()}");
        var endorsedBy = (await oneDown.JsonAsync()).GetProperty("receipt").GetProperty("endorsedBy").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.Equal(["northside", "riverside"], endorsedBy);

        Kill("riverside");
        var patientId = Guid.NewGuid();
        var twoDown = await RegisterAsync(patientId);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, twoDown.StatusCode);
        var detail = (await twoDown.JsonAsync()).GetProperty("detail").GetString()!;
        Assert.Contains("lakeside", detail);
        Assert.Contains("riverside", detail);
        Assert.Equal(0, await Host.StreamLengthAsync(patientId));
    }

    [SkippableFact]
    public async Task Concurrent_commands_are_endorsed_in_batches_over_http_and_every_stored_endorsement_verifies()
    {
        var store = Host.Services.GetRequiredService<IEventStore>();
        Guid? inBatch = null;
        // Sixteen registrations at once, again until two of them shared a round (a busy machine only makes that likelier).
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (inBatch is null)
        {
            Assert.True(DateTime.UtcNow < deadline, "No two of the concurrent commands were endorsed in one batch.");
            var ids = Enumerable.Range(0, 16).Select(_ => Guid.NewGuid()).ToList();
            foreach (var response in await Task.WhenAll(ids.Select(RegisterAsync))) Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            foreach (var id in ids)
                await foreach (var e in store.ReadStreamAsync(PatientStream.StreamId(id)))
                    if (e.Endorsement is { BatchSize: > 1 }) inBatch ??= id;
        }

        var patient = Host.Client(Host.Mint("northside", "patient-" + inBatch.Value.ToString("N")[..8], Role.Patient, inBatch));
        var report = await (await patient.GetAsync($"/patients/{inBatch}/verification")).JsonAsync();
        Assert.True(report.GetProperty("verified").GetBoolean(), report.ToString());
        var checker = await EndorsementChecker.LoadAsync(store, Host.Services.GetRequiredService<EventSerializer>());
        var whole = await StoreVerifier.VerifyAsync(store, new StoreVerifierOptions { EndorsementChecker = checker });
        Assert.True(whole.Verified, string.Join("; ", whole.Problems.Select(p => $"{p.StreamId} v{p.Version} {p.Code}: {p.Message}")));
    }
}

/// <summary>Endorser processes with the node's events on PostgreSQL.</summary>
public sealed class EndorserProcessTests() : EndorserProcessSpec(TestStore.PostgreSql);

/// <summary>Endorser processes with the node's events on EventStoreDB.</summary>
public sealed class EndorserProcessOnEventStoreDbTests() : EndorserProcessSpec(TestStore.EventStoreDb);
