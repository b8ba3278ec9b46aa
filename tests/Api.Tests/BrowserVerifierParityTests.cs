using System.Net;
using System.Security.Cryptography;
using System.Text;
using HealthEvents.Application.Ledger;
using HealthEvents.Application.Network;
using HealthEvents.Application.Ports;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Patients;
using HealthEvents.Infrastructure.Identity;
using Microsoft.Extensions.DependencyInjection;

namespace HealthEvents.Api.Tests;

/// <summary>
/// The browser's verifier (wwwroot/js/verify.js, run in chromium) and the server's (StreamVerifier with the
/// EndorsementChecker, GET /verification) judge the same stored bytes alike: each case alters alice's stream — or the
/// network stream, whose events the browser folds into the keys and policies it checks signatures by — in PostgreSQL as
/// an attacker with write access would, and both must name the same first broken version of each stream. Hospitals that
/// collude (their endorsement keys and the store) add the cases no byte edit makes: a consent change the patient never
/// signed after enrolling a device key, one signed by a forged key, and a network founding rewritten with a
/// self-consistent chain — there the browser is given the founding this node pinned, as a page remembers it.
/// </summary>
public sealed class BrowserVerifierParityTests(DemoServiceFixture fixture) : IClassFixture<DemoServiceFixture>
{
    private const string Alice = "a11ce000-0000-4000-8000-000000000001";
    private const string Where = $"WHERE stream_id = 'patient-{Alice}'";
    private const string Joined = "WHERE stream_id = 'network' AND type = 'network.hospital-joined.v1'";

    /// <summary>
    /// Network cases: name, change, undo, and the first broken versions of alice's stream and of the network stream. The
    /// demo network's founding (unendorsed, the genesis) holds the hospitals joining in order: northside at version 0.
    /// </summary>
    private static readonly (string Name, string Change, string Undo, long? Patient, long? Network)[] NetworkCases =
    [
        // The server lies about a hospital: only the network's chain shows it.
        ("a hospital's name in the network's founding",
            $"UPDATE he_events SET data = convert_to(replace(convert_from(data, 'UTF8'), 'Lakeside Clinic', 'Lakeside Clinjc'), 'UTF8') {Joined}",
            $"UPDATE he_events SET data = convert_to(replace(convert_from(data, 'UTF8'), 'Lakeside Clinjc', 'Lakeside Clinic'), 'UTF8') {Joined}", null, 2),
        // The server lies about keys: northside's and riverside's endorsement keys swapped (key ids left alone). Every
        // transaction of alice's is endorsed by one of them, so her registration already fails to verify.
        ("two hospitals' keys swapped in the network's founding",
            $"CREATE TABLE parity_net AS SELECT version, data FROM he_events {Joined}; " +
            "UPDATE he_events e SET data = convert_to(jsonb_set(convert_from(e.data, 'UTF8')::jsonb, '{endorsementPublicKey}', to_jsonb(o.k))::text, 'UTF8') " +
            "FROM (SELECT convert_from(data, 'UTF8')::jsonb->>'hospitalId' AS h, convert_from(data, 'UTF8')::jsonb->>'endorsementPublicKey' AS k FROM parity_net) o " +
            $"{Joined} AND convert_from(e.data, 'UTF8')::jsonb->>'hospitalId' = CASE o.h WHEN 'northside' THEN 'riverside' WHEN 'riverside' THEN 'northside' END",
            $"UPDATE he_events e SET data = p.data FROM parity_net p {Joined} AND e.version = p.version; DROP TABLE parity_net", 0, 0),
        ("a network event's stored hash", "UPDATE he_events SET hash = set_byte(hash, 0, get_byte(hash, 0) # 1) WHERE stream_id = 'network' AND version = 5", "same", null, 5),
    ];

