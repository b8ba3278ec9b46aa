using System.Net;
using System.Net.Http.Json;
using HealthEvents.Application.Ports;
using HealthEvents.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace HealthEvents.Api.Tests;

/// <summary>
/// The service on a 3-node cluster of the test's own whose leader freezes (SIGSTOP: its connections stay open and nothing
/// answers). A command then answers 503 with Retry-After once its call's deadline has passed — not 500, and not after
/// waiting for the connection's keep-alive to notice — and the same command sent again under its Idempotency-Key, once
/// the other two have elected a leader, is recorded exactly once. Without the distribution the test is skipped with that reason.
/// </summary>
public sealed class FrozenLeaderTests
{
    [SkippableFact]
    public async Task A_command_during_a_frozen_leader_answers_503_with_Retry_After_and_its_retry_is_recorded_once()
    {
        var distribution = LocalEventStoreDbCluster.FindDistribution(out var reason);
        Skip.If(distribution is null, reason);
        await using var cluster = await LocalEventStoreDbCluster.StartAsync(distribution!);
        var node = await ServiceHost.NewNodeAsync() with
        {
            EventStoreDbPrefix = ServiceHost.Node.NewPrefix(),
            EventStoreDb = cluster.ConnectionString + "&defaultDeadline=1000&maxDiscoverAttempts=5&discoveryInterval=200",
        };
        await using var host = await ServiceHost.StartAsync(node);
        using var physician = host.As("northside physician");
        // A cluster just elected its first leader may still answer an append past the 1 s deadline: a clinical system
        // retries a 503 after Retry-After, and so does this setup (the freeze below is what is under test).
        var patient = Guid.Empty;
        var refused = "none";
        await Patience.UntilAsync(async () =>
        {
            using var registered = await physician.PostJsonAsync("/patients", new { homeHospital = "northside", birthYear = 1975, sex = "female", name = "Greta Frozen" });
            if (registered.StatusCode == HttpStatusCode.ServiceUnavailable && registered.Headers.RetryAfter is not null)
            {
                refused = (await registered.JsonAsync()).GetProperty("code").GetString() ?? "(no code)"; // which 503: the young cluster, or the ledger view
                return false;
            }
            Assert.Equal(HttpStatusCode.Created, registered.StatusCode);
            patient = (await registered.JsonAsync()).GetProperty("patientId").GetGuid();
            return true;
        }, () => $"registering a patient never landed on the cluster's leader; the last refusal: {refused}");
        var key = Guid.NewGuid().ToString();
        var leader = await ClusterFailoverTests.LeaderAsync(host) ?? throw new InvalidOperationException("the service reports no leader");

        cluster.PauseNode(leader);
        try
        {
            using (var frozen = await SendEntryAsync(physician, patient, key))
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, frozen.StatusCode);
                Assert.NotNull(frozen.Headers.RetryAfter);
                Assert.Equal("store-unavailable", (await frozen.JsonAsync()).GetProperty("code").GetString());
            }

            // A clinical system retries after Retry-After under the same key, until the others have elected a leader.
            await Patience.UntilAsync(async () =>
            {
                using var retry = await SendEntryAsync(physician, patient, key);
                Assert.NotEqual(HttpStatusCode.InternalServerError, retry.StatusCode);
                if (retry.StatusCode == HttpStatusCode.ServiceUnavailable) Assert.NotNull(retry.Headers.RetryAfter);
                return retry.StatusCode == HttpStatusCode.Created;
            }, () => "the command never landed on a new leader");
        }
        finally
        {
            cluster.ResumeNode(leader);
        }

        var stream = await host.Services.GetRequiredService<IEventStore>().ReadStreamAsync($"patient-{patient}").ToListAsync();
        Assert.Equal(["patient.registered.v1", "record.entry-added.v1"], stream.Select(e => e.Type));
    }

    private static Task<HttpResponseMessage> SendEntryAsync(HttpClient client, Guid patient, string key) =>
        client.SendAsync(new HttpRequestMessage(HttpMethod.Post, $"/patients/{patient}/entries")
        {
            Content = JsonContent.Create(new { category = "conditions", code = new { system = "http://hl7.org/fhir/sid/icd-10", code = "I10" }, text = "Blood pressure follow-up." }),
            Headers = { { "Idempotency-Key", key } },
        });
}
