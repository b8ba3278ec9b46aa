using System.Net;

namespace HealthEvents.Api.Tests;

/// <summary>
/// The browser's verifier (wwwroot/js/verify.js, run in chromium) and the server's (StreamVerifier with the
/// EndorsementChecker, GET /verification) judge the same stored bytes alike: each case alters alice's stream in
/// PostgreSQL as an attacker with write access would, and both must name the same first broken version.
/// </summary>
public sealed class BrowserVerifierParityTests(DemoServiceFixture fixture) : IClassFixture<DemoServiceFixture>
{
    private const string Alice = "a11ce000-0000-4000-8000-000000000001";
    private const string Where = $"WHERE stream_id = 'patient-{Alice}'";

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
}
