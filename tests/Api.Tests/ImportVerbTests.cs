using HealthEvents.Domain.Common;
using Spectre.Console;

namespace HealthEvents.Api.Tests;

/// <summary>
/// `./run.sh import`: the verb sends a folder of bundles to a running service over HTTP, and its summary counts patients,
/// resources by type and skipped ones; a bundle the service refuses is reported with its reason and fails the run.
/// </summary>
public sealed class ImportVerbTests(DemoServiceFixture fixture) : IClassFixture<DemoServiceFixture>
{
    [Fact]
    public async Task The_import_verb_sends_a_folder_and_reports_patients_types_skipped_and_failures()
    {
        var host = fixture.Host;
        var folder = Directory.CreateTempSubdirectory("he-import-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(folder, "a.json"), Bundle("verb-a"));
            await File.WriteAllTextAsync(Path.Combine(folder, "b.json"), Bundle("verb-b"));
            await File.WriteAllTextAsync(Path.Combine(folder, "c.json"), """{"resourceType":"Bundle","type":"searchset"}""");
            var token = host.Mint("northside", "northside-physician", Role.Physician);
            var before = await host.CountsAsync();

            var (exit, output) = await RunAsync([folder, "--hospital", "northside", "--url", host.Address.ToString(), "--token", token]);

            Assert.Equal(1, exit); // c.json is refused
            Assert.Contains("3 bundle(s): 2 patient(s) registered, 0 already known; 4 resource(s) added", output);
            Assert.Matches(@"Condition\s*│\s*2", output);
            Assert.Matches(@"Observation\s*│\s*2", output);
            Assert.Matches(@"Claim \(billing, not the clinical record\)\s*│\s*2", output);
            Assert.Contains("failed c.json: 400 Only transaction, batch or collection bundles are imported.", output);
            Assert.Equal(before.Events + 2 * 3, (await host.CountsAsync()).Events); // per patient: registered, two entries added

            // Again: nothing new, both patients known.
            (exit, output) = await RunAsync([Path.Combine(folder, "a.json"), "--hospital", "northside", "--url", host.Address.ToString(), "--token", token]);
            Assert.Equal(0, exit);
            Assert.Contains("1 bundle(s): 0 patient(s) registered, 1 already known; 0 resource(s) added, 2 already present", output);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static readonly SemaphoreSlim ConsoleGate = new(1, 1);

    /// <summary>Runs the verb with its console captured (Spectre's console is process-wide: one run at a time).</summary>
    private static async Task<(int Exit, string Output)> RunAsync(string[] args)
    {
        await ConsoleGate.WaitAsync();
        var previous = AnsiConsole.Console;
        var output = new StringWriter();
        try
        {
            var console = AnsiConsole.Create(new AnsiConsoleSettings
            {
                Out = new AnsiConsoleOutput(output), Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors, Interactive = InteractionSupport.No,
            });
            console.Profile.Width = 400; // one summary line, unwrapped
            AnsiConsole.Console = console;
            var exit = await CliImport.RunAsync(args);
            return (exit, output.ToString().Replace("\r", ""));
        }
        finally
        {
            AnsiConsole.Console = previous;
            ConsoleGate.Release();
        }
    }

    private static string Bundle(string mrn) => $$$"""
        {"resourceType":"Bundle","type":"transaction","entry":[
          {"fullUrl":"urn:uuid:{{{Guid.NewGuid()}}}","resource":{"resourceType":"Patient","id":"x","identifier":[{"system":"urn:test:mrn","value":"{{{mrn}}}"}],
            "name":[{"family":"Verb","given":["Import"]}],"gender":"male","birthDate":"1975-02-03"},"request":{"method":"POST","url":"Patient"}},
          {"fullUrl":"urn:uuid:{{{Guid.NewGuid()}}}","resource":{"resourceType":"Condition","code":{"coding":[{"system":"http://snomed.info/sct","code":"38341003"}]},
            "subject":{"reference":"Patient/x"}},"request":{"method":"POST","url":"Condition"}},
          {"fullUrl":"urn:uuid:{{{Guid.NewGuid()}}}","resource":{"resourceType":"Observation","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],
            "code":{"coding":[{"system":"http://loinc.org","code":"2345-7"}]}},"request":{"method":"POST","url":"Observation"}},
          {"fullUrl":"urn:uuid:{{{Guid.NewGuid()}}}","resource":{"resourceType":"Claim","status":"active","use":"claim","created":"2020-01-01","patient":{"reference":"Patient/x"},
            "provider":{"display":"H"},"priority":{"coding":[{"code":"normal"}]},"insurance":[{"sequence":1,"focal":true,"coverage":{"display":"X"}}],
            "type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/claim-type","code":"institutional"}]}},"request":{"method":"POST","url":"Claim"}}
        ]}
        """;
}
