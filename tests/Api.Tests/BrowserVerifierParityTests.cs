using System.Net;

namespace HealthEvents.Api.Tests;

/// <summary>
/// The browser's verifier (wwwroot/js/verify.js, run in chromium) and the server's (StreamVerifier with the
/// EndorsementChecker, GET /verification) judge the same stored bytes alike: each case alters alice's stream — or the
/// network stream, whose events the browser folds into the keys and policies it checks signatures by — in PostgreSQL as
/// an attacker with write access would, and both must name the same first broken version of each stream.
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
            var (server, inBrowser) = (await ServerAsync(host), await BrowserAsync(page, token));
            Assert.True(server == (patient, network) && inBrowser == (patient, network),
                $"{name}: expected (alice, network) {(patient, network)}, the server said {server}, the browser {inBrowser}");
            await host.ExecuteSqlAsync(undo == "same" ? change : undo);
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
    }

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

    /// <summary>The same, as verify.js in chromium names them from GET /envelopes.</summary>
    private static async Task<(long?, long?)> BrowserAsync(Microsoft.Playwright.IPage page, string token)
    {
        var versions = await page.EvaluateAsync<long?[]>("""
            async ([id, token]) => {
              const { verifyStream } = await import('/js/verify.js');
              const response = await fetch(`/patients/${id}/envelopes`, { headers: { Authorization: `Bearer ${token}` } });
              const result = await verifyStream(await response.json());
              return [result.firstBrokenVersion, result.network.firstBrokenVersion];
            }
            """, new object[] { Alice, token });
        return (versions[0], versions[1]);
    }
}
