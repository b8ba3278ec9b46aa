using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using HealthEvents.Api.Hosting;
using HealthEvents.Application.Commands;
using HealthEvents.Application.Network;
using HealthEvents.Application.Patients;
using HealthEvents.Application.Endorsement;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Patients;
using HealthEvents.Infrastructure.Endorsement;
using HealthEvents.Infrastructure.Identity;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace HealthEvents.Api.Tests;

/// <summary>
/// A dishonest member's attempts on batched endorsement, against the demo service's real endorsers (in-process, and one
/// endorser node over real HTTP on the same store): each test asserts what an honest network depends on.
/// </summary>
public sealed class EndorsementAttackTests(DemoServiceFixture fixture) : IClassFixture<DemoServiceFixture>
{
    private static readonly Actor RiversidePhysician = new("riverside-physician", Role.Physician, "riverside");

    private T Get<T>() where T : notnull => fixture.Host.Services.GetRequiredService<T>();

    private KeyringKeys RiversideKeys => new(Get<HospitalKeyring>(), "riverside", HospitalKeyUse.Endorsement);

    private async Task<TransactionProposal> ProposalAsync(Guid patient)
    {
        var at = DateTimeOffset.UtcNow;
        var context = CommandContext.For(RiversidePhysician);
        var command = new RequestAccess(Guid.NewGuid(), Purpose.Treatment, [Category.Conditions], RiversidePhysician, at);
        var stream = PatientStream.StreamId(patient);
        var decision = await Get<CommandDecider>().DecideAsync<PatientDecider, PatientState, IPatientCommand, IPatientEvent>(stream, command, at, context, default);
        return new TransactionProposal(stream, ExpectedVersion.After(decision.LastVersion), decision.LastHash, command, context, at,
            decision.Envelopes, decision.HomeHospital);
    }

    private async Task<List<TransactionProposal>> ProposalsAsync(int count)
    {
        var proposals = new List<TransactionProposal>();
        for (var i = 0; i < count; i++) proposals.Add(await ProposalAsync((await fixture.Host.NewPatientAsync($"Attack {i}")).Id));
        return proposals;
    }

    /// <summary>A batch as Northside's node would send it: signed once by Northside, the callers' assertions once by Riverside.</summary>
    private EndorsementBatch Batch(IReadOnlyList<TransactionProposal> proposals)
    {
        var node = Get<INodeIdentity>();
        var at = proposals[0].At;
        return EndorsementBatch.Create(proposals, [.. proposals.Select(p => EndorsementRequest.Unsigned(p, "northside"))],
            node.IdentityOf("northside", at)!, [.. proposals.Select(_ => node.IdentityOf("riverside", at)!)]);
    }

    /// <summary>Riverside's endorser node over real HTTP (`./run.sh endorser --hospital riverside`), on the demo's store and keys.</summary>
    private async Task<(WebApplication App, HttpClient Client)> EndorserNodeAsync()
    {
        var app = await EndorserApp.BuildAsync(
            ["--urls", "http://127.0.0.1:0", $"--ConnectionStrings:Postgres={fixture.Host.ConnectionString}", $"--HEALTHEVENTS_DATA={fixture.Host.DataFolder}"],
            "riverside");
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return (app, new HttpClient { BaseAddress = new Uri(address), Timeout = TimeSpan.FromMinutes(2) });
    }

    private static StringContent Body(string json) => new(json, Encoding.UTF8, new MediaTypeHeaderValue("application/json"));

    /// <summary>A faithful batch as the JSON a submitter posts, to be edited.</summary>
    private async Task<JsonObject> BatchJsonAsync(int count) =>
        JsonSerializer.SerializeToNode(Batch(await ProposalsAsync(count)), Json.Options)!.AsObject();

