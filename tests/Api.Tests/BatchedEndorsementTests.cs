using System.Collections.Concurrent;
using HealthEvents.Application.Commands;
using HealthEvents.Application.Endorsement;
using HealthEvents.Application.Ledger;
using HealthEvents.Application.Network;
using HealthEvents.Application.Patients;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;
using HealthEvents.Application.Telemetry;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Network;
using HealthEvents.Domain.Patients;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace HealthEvents.Api.Tests;

/// <summary>
/// Proposals made together go to the demo service's three real in-process endorsers as one batch: each transaction is
/// judged on its own, the accepted ones share one signed root, and what is stored from them verifies like any endorsement.
/// </summary>
public sealed class BatchedEndorsementTests(DemoServiceFixture fixture) : IClassFixture<DemoServiceFixture>
{
    private static readonly Actor RiversidePhysician = new("riverside-physician", Role.Physician, "riverside");

    private T Get<T>() where T : notnull => fixture.Host.Services.GetRequiredService<T>();

    /// <summary>
    /// The service's own endorser clients behind a gate: the first round waits at it, so the proposals made meanwhile
    /// queue and go out together once it opens. Records the batch sizes the endorsers were sent.
    /// </summary>
    private sealed class GatedClients(IEndorserClients inner) : IEndorserClients
    {
        public TaskCompletionSource Gate { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public ConcurrentBag<int> Sizes { get; } = [];

        public IEndorserClient? For(HospitalState hospital) => inner.For(hospital) is { } client ? new Gated(client, this) : null;

        private sealed class Gated(IEndorserClient client, GatedClients owner) : IEndorserClient
        {
            public async Task<EndorsementBatchReply> EndorseAsync(EndorsementBatch batch, CancellationToken ct)
            {
                await owner.Gate.Task.WaitAsync(ct);
                owner.Sizes.Add(batch.Transactions.Count);
                return await client.EndorseAsync(batch, ct);
            }
        }
    }

    /// <summary>A submitter that sends one round at a time and holds what queues meanwhile for the next.</summary>
    private EndorsementService Submitter(IEndorserClients clients) =>
        new(Get<NetworkDirectory>(), clients, Get<INodeIdentity>(),
            new EndorsementOptions(TimeSpan.FromSeconds(60)) { Batching = new EndorsementBatching(TimeSpan.FromMinutes(1), 64, 1) },
            Get<CommandTelemetry>(), Get<ILoggerFactory>().CreateLogger<EndorsementService>());

    /// <summary>
    /// A Riverside physician's access request to the patient, decided as the submitter decides it: on the stream as stored,
    /// or right after <paramref name="before"/> (not stored: the previous command of a round).
    /// </summary>
    private async Task<(TransactionProposal Proposal, Decision<PatientState, IPatientEvent> Decision)> ProposalAsync(
        Guid patient, Decision<PatientState, IPatientEvent>? before = null)
    {
        var at = DateTimeOffset.UtcNow;
        var context = CommandContext.For(RiversidePhysician);
        var command = new RequestAccess(Guid.NewGuid(), Purpose.Treatment, [Category.Conditions], RiversidePhysician, at);
        var stream = PatientStream.StreamId(patient);
        var decision = await Get<CommandDecider>().DecideAsync<PatientDecider, PatientState, IPatientCommand, IPatientEvent>(
            stream, command, at, context, default, onTopOf: before?.Next);
        return (new TransactionProposal(stream, ExpectedVersion.After(decision.LastVersion), decision.LastHash, command, context, at,
            decision.Envelopes, decision.HomeHospital), decision);
    }

