using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using HealthEvents.Api.Endpoints;
using HealthEvents.Domain.Common;
using HealthEvents.TestSupport;

namespace HealthEvents.Api.Tests;

/// <summary>
/// `./run.sh import`, run as users run it — the executable's own command line (<see cref="ServiceProcess"/>) — against a
/// running service: a folder of bundles goes to POST /fhir over HTTP; standard output gets the summary (each file's
/// patient id, resources by type, skipped ones, every issue of a refusal), standard error the progress; the exit code
/// says whether everything was imported (0), something was refused (1) or nothing could be sent (3).
/// </summary>
public sealed partial class ImportVerbTests(DemoServiceFixture fixture) : IClassFixture<DemoServiceFixture>
{
    private static readonly string Nowhere = Path.GetTempPath();

    /// <summary>As a fresh shell would have it: the verb's settings come from its command line only.</summary>
    private static readonly Dictionary<string, string?> Fresh = new()
    {
        [Hosting.DataFolder.Variable] = null,
        ["HEALTHEVENTS_URLS"] = null,
    };

    private ServiceHost Host => fixture.Host;

    [Fact]
    public async Task A_folder_is_imported_with_each_patients_id_types_skipped_and_every_issue_of_a_refusal()
    {
        var folder = Directory.CreateTempSubdirectory("he-import-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(folder, "a.json"), Bundle("verb-a"));
            await File.WriteAllTextAsync(Path.Combine(folder, "b.json"), Bundle("verb-b"));
            await File.WriteAllTextAsync(Path.Combine(folder, "c.json"), """{"resourceType":"Bundle","type":"searchset"}""");
            // qty-3 (a Quantity with a code needs its system): refused by the base profiles, with more than one issue.
            await File.WriteAllTextAsync(Path.Combine(folder, "d.json"),
                Bundle("verb-d").Replace("\"valueQuantity\":{\"value\":70,\"unit\":\"/min\"}", "\"valueQuantity\":{\"value\":70,\"unit\":\"/min\",\"code\":\"/min\"}"));
            var before = await Host.CountsAsync();

            // No --token: minted from the service's own keys (--data), as on the hospital's node.
            var run = await ImportAsync(folder, "--data", Host.DataFolder);

            Assert.True(run.ExitCode == 1, run.Stderr + run.Stdout); // c.json and d.json are refused
            Assert.Contains("4 bundle(s): 2 patient(s) registered, 0 already registered; 6 resource(s) added, 0 already present; 2 failed.", run.Stdout);
            var ids = PatientIds(run.Stdout);
            Assert.Equal(["a.json", "b.json"], ids.Keys.Order());
            Assert.Matches(@"\n  Condition +2\n", run.Stdout);
            Assert.Matches(@"\n  Observation +4\n", run.Stdout);
            Assert.Matches(@"\n  Claim \(billing, not the clinical record\) +2\n", run.Stdout);
            Assert.Contains("  c.json: 400 Bad Request\n    error not-supported: Only transaction, batch or collection bundles are imported. (at Bundle.type)\n", run.Stdout);
            var refusal = Regex.Match(run.Stdout, @"  d\.json: 400 Bad Request\n((?:    .+\n)+)").Groups[1].Value;
            Assert.Contains("error invalid: The bundle does not conform to the base FHIR R4 profiles", refusal);
            Assert.Contains("qty-3", refusal);
            Assert.Contains("(at Bundle.entry[", refusal); // where, as FHIRPath
            Assert.Equal(before.Events + 2 * 4, (await Host.CountsAsync()).Events); // per patient: registered, three entries added

            // The ids are the patients' ids on the service: the same bundle sent over HTTP answers with the same one.
            using var physician = Host.Client(Host.Mint("northside", "northside-physician", Role.Physician));
            using var again = new StringContent(Bundle("verb-a"), Encoding.UTF8, "application/fhir+json");
            var answer = await (await physician.PostAsync("/fhir", again)).JsonAsync();
            Assert.Equal(ids["a.json"], HealthEvents.Api.Fhir.FhirImportSummary.Read(answer).PatientId.ToString());

            // Progress went to standard error (not a terminal here: plain lines, the last one when all is done), the result to standard output.
            Assert.Contains("bundles: 4 of 4 sent: 2 imported, 2 failed", run.Stderr);
            Assert.DoesNotContain("bundles:", run.Stdout);
            Assert.DoesNotContain('\u001b', run.Stderr + run.Stdout);

            // Again: nothing new, the patient already registered under the same id.
            run = await ImportAsync(Path.Combine(folder, "a.json"), "--data", Host.DataFolder);
            Assert.True(run.ExitCode == 0, run.Stderr + run.Stdout);
            Assert.Contains("1 bundle(s): 0 patient(s) registered, 1 already registered; 0 resource(s) added, 3 already present; no failure.", run.Stdout);
            Assert.Equal(ids["a.json"], PatientIds(run.Stdout)["a.json"]);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task A_bundle_over_the_services_limit_is_reported_too_large_with_the_limit()
    {
        var file = Path.Combine(Path.GetTempPath(), $"he-import-big-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, new string(' ', (int)FhirEndpoints.MaxBundleBytes + 1));
        try
        {
            var run = await ImportAsync(file, "--token", Host.Mint("northside", "northside-physician", Role.Physician));

            Assert.True(run.ExitCode == 1, run.Stderr + run.Stdout);
            Assert.Contains($"{Path.GetFileName(file)}: too large (8,388,609 bytes; limit 8 MiB)", run.Stdout);
            Assert.Contains("error too-long: The request body exceeds this route's limit of 8 MiB.", run.Stdout);
            Assert.DoesNotContain("does not answer", run.Stdout + run.Stderr);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Nothing_can_be_sent_without_a_key_for_the_hospital_or_a_service_that_answers_exit_3()
    {
        var file = Path.Combine(Path.GetTempPath(), $"he-import-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, Bundle("verb-none"));
        try
        {
            var before = await Host.CountsAsync();
            var noKeys = await ServiceProcess.RunAsync(Nowhere, Fresh, "import", file, "--hospital", "eastgate", "--url", Host.Address.ToString(), "--data", Host.DataFolder);
            Assert.True(noKeys.ExitCode == 3, noKeys.Stderr + noKeys.Stdout);
            Assert.Contains("No identity key for hospital 'eastgate'", noKeys.Stderr);
            Assert.Equal("", noKeys.Stdout);

            var nobody = new Uri($"http://127.0.0.1:{FreePort()}");
            var down = await ServiceProcess.RunAsync(Nowhere, Fresh, "import", file, "--hospital", "northside", "--url", nobody.ToString(),
                "--token", Host.Mint("northside", "northside-physician", Role.Physician));
            Assert.True(down.ExitCode == 3, down.Stderr + down.Stdout);
            Assert.Contains($"The service does not answer at {nobody}", down.Stderr);
            Assert.Equal("", down.Stdout);
            Assert.Equal(before, await Host.CountsAsync());
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>A few more than the proxy lets through before Ctrl+C (<see cref="HoldingProxy"/>: the run cannot finish first).</summary>
    private const int Bundles = 10;

    [Fact]
    public async Task Interrupted_it_ends_130_with_what_was_imported_and_sending_again_completes_it()
    {
        var folder = Directory.CreateTempSubdirectory("he-import-int-").FullName;
        try
        {
            for (var i = 0; i < Bundles; i++) await File.WriteAllTextAsync(Path.Combine(folder, $"p{i:D3}.json"), Bundle($"verb-int-{i}"));
            // Ctrl+C while the third bundle is held on its way (one at a time: the first two answered), so the rest is still
            // to be sent however slowly this machine runs the test (counting stored events to time it raced the import).
            await using var proxy = await HoldingProxy.StartAsync(Host.Address, passPosts: 2);
            using var import = ServiceProcess.Start(Nowhere, Fresh, "import", folder, "--hospital", "northside", "--url", proxy.Address.ToString(),
                "--data", Host.DataFolder, "--parallel", "1");
            var held = await Task.WhenAny(proxy.Holding, import.WaitForExitAsync(), Task.Delay(Patience.Deadline));
            Assert.True(held == proxy.Holding, "the third bundle never came: " + import.Stderr + import.Stdout);
            await import.InterruptAsync();
            await import.WaitForExitAsync();

            Assert.True(import.ExitCode == 130, import.Stderr + import.Stdout);
            var notSent = int.Parse(Regex.Match(import.Stdout, @" (\d+) not sent \(interrupted\)\.").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            Assert.InRange(notSent, 1, Bundles - 1);
            var imported = PatientIds(import.Stdout);
            Assert.Equal(Bundles - notSent, imported.Count);
            Assert.Contains("Interrupted after", import.Stderr);

            // Sent again: the rest is imported, what was imported is known under the same ids (the bundle in flight at
            // Ctrl+C may have been imported without its answer being read: then it is known too).
            var rest = await ImportAsync(folder, "--data", Host.DataFolder);
            Assert.True(rest.ExitCode == 0, rest.Stderr + rest.Stdout);
            var totals = Regex.Match(rest.Stdout, $@"^{Bundles} bundle\(s\): (\d+) patient\(s\) registered, (\d+) already registered;", RegexOptions.Multiline);
            Assert.True(totals.Success, rest.Stdout);
            Assert.Equal(Bundles, int.Parse(totals.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) + int.Parse(totals.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture));
            var all = PatientIds(rest.Stdout);
            Assert.Equal(Bundles, all.Count);
            Assert.All(imported, p => Assert.Equal(p.Value, all[p.Key]));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>`import PATH --hospital northside --url SERVICE` and <paramref name="more"/>.</summary>
    private Task<ServiceProcess> ImportAsync(string path, params string[] more) =>
        ServiceProcess.RunAsync(Nowhere, Fresh, ["import", path, "--hospital", "northside", "--url", Host.Address.ToString(), .. more]);

    /// <summary>The summary's "Patients" table: file → patient id.</summary>
    private static Dictionary<string, string> PatientIds(string stdout) =>
        PatientRow().Matches(stdout).ToDictionary(m => m.Groups["file"].Value, m => m.Groups["id"].Value);

    [GeneratedRegex(@"^  (?<file>\S+\.json) +(?<id>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})  (registered|already registered),", RegexOptions.Multiline)]
    private static partial Regex PatientRow();

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string Bundle(string mrn) => $$$"""
        {"resourceType":"Bundle","type":"transaction","entry":[
          {"fullUrl":"urn:uuid:{{{Guid.NewGuid()}}}","resource":{"resourceType":"Patient","id":"x","identifier":[{"system":"urn:test:mrn","value":"{{{mrn}}}"}],
            "name":[{"family":"Verb","given":["Import"]}],"gender":"male","birthDate":"1975-02-03"},"request":{"method":"POST","url":"Patient"}},
          {"fullUrl":"urn:uuid:{{{Guid.NewGuid()}}}","resource":{"resourceType":"Condition","code":{"coding":[{"system":"http://snomed.info/sct","code":"38341003"}]},
            "subject":{"reference":"Patient/x"}},"request":{"method":"POST","url":"Condition"}},
          {"fullUrl":"urn:uuid:{{{Guid.NewGuid()}}}","resource":{"resourceType":"Observation","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],
            "code":{"coding":[{"system":"http://loinc.org","code":"2345-7"}]}},"request":{"method":"POST","url":"Observation"}},
          {"fullUrl":"urn:uuid:{{{Guid.NewGuid()}}}","resource":{"resourceType":"Observation","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],
            "code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},"valueQuantity":{"value":70,"unit":"/min"}},"request":{"method":"POST","url":"Observation"}},
          {"fullUrl":"urn:uuid:{{{Guid.NewGuid()}}}","resource":{"resourceType":"Claim","status":"active","use":"claim","created":"2020-01-01","patient":{"reference":"Patient/x"},
            "provider":{"display":"H"},"priority":{"coding":[{"code":"normal"}]},"insurance":[{"sequence":1,"focal":true,"coverage":{"display":"X"}}],
            "type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/claim-type","code":"institutional"}]}},"request":{"method":"POST","url":"Claim"}}
        ]}
        """;
}