    /// <summary>Name, the change, its undo (null: the last case, left in place), the version both must name (null: intact).</summary>
    private static readonly (string Name, string Change, string? Undo, long? Broken)[] Cases =
    [
        ("intact", "SELECT 1", "SELECT 1", null),
        ("a data byte", $"UPDATE he_events SET data = set_byte(data, 5, get_byte(data, 5) # 1) {Where} AND version = 3", "same", 3),
        ("a metadata byte", $"UPDATE he_events SET metadata = set_byte(metadata, 5, get_byte(metadata, 5) # 1) {Where} AND version = 4", "same", 4),
        ("a prevHash byte", $"UPDATE he_events SET prev_hash = set_byte(prev_hash, 0, get_byte(prev_hash, 0) # 1) {Where} AND version = 2", "same", 2),
        ("a stored hash", $"UPDATE he_events SET hash = set_byte(hash, 31, get_byte(hash, 31) # 1) {Where} AND version = 5", "same", 5),
        ("the type", $"UPDATE he_events SET type = type || 'x' {Where} AND version = 1", $"UPDATE he_events SET type = left(type, -1) {Where} AND version = 1", 1),
        ("a signature", $"UPDATE he_events SET endorsement = convert_to(replace(convert_from(endorsement, 'UTF8'), '\"signature\":\"', '\"signature\":\"AAAA'), 'UTF8') {Where} AND version = 6",
            $"UPDATE he_events SET endorsement = convert_to(replace(convert_from(endorsement, 'UTF8'), '\"signature\":\"AAAA', '\"signature\":\"'), 'UTF8') {Where} AND version = 6", 6),
        ("a key id", $"UPDATE he_events SET endorsement = convert_to(replace(convert_from(endorsement, 'UTF8'), '\"keyId\":\"', '\"keyId\":\"x'), 'UTF8') {Where} AND version = 2",
            $"UPDATE he_events SET endorsement = convert_to(replace(convert_from(endorsement, 'UTF8'), '\"keyId\":\"x', '\"keyId\":\"'), 'UTF8') {Where} AND version = 2", 2),
        ("a signature removed, below the policy",
            $"CREATE TABLE parity_saved AS SELECT endorsement FROM he_events {Where} AND version = 7; " +
            $"UPDATE he_events SET endorsement = convert_to(((convert_from(endorsement, 'UTF8')::jsonb) #- '{{signatures,0}}')::text, 'UTF8') {Where} AND version = 7",
            $"UPDATE he_events SET endorsement = (SELECT endorsement FROM parity_saved) {Where} AND version = 7; DROP TABLE parity_saved", 7),
        // The end cut off after the ledger took it in: the chain of what is left links up; the ledger names what is gone.
        ("the last event deleted", $"CREATE TABLE parity_last AS SELECT * FROM he_events {Where} AND version = 7; DELETE FROM he_events {Where} AND version = 7",
            "INSERT INTO he_events OVERRIDING SYSTEM VALUE SELECT * FROM parity_last; DROP TABLE parity_last", 7),
        ("a deleted event", $"DELETE FROM he_events {Where} AND version = 4", null, 4),
    ];