    [Fact]
    public async Task A_refused_transaction_leaves_the_rest_of_its_batch_endorsed_and_every_stored_endorsement_verifies()
    {
        var patients = new List<(Guid Id, HttpClient Client)>();
        for (var i = 0; i < 4; i++) patients.Add(await fixture.Host.NewPatientAsync($"Batch Patient {i}"));
        var proposals = new List<(TransactionProposal Proposal, Decision<PatientState, IPatientEvent> Decision)>();
        foreach (var (id, _) in patients) proposals.Add(await ProposalAsync(id));
        // The last one's event bytes are not what its command decides: every endorser re-executes it and refuses it.
        var forged = proposals[3].Proposal with { Envelopes = [.. proposals[3].Proposal.Envelopes.Select(e => e with { Data = [.. e.Data, (byte)' '] })] };

        var clients = new GatedClients(Get<IEndorserClients>());
        var submitter = Submitter(clients);
        var lone = submitter.EndorseAsync(proposals[0].Proposal);          // nothing in flight: out at once, held at the gate
        var batched = new[] { proposals[1].Proposal, proposals[2].Proposal, forged }.Select(p => submitter.EndorseAsync(p)).ToList();
        clients.Gate.SetResult();

        var alone = (await lone)!;
        var first = (await batched[0])!;
        var second = (await batched[1])!;
        var refused = await Assert.ThrowsAsync<EndorsementPolicyNotMetException>(() => batched[2]);

        Assert.Contains(3, clients.Sizes);                                 // the three queued proposals went out as one batch
        Assert.Equal((0L, 1L), (alone.LeafIndex, alone.BatchSize));
        Assert.Equal(proposals[0].Proposal.TransactionHash, alone.SignedRoot);
        // The root the endorsers signed covers the two they accepted, not the one they refused.
        Assert.Equal((0L, 2L, 1L, 2L), (first.LeafIndex, first.BatchSize, second.LeafIndex, second.BatchSize));
        Assert.Equal(first.SignedRoot, second.SignedRoot);
        Assert.Equal(EndorsementSignatures.BatchRoot([proposals[1].Proposal.TransactionHash, proposals[2].Proposal.TransactionHash]), first.SignedRoot);
        Assert.True(first.Signatures.Count >= 2 && second.Signatures.Count >= 2);
        Assert.Contains(refused.Reasons, r => r.Contains("differs in its data from re-execution"));

        var store = Get<IEventStore>();
        foreach (var (i, endorsement) in new[] { (0, alone), (1, first), (2, second) })
            await store.AppendAsync(proposals[i].Proposal.StreamId, proposals[i].Proposal.Expected, proposals[i].Decision.Proposed, endorsement);

        // The patient's own verification (chain, endorsements under the pinned network, ledger coverage) and `verify`'s.
        foreach (var (id, client) in patients.Take(3))
        {
            var report = await (await client.GetAsync($"/patients/{id}/verification")).JsonAsync();
            Assert.True(report.GetProperty("verified").GetBoolean(), report.ToString());
        }
        var checker = await EndorsementChecker.LoadAsync(store, Get<EventSerializer>());
        var whole = await StoreVerifier.VerifyAsync(store, new StoreVerifierOptions { EndorsementChecker = checker });
        Assert.True(whole.Verified, string.Join("; ", whole.Problems.Select(p => $"{p.StreamId} v{p.Version} {p.Code}: {p.Message}")));
    }

    /// <summary>
    /// Patients each given a Riverside physician's access request, endorsed in one batch (behind a lone warm-up round) and
    /// appended as the command path appends: each patient, its client, the stored transaction's first version and endorsement.
    /// </summary>
    private async Task<List<(Guid Id, HttpClient Client, long Version, TransactionEndorsement Endorsement)>> EndorsedTogetherAsync(int count)
    {
        var clients = new GatedClients(Get<IEndorserClients>());
        var submitter = Submitter(clients);
        var held = submitter.EndorseAsync((await ProposalAsync((await fixture.Host.NewPatientAsync("Warm-up")).Id)).Proposal);
        var patients = new List<(Guid Id, HttpClient Client)>();
        var proposals = new List<(TransactionProposal Proposal, Decision<PatientState, IPatientEvent> Decision)>();
        for (var i = 0; i < count; i++)
        {
            patients.Add(await fixture.Host.NewPatientAsync($"Together {i}"));
            proposals.Add(await ProposalAsync(patients[i].Id));
        }
        var endorsing = proposals.Select(p => submitter.EndorseAsync(p.Proposal)).ToList();
        clients.Gate.SetResult();
        await held;
        var store = Get<IEventStore>();
        var appended = new List<(Guid, HttpClient, long, TransactionEndorsement)>();
        for (var i = 0; i < count; i++)
        {
            var (proposal, decision) = proposals[i];
            var endorsement = (await endorsing[i])!;
            Assert.Equal(count, endorsement.BatchSize);
            await store.AppendAsync(proposal.StreamId, proposal.Expected, decision.Proposed, endorsement);
            appended.Add((patients[i].Id, patients[i].Client, proposal.Envelopes[0].Version, endorsement));
        }
        return appended;
    }