    [Fact]
    public async Task The_endorse_endpoint_answers_hostile_bodies_with_a_400_problem_or_refusals_never_a_500()
    {
        var (app, client) = await EndorserNodeAsync();
        await using var _ = app;
        using var __ = client;
        var faithful = await BatchJsonAsync(2);
        var bodies = new List<(string What, string Json)>
        {
            ("truncated", "{"),
            ("null", "null"),
            ("array", "[]"),
            ("empty object", "{}"),
            ("null transaction", """{"submitter":"northside","submitterSignature":"AAAA","transactions":[null]}"""),
            ("deep nesting", new string('[', 5000) + new string(']', 5000)),
        };
        string Edit(Action<JsonObject> edit)
        {
            var copy = faithful.DeepClone().AsObject();
            edit(copy);
            return copy.ToJsonString();
        }
        JsonObject First(JsonObject b) => b["transactions"]![0]!.AsObject();
        bodies.Add(("faithful", faithful.ToJsonString()));
        bodies.Add(("expected version max", Edit(b => First(b)["expectedVersion"] = long.MaxValue)));
        bodies.Add(("expected version min", Edit(b => First(b)["expectedVersion"] = long.MinValue)));
        bodies.Add(("expected version -7", Edit(b => First(b)["expectedVersion"] = -7)));
        bodies.Add(("at min", Edit(b => First(b)["at"] = "0001-01-01T00:00:00+00:00")));
        bodies.Add(("at max", Edit(b => First(b)["at"] = "9999-12-31T23:59:59+00:00")));
        bodies.Add(("caller tree size max", Edit(b => First(b)["caller"]!["batch"]!["treeSize"] = long.MaxValue)));
        bodies.Add(("caller leaf index min", Edit(b => First(b)["caller"]!["batch"]!["leafIndex"] = long.MinValue)));
        bodies.Add(("caller path nulls", Edit(b => First(b)["caller"]!["batch"]!["inclusionPath"] = new JsonArray(null, "AA==", ""))));
        bodies.Add(("caller root short", Edit(b => First(b)["caller"]!["batch"]!["root"] = "AA==")));
        bodies.Add(("caller batch null", Edit(b => First(b)["caller"]!["batch"] = null)));
        bodies.Add(("caller actor null", Edit(b => First(b)["caller"]!["actor"] = null)));
        bodies.Add(("caller signature null", Edit(b => First(b)["caller"]!["signature"] = null)));
        bodies.Add(("caller not-before max", Edit(b => First(b)["caller"]!["notBefore"] = "9999-12-31T23:59:59+00:00")));
        bodies.Add(("caller expires min", Edit(b => First(b)["caller"]!["expires"] = "0001-01-01T00:00:00+00:00")));
        bodies.Add(("command a number", Edit(b => First(b)["command"] = 7)));
        bodies.Add(("command null", Edit(b => First(b)["command"] = null)));
        bodies.Add(("command type unknown", Edit(b => First(b)["commandType"] = "System.Object")));
        bodies.Add(("events null", Edit(b => First(b)["events"] = null)));
        bodies.Add(("events of nulls", Edit(b => First(b)["events"] = new JsonArray(null, null))));
        bodies.Add(("actor null", Edit(b => First(b)["actor"] = null)));
        bodies.Add(("prev hash short", Edit(b => First(b)["prevHash"] = "AA==")));
        bodies.Add(("stream id nul", Edit(b => First(b)["streamId"] = "patient-\u0000")));
        bodies.Add(("stream id long", Edit(b => First(b)["streamId"] = new string('x', 100_000))));
        bodies.Add(("submitter signature null", Edit(b => b["submitterSignature"] = null)));
        bodies.Add(("transactions null", Edit(b => b["transactions"] = null)));
        bodies.Add(("too many", Edit(b =>
        {
            var many = new JsonArray();
            for (var i = 0; i < EndorsementBatch.MaxSize + 1; i++) many.Add(First(b).DeepClone());
            b["transactions"] = many;
        })));

        var failures = new List<string>();
        foreach (var (what, json) in bodies)
        {
            var response = await client.PostAsync("/endorse", Body(json));
            var text = await response.Content.ReadAsStringAsync();
            if ((int)response.StatusCode >= 500)
                failures.Add($"{what}: {(int)response.StatusCode} {text[..Math.Min(200, text.Length)]}");
            else if (response.StatusCode == HttpStatusCode.BadRequest && response.Content.Headers.ContentType?.MediaType != "application/problem+json")
                failures.Add($"{what}: 400 without problem details ({response.Content.Headers.ContentType?.MediaType})");
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    /// <summary>The demo store, counting the events of the global log it hands out.</summary>
    private sealed class CountingStore(IEventStore inner) : IEventStore
    {
        private long _read;
        private long _networkReads;
        public long EventsRead => Interlocked.Read(ref _read);
        public long NetworkReads => Interlocked.Read(ref _networkReads);

        public Task<AppendResult> AppendAsync(string streamId, ExpectedVersion expected, IReadOnlyList<ProposedEvent> events,
            TransactionEndorsement? endorsement = null, CancellationToken ct = default) => inner.AppendAsync(streamId, expected, events, endorsement, ct);
        public IAsyncEnumerable<EventEnvelope> ReadStreamAsync(string streamId, long fromVersion = 0, CancellationToken ct = default)
        {
            if (streamId == NetworkStream.StreamId) Interlocked.Increment(ref _networkReads);
            return inner.ReadStreamAsync(streamId, fromVersion, ct);
        }
        public Task<EventEnvelope?> ReadLastAsync(string streamId, CancellationToken ct = default) => inner.ReadLastAsync(streamId, ct);
        public async Task<IReadOnlyList<EventEnvelope>> ReadAllAsync(GlobalPosition? after, int maxCount, CancellationToken ct = default)
        {
            var read = await inner.ReadAllAsync(after, maxCount, ct);
            Interlocked.Add(ref _read, read.Count);
            return read;
        }
        public IAsyncEnumerable<EventEnvelope> SubscribeAllAsync(GlobalPosition? after, CancellationToken ct = default) => inner.SubscribeAllAsync(after, ct);
        public Task<bool> IsHealthyAsync(CancellationToken ct = default) => inner.IsHealthyAsync(ct);
    }

    /// <summary>Lakeside's own ledger builder proposing a tree head, as its node decides and signs it.</summary>
    private async Task<TransactionProposal> HeadAsync(long treeSize, DateTimeOffset at)
    {
        var builder = new Actor(SystemActors.LedgerBuilder, Role.Admin, "lakeside");
        var head = new Domain.Ledger.SignTreeHead(treeSize, new string('a', 64), builder, at);
        var context = CommandContext.For(builder);
        var stream = Application.Ledger.LedgerStream.StreamId;
        var decision = await Get<CommandDecider>().DecideAsync<Domain.Ledger.LedgerDecider, Domain.Ledger.LedgerState, Domain.Ledger.ILedgerCommand, Domain.Ledger.ILedgerEvent>(
            stream, head, at, context, default);
        return new TransactionProposal(stream, ExpectedVersion.After(decision.LastVersion), decision.LastHash, head, context, at, decision.Envelopes);
    }

    [Fact]
    public async Task One_batch_of_tree_heads_costs_an_endorser_at_most_one_pass_over_the_global_log()
    {
        await ProposalsAsync(3); // a log of some length
        var store = new CountingStore(Get<IEventStore>());
        var endorser = Endorser.Independent(store, Get<EventSerializer>(), Get<IClock>(), EndorsementOptions.Default, null);
        var at = DateTimeOffset.UtcNow;
        var log = 0L;
        for (GlobalPosition? after = null; ;)
        {
            var page = await Get<IEventStore>().ReadAllAsync(after, 1000);
            if (page.Count == 0) break;
            log += page.Count;
            after = page[^1].Position;
        }
        // A member's one signed request: sixteen heads, beyond the log and of one leaf in turn (each wrong, each refused).
        // The events are those of a head beyond the log (the decider takes any growing size); the witness looks first.
        var beyond = await HeadAsync(4_000_000_000_000_000_000, at);
        var heads = Enumerable.Range(0, 16).Select(i => beyond with
        {
            Command = (Domain.Ledger.SignTreeHead)beyond.Command with { TreeSize = i % 2 == 0 ? 4_000_000_000_000_000_000 : 1 + i },
        }).ToList();
        var node = Get<INodeIdentity>();
        var lakeside = node.IdentityOf("lakeside", at)!;
        var batch = EndorsementBatch.Create(heads, [.. heads.Select(p => EndorsementRequest.Unsigned(p, "lakeside"))], lakeside, [.. heads.Select(_ => lakeside)]);

        var reply = await endorser.EndorseAsync(batch, RiversideKeys, default);

        Assert.All(reply.Transactions, v => Assert.False(v.Accepted));
        Assert.Contains(reply.Transactions, v => v.Reason!.Contains("fewer than the head's"));
        // What an honest witness needs for any set of heads is one reading of the log, the largest head's leaves (here, a few more).
        Assert.True(store.EventsRead <= 3 * log, $"{store.EventsRead} events read for one batch over a log of {log} events: one full reading per head smaller than the last");
    }

    [Fact]
    public async Task A_batch_from_a_non_member_costs_the_endorser_one_reading_of_the_network_not_one_per_transaction()
    {
        var faithful = Batch(await ProposalsAsync(1)).Transactions[0];
        var store = new CountingStore(Get<IEventStore>());
        var endorser = Endorser.Independent(store, Get<EventSerializer>(), Get<IClock>(), EndorsementOptions.Default, null);
        await endorser.EndorseAsync(Batch(await ProposalsAsync(1)), RiversideKeys, default); // its first reading of the network
        var before = store.NetworkReads;
        // Anyone who reaches POST /endorse: no member's key, a signature of zeros, the largest batch there is (each on a
        // stream of its own: a second transaction of one stream is refused before anything is read, as a fork).
        var junk = new EndorsementBatch("mallory", new byte[64],
            [.. Enumerable.Range(0, EndorsementBatch.MaxSize).Select(_ => faithful with { Submitter = "mallory", StreamId = $"patient-{Guid.NewGuid()}" })]);

        var reply = await endorser.EndorseAsync(junk, RiversideKeys, default);

        Assert.All(reply.Transactions, v => Assert.Contains("not a member", v.Reason));
        Assert.True(store.NetworkReads - before <= 2, $"{store.NetworkReads - before} readings of the network stream for one unsigned batch");
    }
}
