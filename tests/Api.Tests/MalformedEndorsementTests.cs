using System.Net;
using HealthEvents.Application.Ledger;
using HealthEvents.Application.Patients;
using HealthEvents.Application.Ports;
using HealthEvents.Infrastructure.EventStoreDb;
using HealthEvents.Infrastructure.EventStoreDb.Protocol;
using Microsoft.Extensions.DependencyInjection;

namespace HealthEvents.Api.Tests;

/// <summary>
/// A store writer overwrites the endorsement stored with a patient's transaction (PostgreSQL's <c>endorsement</c> column)
/// with bytes that are not an endorsement's JSON. Every verifier must name that transaction; no route may answer 500 —
/// least of all the patient's own verification, which exists to tell her that her trail was tampered with (today: 500
/// on her verification, envelopes, audit and consents, and on a physician's access request on a node reading afresh).
/// </summary>
public abstract class MalformedEndorsementSpec(TestStore store) : ServiceOnStore(store)
{
    /// <summary>Leaves a transaction in the patient's stream (registration, consent) whose stored endorsement is not JSON; returns its version.</summary>
    protected abstract Task<long> CorruptEndorsementAsync(Guid patient);

    [SkippableFact]
    public async Task A_transaction_whose_stored_endorsement_is_not_json_gets_answers_never_a_500()
    {
        var (patient, patientClient) = await Host.NewPatientAsync("Ena Endorsed");
        using var grant = await patientClient.PostJsonAsync($"/patients/{patient}/consents", new
        {
            grantee = new { kind = "hospital", id = "lakeside" }, categories = new[] { "conditions" },
            purposes = new[] { "treatment" }, actions = new[] { "read" },
        });
        Assert.Equal(HttpStatusCode.Created, grant.StatusCode);
        var corrupt = await CorruptEndorsementAsync(patient);

        var failures = new List<string>();
        foreach (var route in new[] { "verification", "envelopes", "audit", "consents", "disclosures" })
        {
            using var answer = await patientClient.GetAsync($"/patients/{patient}/{route}");
            if ((int)answer.StatusCode >= 500) failures.Add($"GET /patients/{{id}}/{route} as the patient: {(int)answer.StatusCode}");
        }
        using (var access = await Host.As("lakeside physician").PostJsonAsync($"/patients/{patient}/access",
            new { purpose = "treatment", categories = new[] { "conditions" } }))
            if ((int)access.StatusCode >= 500) failures.Add($"POST /patients/{{id}}/access: {(int)access.StatusCode}");
        Assert.True(failures.Count == 0, string.Join("\n", failures));

        var verification = await (await patientClient.GetAsync($"/patients/{patient}/verification")).JsonAsync();
        Assert.False(verification.GetProperty("verified").GetBoolean(), verification.ToString());
        Assert.Equal(corrupt, verification.GetProperty("firstBrokenVersion").GetInt64());
    }
}

/// <summary>On PostgreSQL: the consent's endorsement overwritten in place.</summary>
public sealed class MalformedEndorsementTests() : MalformedEndorsementSpec(TestStore.PostgreSql)
{
    protected override async Task<long> CorruptEndorsementAsync(Guid patient)
    {
        await Host.ExecuteSqlAsync(
            $"UPDATE he_events SET endorsement = convert_to('{{\"x\":[', 'UTF8') WHERE stream_id = '{PatientStream.StreamId(patient)}' AND version = 1");
        return 1;
    }
}

/// <summary>
/// On EventStoreDB, where nothing is overwritten: the writer appends a copy of the consent (a new event id) at version 2
/// with its own gRPC client, linked to version 1 and hashed as the service would, carrying non-JSON bytes as its endorsement.
/// </summary>
public sealed class MalformedEndorsementOnEventStoreDbTests() : MalformedEndorsementSpec(TestStore.EventStoreDb)
{
    protected override async Task<long> CorruptEndorsementAsync(Guid patient)
    {
        var events = Host.Services.GetRequiredService<IEventStore>();
        var last = (await events.ReadLastAsync(PatientStream.StreamId(patient)))!;
        var copy = last with { Version = last.Version + 1, EventId = Guid.NewGuid(), PrevHash = last.Hash, Endorsement = null };
        copy = copy with { Hash = HashChain.ComputeHash(copy) };
        await using var client = new EventStoreDbClient(EventStoreDbSettings.Parse(ServiceHost.EventStoreDbConnectionString!));
        var message = EventStoreDbEnvelope.ToProposedMessage(copy, "{\"x\":["u8.ToArray());
        var reply = await client.AppendAsync(Host.EventStoreDbPrefix + copy.StreamId, o => o.Revision = (ulong)last.Version, [message], CancellationToken.None);
        Assert.Equal(AppendResp.ResultOneofCase.Success, reply.ResultCase);
        return copy.Version;
    }
}