    [Fact]
    public async Task A_batch_endorsement_with_a_tampered_root_path_leaf_index_or_size_is_refused_by_verification()
    {
        var (id, _, version, endorsement) = (await EndorsedTogetherAsync(2))[0];
        var store = Get<IEventStore>();
        var stored = new List<EventEnvelope>();
        await foreach (var e in store.ReadStreamAsync(PatientStream.StreamId(id))) stored.Add(e);
        var checker = await EndorsementChecker.LoadAsync(store, Get<EventSerializer>());
        var options = new StreamVerifierOptions { EndorsementChecker = checker };
        Assert.True((await StreamVerifier.VerifyAsync(stored, options)).Verified);

        var path = endorsement.InclusionPath.Select(p => p.ToArray()).ToList();
        path[0][0] ^= 1;
        var root = endorsement.SignedRoot.ToArray();
        root[^1] ^= 1;
        var tampered = new (string What, TransactionEndorsement Copy)[]
        {
            ("leaf index", endorsement with { LeafIndex = 1 - endorsement.LeafIndex }),
            ("inclusion path", endorsement with { InclusionPath = path }),
            ("signed root", endorsement with { SignedRoot = root }),
            ("batch size", endorsement with { BatchSize = 3 }),
        };
        foreach (var (what, copy) in tampered)
        {
            var edited = stored.Select(e => e.Version >= version ? e with { Endorsement = copy } : e).ToList();
            var report = await StreamVerifier.VerifyAsync(edited, options);
            Assert.False(report.Verified, what);
            Assert.Contains(report.Problems, p => p.Version == version && p.Code is VerificationCodes.BadInclusionPath or VerificationCodes.BadSignature);
        }
    }

    [SkippableFact]
    public async Task The_patients_page_verifies_batch_endorsements_in_the_browser()
    {
        Skip.If(Browser.Executable is null, Browser.SkipReason);
        var together = await EndorsedTogetherAsync(3);
        var (playwright, browser) = await Browser.LaunchAsync();
        using var _ = playwright;
        await using var __ = browser;
        var page = await browser.NewPageAsync();
        await page.GotoAsync(fixture.Host.Address.ToString());
        var pinned = File.ReadAllText(Path.Combine(fixture.Host.DataFolder, "genesis.hash")).Trim();

        foreach (var (id, client, version, _) in together)
        {
            var token = client.DefaultRequestHeaders.Authorization!.Parameter!;
            var verdict = await page.EvaluateAsync<string>("""
                async ([id, token, genesisHash]) => {
                  const { verifyStream } = await import('/js/verify.js');
                  const response = await fetch(`/patients/${id}/envelopes`, { headers: { Authorization: `Bearer ${token}` } });
                  const r = await verifyStream(await response.json(), { genesisHash });
                  return `${r.events} ${r.firstBrokenVersion} ${r.network.firstBrokenVersion}`;
                }
                """, new object[] { id.ToString(), token, pinned });
            Assert.Equal($"{version + 1} null null", verdict);
        }
    }

    /// <summary>A batch as this node would send it: signed once by Northside, the callers' assertions once by Riverside.</summary>
    private EndorsementBatch Batch(IReadOnlyList<TransactionProposal> proposals)
    {
        var node = Get<INodeIdentity>();
        var at = proposals[0].At;
        return EndorsementBatch.Create(proposals, [.. proposals.Select(p => EndorsementRequest.Unsigned(p, "northside"))],
            node.IdentityOf("northside", at)!, [.. proposals.Select(_ => node.IdentityOf("riverside", at)!)]);
    }

    private Task<EndorsementBatchReply> RiversideEndorsesAsync(EndorsementBatch batch) =>
        Get<Endorser>().EndorseAsync(batch, new Infrastructure.Endorsement.KeyringKeys(Get<Infrastructure.Identity.HospitalKeyring>(), "riverside",
            Infrastructure.Identity.HospitalKeyUse.Endorsement), default);

    private async Task<List<TransactionProposal>> ProposalsAsync(int count)
    {
        var proposals = new List<TransactionProposal>();
        for (var i = 0; i < count; i++) proposals.Add((await ProposalAsync((await fixture.Host.NewPatientAsync($"Batch {i}")).Id)).Proposal);
        return proposals;
    }

