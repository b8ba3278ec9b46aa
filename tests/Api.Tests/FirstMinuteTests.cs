using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using HealthEvents.Api.Hosting;
using HealthEvents.Infrastructure.Postgres;
using Npgsql;

namespace HealthEvents.Api.Tests;

/// <summary>
/// A newcomer's first minute: the repository cloned into a private home folder (0700, as root's home is) and the
/// service started there with no settings at all. Whoever runs it, the private PostgreSQL must be able to keep its
/// cluster; the data survives a restart; the verbs work on the same folder; no other local user can read the data.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")] // folder modes; the service's private PostgreSQL is Linux-only too
public sealed class FirstMinuteTests
{
    private static readonly DemoNetwork.DemoPatient Alice = DemoNetwork.Patients[0];

    /// <summary>As a fresh shell would have it: nothing that names a data folder or a database.</summary>
    private static readonly Dictionary<string, string?> Fresh = new()
    {
        [DataFolder.Variable] = null,
        ["ConnectionStrings__Postgres"] = null,
        ["HEALTHEVENTS_URLS"] = null,
    };

    [Fact]
    public async Task The_service_runs_from_a_clone_in_a_private_home_and_its_data_survives_a_restart()
    {
        var home = Path.Combine(Path.GetTempPath(), "he-home-" + Guid.NewGuid().ToString("N"));
        var clone = Path.Combine(home, "healthevents");
        Directory.CreateDirectory(clone);
        File.SetUnixFileMode(home, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var data = Path.Combine(clone, ".data");
        var address = new Uri($"http://127.0.0.1:{FreePort()}");
        var service = ServiceProcess.Start(clone, Fresh, "--urls", address.ToString().TrimEnd('/'));
        try
        {
            await service.WaitReadyAsync(address);
            var cluster = ClusterOf(data);
            if (Environment.UserName == "root")
            {
                // The server runs as postgres, who cannot enter the home: the cluster lives where that user can.
                Assert.StartsWith(ClusterFolder.DefaultRoot + "/", cluster, StringComparison.Ordinal);
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(cluster));
            }
            await AssertTcpNeedsThePasswordAsync(cluster);

            // `token` mints from the same folder's keys, and the service accepts what it mints.
            var token = await ServiceProcess.RunAsync(clone, Fresh, "token", "--hospital", Alice.HomeHospital, "--role", "patient",
                "--subject", Alice.Subject, "--patient", Alice.Id.ToString());
            Assert.Equal(0, token.ExitCode);
            var before = await AliceEventsAsync(address, token.Stdout.Trim());
            Assert.True(before > 0);

            await service.StopAsync();
            Assert.Equal(0, service.ExitCode);
            service.Dispose();
            service = ServiceProcess.Start(clone, Fresh, "--urls", address.ToString().TrimEnd('/'));
            await service.WaitReadyAsync(address);
            Assert.Equal(cluster, ClusterOf(data));
            Assert.Equal(before, await AliceEventsAsync(address, token.Stdout.Trim()));
            await service.StopAsync();

            // `verify` on the same folder, its output a log (not a terminal): one plain line per step, then the verdict.
            var verify = await ServiceProcess.RunAsync(clone, Fresh, "verify");
            Assert.True(verify.ExitCode == 0, verify.Stderr + verify.Stdout);
            Assert.Contains("verified: ", verify.Stdout, StringComparison.Ordinal);
            Assert.Equal(["keys and policies: loaded", "ledgered stream ends: ", "streams: ", "ledger head: holds"],
                verify.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                    .Select(l => l.StartsWith("streams: ", StringComparison.Ordinal) ? "streams: "
                        : l.StartsWith("ledgered stream ends: ", StringComparison.Ordinal) ? "ledgered stream ends: " : l));
            Assert.DoesNotContain('\u001b', verify.Stderr);
        }
        finally
        {
            await service.StopAsync();
            service.Dispose();
            await RemoveAsync(home, data);
        }
    }

    private static string ClusterOf(string data)
    {
        var pointer = Path.Combine(data, ClusterFolder.PointerFile);
        return File.Exists(pointer) ? Path.Combine(ClusterFolder.DefaultRoot, File.ReadAllText(pointer).Trim()) : Path.Combine(data, "postgres");
    }

    /// <summary>Any local user can reach 127.0.0.1: there, the cluster asks for the password the service keeps to itself.</summary>
    private static async Task AssertTcpNeedsThePasswordAsync(string cluster)
    {
        var port = int.Parse(File.ReadAllLines(Path.Combine(cluster, "postmaster.pid"))[3], System.Globalization.CultureInfo.InvariantCulture);
        await using var stranger = new NpgsqlConnection($"Host=127.0.0.1;Port={port};Username=postgres;Database=postgres;Pooling=false");
        var refused = await Assert.ThrowsAsync<NpgsqlException>(() => stranger.OpenAsync());
        Assert.Contains("password", refused.Message, StringComparison.OrdinalIgnoreCase);
    }

    private static async Task<long> AliceEventsAsync(Uri address, string token)
    {
        using var client = new HttpClient { BaseAddress = address, DefaultRequestHeaders = { Authorization = new AuthenticationHeaderValue("Bearer", token) } };
        var verification = await (await client.GetAsync($"/patients/{Alice.Id}/verification")).JsonAsync();
        Assert.True(verification.GetProperty("verified").GetBoolean(), verification.ToString());
        return verification.GetProperty("events").GetInt64();
    }

    /// <summary>The home, and a relocated cluster with it (its server stopped with the service; a leftover is stopped here).</summary>
    private static async Task RemoveAsync(string home, string data)
    {
        var cluster = ClusterOf(data);
        if (File.Exists(Path.Combine(cluster, "postmaster.pid")))
        {
            await using var leftover = await LocalPostgres.StartAsync(cluster); // reuses the running server, and stops it
        }
        if (!cluster.StartsWith(data, StringComparison.Ordinal) && Directory.Exists(cluster)) Directory.Delete(cluster, recursive: true);
        Directory.Delete(home, recursive: true);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