    [SkippableFact]
    public async Task Browser_and_server_name_the_same_first_broken_version()
    {
        Skip.If(Browser.Executable is null, Browser.SkipReason);
        var host = fixture.Host;
        var token = host.Token("alice (patient)");
        var (playwright, browser) = await Browser.LaunchAsync();
        using var _ = playwright;
        await using var __ = browser;
        var page = await browser.NewPageAsync();
        await page.GotoAsync(host.Address.ToString());
        await LedgeredAsync(host, 7);

        foreach (var (name, change, undo, patient, network) in NetworkCases)
        {
            await host.ExecuteSqlAsync(change);
            var (server, inBrowser) = (await ServerAsync(host), await BrowserAsync(page, token, host));
            Assert.True(server == (patient, network) && inBrowser == (patient, network),
                $"{name}: expected (alice, network) {(patient, network)}, the server said {server}, the browser {inBrowser}");
            await host.ExecuteSqlAsync(undo == "same" ? change : undo);
        }

        await PatientSignatureCasesAsync(host, page);
        await BackdatedCaseAsync(host, page);

        // The founding rewritten, every hash and signature after it recomputed: only the pinned founding tells.
        var colluding = new ColludingHospitals(host, "northside", "riverside");
        await using (await colluding.RewriteNetworkFoundingAsync(data =>
            Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(data).Replace("Northside General Hospital", "Northside General Hospita1"))))
        {
            var (server, inBrowser) = (await ServerAsync(host), await BrowserAsync(page, token, host));
            Assert.True(server == (null, 0) && inBrowser == (null, 0),
                $"a rewritten founding: expected (alice, network) (, 0), the server said {server}, the browser {inBrowser}");
            Assert.Equal("genesis-mismatch", await page.EvaluateAsync<string>(Verify + "; return r.network.problems[0].code; }",
                new object[] { Alice, token, Pinned(host) }));
        }

        foreach (var (name, change, undo, broken) in Cases)
        {
            await host.ExecuteSqlAsync(change);
            var response = await host.As("alice (patient)").GetAsync($"/patients/{Alice}/verification");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var server = (await response.JsonAsync()).GetProperty("firstBrokenVersion");
            long? serverVersion = server.ValueKind == System.Text.Json.JsonValueKind.Null ? null : server.GetInt64();
            var browserVersion = await page.EvaluateAsync<long?>("""
                async ([id, token]) => {
                  const { verifyStream } = await import('/js/verify.js');
                  const response = await fetch(`/patients/${id}/envelopes`, { headers: { Authorization: `Bearer ${token}` } });
                  return (await verifyStream(await response.json())).firstBrokenVersion;
                }
                """, new object[] { Alice, token });
            Assert.True(serverVersion == broken && browserVersion == broken,
                $"{name}: expected {broken?.ToString() ?? "intact"}, the server said {serverVersion?.ToString() ?? "intact"}, the browser {browserVersion?.ToString() ?? "intact"}");
            if (undo is not null) await host.ExecuteSqlAsync(undo == "same" ? change : undo);
        }