    [Fact]
    public async Task An_endorser_judges_each_transaction_of_a_batch_and_signs_the_root_of_those_it_accepts_once()
    {
        var proposals = await ProposalsAsync(3);
        var batch = Batch(proposals);
        var forged = batch.Transactions[1] with { Events = [.. batch.Transactions[1].Events.Select(e => e with { Data = [.. e.Data, (byte)' '] })] };

        var reply = await RiversideEndorsesAsync(batch with { Transactions = [batch.Transactions[0], forged, batch.Transactions[2]] });

        Assert.Equal([true, false, true], reply.Transactions.Select(v => v.Accepted));
        Assert.Contains("differs in its data", reply.Transactions[1].Reason);
        var signature = Assert.IsType<EndorsementSignature>(reply.Signature);
        var key = Get<NetworkDirectory>().Current.KeyAt("riverside", KeyUse.Endorsement, proposals[0].At)!;
        Assert.True(EndorsementSignatures.Verify(key.PublicKey,
            EndorsementSignatures.BatchRoot([proposals[0].TransactionHash, proposals[2].TransactionHash]), signature.Signature));
        // One identity-key signature covers the three callers' assertions; each carries its own place under it.
        Assert.Single(batch.Transactions.Select(t => Convert.ToHexString(t.Caller!.Signature)).Distinct());
        Assert.Equal([0L, 1L, 2L], batch.Transactions.Select(t => t.Caller!.Batch!.LeafIndex));
    }

    [Fact]
    public async Task A_batched_caller_assertion_is_good_for_its_own_transaction_only()
    {
        var batch = Batch(await ProposalsAsync(2));
        var (first, second) = (batch.Transactions[0], batch.Transactions[1]);
        var path = first.Caller!.Batch!.InclusionPath.Select(p => p.ToArray()).ToList();
        path[0][0] ^= 1;

        var swapped = await RiversideEndorsesAsync(batch with { Transactions = [first with { Caller = second.Caller }, second with { Caller = first.Caller }] });
        var rerooted = await RiversideEndorsesAsync(batch with
        {
            Transactions = [first with { Caller = first.Caller with { Batch = first.Caller.Batch with { InclusionPath = path } } }, second],
        });

        Assert.All(swapped.Transactions, v => Assert.Contains("not signed by the identity key of riverside for this command", v.Reason));
        Assert.Null(swapped.Signature);
        Assert.Equal([false, true], rerooted.Transactions.Select(v => v.Accepted));
        Assert.Contains("not signed by the identity key of riverside for this command", rerooted.Transactions[0].Reason);
    }

    [Fact]
    public async Task A_batch_other_than_the_one_the_submitter_signed_is_refused_whole()
    {
        var batch = Batch(await ProposalsAsync(2));

        var reply = await RiversideEndorsesAsync(batch with { Transactions = [batch.Transactions[0]] });

        Assert.Null(reply.Signature);
        Assert.Contains("submitter's signature does not verify", Assert.Single(reply.Transactions).Reason);
    }

    // A busy stream's round reaches an endorser as a chain: transactions of one stream in one batch, each expecting the
    // stream where the one before it ends. The endorser judges each on its own re-execution of the ones before it.

    [Fact]
    public async Task An_honest_chain_of_one_stream_is_endorsed_whole_under_one_root()
    {
        var (patient, _) = await fixture.Host.NewPatientAsync("Chained Honest");
        var first = await ProposalAsync(patient);
        var second = await ProposalAsync(patient, first.Decision);

        var reply = await RiversideEndorsesAsync(Batch([first.Proposal, second.Proposal]));

        Assert.Equal([true, true], reply.Transactions.Select(v => v.Accepted));
        Assert.Equal(first.Proposal.TransactionHash, second.Proposal.PrevHash);
        Assert.NotNull(reply.Signature);
    }

    [Fact]
    public async Task A_chained_transaction_valid_only_after_other_events_than_its_predecessor_decides_is_refused()
    {
        var (patient, _) = await fixture.Host.NewPatientAsync("Chained Dishonest");
        var first = await ProposalAsync(patient);
        // The second is decided after events the first does not produce (another request's), at the same version.
        var other = await ProposalAsync(patient);
        var second = await ProposalAsync(patient, other.Decision);

        var reply = await RiversideEndorsesAsync(Batch([first.Proposal, second.Proposal]));

        Assert.Equal([true, false], reply.Transactions.Select(v => v.Accepted));
        Assert.Contains("prevHash", reply.Transactions[1].Reason);
        Assert.False(reply.Transactions[1].Stale);
    }

