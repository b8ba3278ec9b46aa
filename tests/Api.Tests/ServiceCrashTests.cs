using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;

namespace HealthEvents.Api.Tests;

/// <summary>
/// The service process killed under load and started again: it takes over its orphaned private PostgreSQL, every
/// acknowledged command is stored exactly once, every view converges to one row per event, and `verify` holds.
/// </summary>
public sealed class ServiceCrashTests
{
    private const string Alice = "a11ce000-0000-4000-8000-000000000001";

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static Process Run(string data, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = AppContext.BaseDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "HealthEvents.Api.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["HEALTHEVENTS_DATA"] = data;
        psi.Environment["Logging__LogLevel__Default"] = "Warning";
        var process = Process.Start(psi)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task WaitReadyAsync(Uri address)
    {
        using var probe = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(5) };
        var waited = Stopwatch.StartNew();
        while (waited.Elapsed < TimeSpan.FromSeconds(120))
        {
            try
            {
                if ((await probe.GetAsync("/health/ready")).StatusCode == HttpStatusCode.OK) return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { }
            await Task.Delay(300);
        }
        throw new TimeoutException("The service did not become ready.");
    }

    [Fact]
    public async Task The_service_killed_under_load_restarts_and_loses_or_doubles_nothing()
    {
        var data = Path.Combine(Path.GetTempPath(), "he-crash-" + Guid.NewGuid().ToString("N"));
        var address = new Uri($"http://127.0.0.1:{FreePort()}");
        var service = Run(data, "--urls", address.ToString().TrimEnd('/'));
        try
        {
            await WaitReadyAsync(address);
            var load = new AccessLoad(address, data);
            using var stop = new CancellationTokenSource();
            var writers = load.RunAsync(4, stop.Token);

            await load.AcknowledgedAtLeastAsync(5, TimeSpan.FromSeconds(60)); // under load before the crash
            service.Kill(entireProcessTree: false); // the service only: its PostgreSQL is left orphaned, as after a crash
            await service.WaitForExitAsync();
            var before = load.Acknowledged.Count;
            service = Run(data, "--urls", address.ToString().TrimEnd('/'));
            await WaitReadyAsync(address);
            await load.AcknowledgedAtLeastAsync(before + 5, TimeSpan.FromSeconds(60)); // interrupted commands retried under their keys
            await stop.CancelAsync();
            await writers;

            // Every acknowledged event once in the store; the audit view converges to one row per event of her stream.
            using var alice = load.Client("alice (patient)");
            var verification = await (await alice.GetAsync($"/patients/{Alice}/verification")).JsonAsync();
            Assert.True(verification.GetProperty("verified").GetBoolean(), verification.ToString());
            var events = verification.GetProperty("events").GetInt64();
            var rows = new HashSet<string>();
            string? cursor = null;
            do
            {
                var page = await (await alice.GetAsync($"/patients/{Alice}/audit?limit=200" + (cursor is null ? "" : $"&cursor={Uri.EscapeDataString(cursor)}"))).JsonAsync();
                foreach (var item in page.GetProperty("items").EnumerateArray()) Assert.True(rows.Add(item.GetProperty("eventId").GetString()!), "a row twice");
                cursor = page.GetProperty("next").ValueKind == JsonValueKind.String ? page.GetProperty("next").GetString() : null;
            } while (cursor is not null);
            Assert.True(load.Acknowledged.Count > 0);
            foreach (var id in load.Acknowledged) Assert.Contains(id.ToString(), rows);
            Assert.True(rows.Count <= events);
        }
        finally
        {
            service.Kill(entireProcessTree: false);
            await service.WaitForExitAsync();
            // The last service leaves its PostgreSQL to the next start; `verify` with the same data folder ends it.
            using var verify = Run(data, "verify");
            await verify.WaitForExitAsync();
            Assert.Equal(0, verify.ExitCode);
            try { Directory.Delete(data, recursive: true); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
    }
}
