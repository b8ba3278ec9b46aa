using System.Net;
using HealthEvents.Application.Endorsement;
using HealthEvents.Application.Ledger;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;
using Microsoft.Extensions.DependencyInjection;

namespace HealthEvents.Api.Tests;

/// <summary>
/// Many clinical systems writing to one patient at once, over HTTP: on one node they queue, they do not collide, and
/// what queued meanwhile goes as one round — decided in order, endorsed as one chain, appended in one store call.
/// </summary>
public sealed class OneBusyStreamTests(DemoServiceFixture fixture) : IClassFixture<DemoServiceFixture>
{
    private ServiceHost Host => fixture.Host;

    [Fact]
    public async Task Sixty_four_concurrent_entries_on_one_patient_all_land_once_in_one_chain_that_verifies()
    {
        var (patient, patientClient) = await Host.NewPatientAsync("Busy Stream");
        var physician = Host.As("northside physician");
        const int writers = 64;

        var responses = await Task.WhenAll(Enumerable.Range(0, writers).Select(i => physician.PostJsonAsync($"/patients/{patient}/entries", new
        {
            category = "conditions", code = new { system = "http://hl7.org/fhir/sid/icd-10", code = "E11.9" }, text = $"Concurrent note {i}.",
        })));

        var statuses = responses.Select(r => r.StatusCode).ToList();
        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.Created, s)); // none 409 after its attempts, none 503
        var receipts = new Dictionary<long, Guid>();
        foreach (var r in responses)
        {
            var receipt = (await r.JsonAsync()).GetProperty("receipt");
            receipts.Add(receipt.GetProperty("streamVersion").GetInt64(), receipt.GetProperty("eventIds")[0].GetGuid());
        }
        Assert.Equal(Enumerable.Range(1, writers).Select(v => (long)v), receipts.Keys.Order()); // each its own version, no gap

        // Stored once each, where its own receipt says, in one chain.
        var store = Host.Services.GetRequiredService<IEventStore>();
        var stream = new List<EventEnvelope>();
        await foreach (var e in store.ReadStreamAsync($"patient-{patient}")) stream.Add(e);
        Assert.Equal(writers + 1, stream.Count);
        Assert.All(stream.Skip(1), e => Assert.Equal(receipts[e.Version], e.EventId));
        // Rounds formed: some transactions of this one stream were endorsed together, under one signed root.
        Assert.Contains(stream.Skip(1), e => e.Endorsement!.BatchSize > 1
            && stream.Count(other => other.Endorsement?.SignedRoot.AsSpan().SequenceEqual(e.Endorsement.SignedRoot) == true) > 1);

        var report = await (await patientClient.GetAsync($"/patients/{patient}/verification")).JsonAsync();
        Assert.True(report.GetProperty("verified").GetBoolean(), report.ToString());
        var checker = await EndorsementChecker.LoadAsync(store, Host.Services.GetRequiredService<EventSerializer>());
        var whole = await StoreVerifier.VerifyAsync(store, new StoreVerifierOptions { EndorsementChecker = checker });
        Assert.True(whole.Verified, string.Join("; ", whole.Problems.Select(p => $"{p.StreamId} v{p.Version} {p.Code}: {p.Message}")));
    }
}