    [Fact]
    public async Task A_transaction_following_one_whose_events_its_command_does_not_produce_is_refused_with_it()
    {
        var (patient, _) = await fixture.Host.NewPatientAsync("Chained Forged");
        var first = await ProposalAsync(patient);
        var other = await ProposalAsync(patient);
        // The first claims another request's events for its own command; the second is decided honestly after those events.
        var claimed = first.Proposal with { Envelopes = other.Proposal.Envelopes };
        var second = await ProposalAsync(patient, other.Decision);

        var reply = await RiversideEndorsesAsync(Batch([claimed, second.Proposal]));

        Assert.Equal([false, false], reply.Transactions.Select(v => v.Accepted));
        Assert.Contains("differs in id or type from re-execution", reply.Transactions[0].Reason);
        Assert.Contains("the transaction it follows in the batch is refused", reply.Transactions[1].Reason);
        Assert.Null(reply.Signature);
    }

    [Fact]
    public async Task Two_transactions_claiming_the_same_place_in_one_stream_are_never_signed_together()
    {
        var (patient, _) = await fixture.Host.NewPatientAsync("Chained Fork");
        var first = await ProposalAsync(patient);
        // Another request decided on the same stored stream: same expected version, same prevHash, other events — a fork.
        // The honest batcher never sends this (docs/architecture.md, "Batches"); one signature over a root holding both
        // is an endorser attesting two different histories of one patient at one version, which a dishonest submitter
        // can then append either way (or show both) at the cost of one round trip.
        var rival = await ProposalAsync(patient);
        Assert.Equal(first.Proposal.Expected, rival.Proposal.Expected);

        var reply = await RiversideEndorsesAsync(Batch([first.Proposal, rival.Proposal]));

        Assert.Equal(1, reply.Transactions.Count(v => v.Accepted));
    }

    [Fact]
    public async Task A_chained_admission_naming_the_keys_of_the_admission_before_it_is_refused_as_it_would_be_alone()
    {
        // Northside's admin proposes Westside, then "Eastside" with the same keys: one key holder counted twice. Alone,
        // after the first is stored, the second is refused ("the key is named by another open admission",
        // TrustBoundaryTests.A_hospital_joins_only_with_keys_of_its_own). In a chain the endorser re-executes the second
        // on its own state after the first, but judges the network's rules on the stored network, where the first is not.
        var admin = new Actor("northside-admin", Role.Admin, "northside");
        using var endorsementKey = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        using var identityKey = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        HospitalAdmission Admission(string id) => new(id, id, NetworkRules.InProcessEndpoint,
            EndorsementSignatures.KeyIdOf(endorsementKey.ExportSubjectPublicKeyInfo()), Convert.ToBase64String(endorsementKey.ExportSubjectPublicKeyInfo()),
            EndorsementSignatures.KeyIdOf(identityKey.ExportSubjectPublicKeyInfo()), Convert.ToBase64String(identityKey.ExportSubjectPublicKeyInfo()));
        async Task<(TransactionProposal Proposal, Decision<NetworkState, INetworkEvent> Decision)> Propose(
            string hospital, Decision<NetworkState, INetworkEvent>? before)
        {
            var at = DateTimeOffset.UtcNow;
            var context = CommandContext.For(admin);
            var command = new ProposeNetworkChange(Guid.NewGuid(), NetworkChange.Admit(Admission(hospital)), admin, at);
            var decision = await Get<CommandDecider>().DecideAsync<NetworkDecider, NetworkState, INetworkCommand, INetworkEvent>(
                NetworkStream.StreamId, command, at, context, default, onTopOf: before?.Next);
            return (new TransactionProposal(NetworkStream.StreamId, ExpectedVersion.After(decision.LastVersion), decision.LastHash, command, context, at,
                decision.Envelopes, decision.HomeHospital), decision);
        }
        var westside = await Propose("westside", null);
        var eastside = await Propose("eastside", westside.Decision);
        var node = Get<INodeIdentity>();
        var at = westside.Proposal.At;
        TransactionProposal[] chain = [westside.Proposal, eastside.Proposal];
        var batch = EndorsementBatch.Create(chain, [.. chain.Select(p => EndorsementRequest.Unsigned(p, "northside"))],
            node.IdentityOf("northside", at)!, [.. chain.Select(_ => node.IdentityOf("northside", at)!)]);

        var reply = await RiversideEndorsesAsync(batch);

        Assert.True(reply.Transactions[0].Accepted, reply.Transactions[0].Reason);
        Assert.False(reply.Transactions[1].Accepted, "Riverside signed a second admission of the same keys, chained after the first");
    }
}