        await LengthenedPinCaseAsync(host, page);
        await ForgedMemberCaseAsync(host, page);
    }

    /// <summary>
    /// A pin lengthened one event past the founding, over an endorsed network change: it would count that change as
    /// founding, exempt from endorsement. A node given it refuses to start (LengthenedPinTests); the server's verifier
    /// under that pin and the browser given it as the founding it remembers both refuse it: genesis-mismatch at network@0.
    /// </summary>
    private static async Task LengthenedPinCaseAsync(ServiceHost host, Microsoft.Playwright.IPage page)
    {
        Assert.Equal(HttpStatusCode.Created, (await host.As("northside admin").PostJsonAsync("/network/practitioners",
            new { practitionerId = "parity-lengthened", role = "physician" })).StatusCode);
        var network = await host.Services.GetRequiredService<IEventStore>().ReadStreamAsync(NetworkStream.StreamId).ToListAsync();
        var founding = network.TakeWhile(e => e.Endorsement is null).Count();
        var lengthened = $"{founding + 1}:{Convert.ToHexStringLower(network[founding].Hash)}";
        const string expected = "0 genesis-mismatch";

        var folder = Directory.CreateTempSubdirectory("he-parity-pin-");
        try
        {
            var pin = new NetworkGenesisPin(new GenesisPinFile(Path.Combine(folder.FullName, "genesis.hash")), FoundingPin.Parse(lengthened));
            var report = StreamVerifier.Verify(network, new StreamVerifierOptions { Genesis = pin });
            var server = $"{report.FirstBrokenVersion} {report.Problems.FirstOrDefault(p => p.Version == report.FirstBrokenVersion)?.Code}";
            var inBrowser = await page.EvaluateAsync<string>(Verify + "; const n = r.network; return `${n.firstBrokenVersion} ${n.problems[0]?.code}`; }",
                new object[] { Alice, host.Token("alice (patient)"), lengthened });
            Assert.True(server == expected && inBrowser == expected,
                $"a pin lengthened over version {founding} ({lengthened}): expected {expected}, the server said {server}, the browser {inBrowser}");
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    /// <summary>
    /// A member forged into the network straight into the store (unendorsed), whose signature, with Northside's, endorses a
    /// consent on a fresh patient's stream: two signatures, as the policy asks, if Mallory were a member. Both verifiers judge
    /// the consent by the network only as far as it verifies, so they name the consent's version, with the same codes
    /// (Mallory unknown, the policy not met), and the forged event on the network stream. Left in place: run last.
    /// </summary>
    private static async Task ForgedMemberCaseAsync(ServiceHost host, Microsoft.Playwright.IPage page)
    {
        // An endorsed network change first, so the forgery cannot pass as more of the founding.
        Assert.Equal(HttpStatusCode.Created, (await host.As("northside admin").PostJsonAsync("/network/practitioners",
            new { practitionerId = "parity-locum", role = "physician" })).StatusCode);
        var (id, patient) = await host.NewPatientAsync("Pat Forged");
        var colluding = new ColludingHospitals(host, "northside");
        using var mallory = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var forged = await colluding.ForgeMemberAsync("mallory", mallory);
        var consent = await colluding.AppendAsync($"patient-{id}", [("mallory", mallory)],
            new ConsentGranted(Guid.NewGuid(), Grantee.Hospital("lakeside"), [Category.MentalHealth], [Purpose.Treatment], [AccessAction.Read], DateTimeOffset.UtcNow, null));
        var expected = $"{consent} policy-not-met unknown-endorser; network {forged}";

        var report = await (await patient.GetAsync($"/patients/{id}/verification")).JsonAsync();
        var problems = report.GetProperty("problems").EnumerateArray()
            .Select(p => (Stream: p.GetProperty("streamId").GetString(), Version: p.GetProperty("version").GetInt64(), Code: p.GetProperty("code").GetString())).ToList();
        var first = report.GetProperty("firstBrokenVersion");
        var server = first.ValueKind == System.Text.Json.JsonValueKind.Null ? "intact"
            : $"{first.GetInt64()} {string.Join(' ', problems.Where(p => p.Stream == $"patient-{id}" && p.Version == first.GetInt64()).Select(p => p.Code).Order(StringComparer.Ordinal))}";
        server += $"; network {problems.Where(p => p.Stream == "network").Select(p => (long?)p.Version).Min()}";
        var inBrowser = await page.EvaluateAsync<string>(Verify + """
            ; const f = r.firstBrokenVersion;
              const codes = r.problems.filter((p) => p.version === f).map((p) => p.code).sort().join(' ');
              return `${f === null ? 'intact' : `${f} ${codes}`}; network ${r.network.firstBrokenVersion ?? ''}`; }
            """, new object[] { id.ToString(), patient.DefaultRequestHeaders.Authorization!.Parameter!, Pinned(host) });
        Assert.True(server == expected && inBrowser == expected,
            $"a forged member's endorsement: expected {expected}, the server said {server}, the browser {inBrowser}");
    }

    /// <summary>
    /// Fresh patients who enrolled a device key and signed a grant with it; the colluding hospitals then append, endorsed:
    /// a grant nobody signed, or a revocation signed by a key the patient never had. Both verifiers name the same first
    /// broken version with the same code.
    /// </summary>
    private static async Task PatientSignatureCasesAsync(ServiceHost host, Microsoft.Playwright.IPage page)
    {
        var colluding = new ColludingHospitals(host, "northside", "riverside");
        (string Name, Func<Guid, TestDeviceKey, ConsentGranted, Task<long>> Forge, string Code)[] cases =
        [
            ("a consent nobody signed after the device key's enrolment", async (id, _, _) => 1 + await colluding.AppendAsync($"patient-{id}",
                new ConsentGranted(Guid.NewGuid(), Grantee.Hospital("lakeside"), [Category.MentalHealth], [Purpose.Treatment], [AccessAction.Read], DateTimeOffset.UtcNow, null)),
                "unsigned"),
            ("a revocation signed by a forged key under the device key's id", async (id, device, granted) =>
            {
                using var forger = ECDsa.Create(ECCurve.NamedCurves.nistP256);
                var revoked = new ConsentRevoked(granted.ConsentId);
                var at = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds());
                var statement = PatientStatements.OfDecided(revoked, id, device.KeyId, at);
                var forged = Convert.ToBase64String(forger.SignData(statement, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation));
                return 1 + await colluding.AppendAsync($"patient-{id}", revoked,
                    new SignedByPatient(PatientStatements.RevokeConsentAction, device.KeyId, at, forged));
            }, "bad-patient-signature"),
        ];
        foreach (var (name, forge, code) in cases)
        {
            using var signed = await host.SignedPatientAsync("Pat Parity");
            var (id, patient, device, granted) = signed;
            var broken = await forge(id, device, granted);

            var report = await (await patient.GetAsync($"/patients/{id}/verification")).JsonAsync();
            var first = report.GetProperty("firstBrokenVersion");
            long? serverVersion = first.ValueKind == System.Text.Json.JsonValueKind.Null ? null : first.GetInt64();
            var serverCode = report.GetProperty("problems").EnumerateArray().FirstOrDefault(p => p.GetProperty("version").GetInt64() == serverVersion) is { ValueKind: System.Text.Json.JsonValueKind.Object } p
                ? p.GetProperty("code").GetString() : null;
            var token = patient.DefaultRequestHeaders.Authorization!.Parameter!;
            var inBrowser = await page.EvaluateAsync<string>(Verify + "; const f = r.firstBrokenVersion; return `${f} ${r.problems.find((p) => p.version === f)?.code}`; }",
                new object[] { id.ToString(), token, Pinned(host) });
            Assert.True((serverVersion, serverCode) == (broken, code) && inBrowser == $"{broken} {code}",
                $"{name}: expected {broken} {code}, the server said {serverVersion} {serverCode}, the browser {inBrowser}");
        }
    }

    /// <summary>
    /// Colluding hospitals write a consent stamped an hour back straight into the store, after endorsed tree heads: both
    /// verifiers date it by the latest head stored before it (the server from the ledger view, the browser from the heads
    /// /envelopes names, each head checked) and name it backdated at its version, as verify does. The server is asked until
    /// the ledger has taken the consent in (the view follows the log within moments); then the browser.
    /// </summary>
    private static async Task BackdatedCaseAsync(ServiceHost host, Microsoft.Playwright.IPage page)
    {
        var (id, patient) = await host.NewPatientAsync("Pat Backdated");
        var colluding = new ColludingHospitals(host, "northside", "riverside") { OccurredAt = DateTimeOffset.UtcNow.AddHours(-1) };
        var consent = await colluding.AppendAsync($"patient-{id}",
            new ConsentGranted(Guid.NewGuid(), Grantee.Hospital("lakeside"), [Category.MentalHealth], [Purpose.Treatment], [AccessAction.Read], DateTimeOffset.UtcNow.AddHours(-1), null));
        var expected = $"{consent} backdated";

        var server = "";
        await HealthEvents.TestSupport.Patience.UntilAsync(async () =>
        {
            var report = await (await patient.GetAsync($"/patients/{id}/verification")).JsonAsync();
            var first = report.GetProperty("firstBrokenVersion");
            var codes = report.GetProperty("problems").EnumerateArray()
                .Where(p => p.GetProperty("streamId").GetString() == $"patient-{id}" && first.ValueKind == System.Text.Json.JsonValueKind.Number
                    && p.GetProperty("version").GetInt64() == first.GetInt64())
                .Select(p => p.GetProperty("code").GetString()).ToList();
            server = first.ValueKind == System.Text.Json.JsonValueKind.Null ? "intact" : $"{first.GetInt64()} {(codes.Contains("backdated") ? "backdated" : string.Join(' ', codes))}";
            return server == expected;
        }, () => $"a consent stamped an hour back: the server never said {expected}, but {server}");

        var inBrowser = await page.EvaluateAsync<string>(Verify + """
            ; const f = r.firstBrokenVersion;
              const codes = r.problems.filter((p) => p.version === f).map((p) => p.code);
              return f === null ? 'intact' : `${f} ${codes.includes('backdated') ? 'backdated' : codes.join(' ')}`; }
            """, new object[] { id.ToString(), patient.DefaultRequestHeaders.Authorization!.Parameter!, Pinned(host) });
        Assert.True(inBrowser == expected, $"a consent stamped an hour back: expected {expected}, the server said {server}, the browser {inBrowser}");
    }

    /// <summary>The founding this node pinned (its data folder's genesis.hash): what a page that visited before remembers.</summary>
    internal static string Pinned(ServiceHost host) => File.ReadAllText(Path.Combine(host.DataFolder, "genesis.hash")).Trim();

    /// <summary>The start of a page function verifying a patient's envelopes in chromium with verify.js, the result in <c>r</c>.</summary>
    internal const string Verify = """
        async ([id, token, genesisHash]) => {
          const { verifyStream } = await import('/js/verify.js');
          const response = await fetch(`/patients/${id}/envelopes`, { headers: { Authorization: `Bearer ${token}` } });
          const r = await verifyStream(await response.json(), { genesisHash })
        """;

    /// <summary>Waits (a head is signed every few seconds) until the signed tree head proves alice's event at <paramref name="version"/>.</summary>
    private static async Task LedgeredAsync(ServiceHost host, long version)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (waited.Elapsed < HealthEvents.TestSupport.Patience.Deadline)
        {
            var view = await (await host.As("alice (patient)").GetAsync($"/patients/{Alice}/envelopes")).JsonAsync();
            var proven = view.GetProperty("ledger") is { ValueKind: System.Text.Json.JsonValueKind.Object } ledger ? ledger.GetProperty("provenEventId").ToString() : "";
            if (view.GetProperty("events").EnumerateArray().Any(e => e.GetProperty("eventId").GetString() == proven && e.GetProperty("version").GetInt64() >= version))
                return;
            await Task.Delay(200);
        }
        throw new TimeoutException($"No signed tree head came to cover alice's version {version}.");
    }

    /// <summary>The first broken version of alice's stream and of the network stream, as GET /verification names them.</summary>
    private static async Task<(long?, long?)> ServerAsync(ServiceHost host)
    {
        var report = await (await host.As("alice (patient)").GetAsync($"/patients/{Alice}/verification")).JsonAsync();
        var first = report.GetProperty("firstBrokenVersion");
        var network = report.GetProperty("problems").EnumerateArray()
            .Where(p => p.GetProperty("streamId").GetString() == "network").Select(p => (long?)p.GetProperty("version").GetInt64()).Min();
        return (first.ValueKind == System.Text.Json.JsonValueKind.Null ? null : first.GetInt64(), network);
    }

    /// <summary>The same, as verify.js in chromium names them from GET /envelopes, given the founding this node pinned.</summary>
    private static async Task<(long?, long?)> BrowserAsync(Microsoft.Playwright.IPage page, string token, ServiceHost host)
    {
        var versions = await page.EvaluateAsync<long?[]>(Verify + "; return [r.firstBrokenVersion, r.network.firstBrokenVersion]; }",
            new object[] { Alice, token, Pinned(host) });
        return (versions[0], versions[1]);
    }
}
