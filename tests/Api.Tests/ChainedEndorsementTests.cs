using HealthEvents.Application.Commands;
using HealthEvents.Application.Endorsement;
using HealthEvents.Application.Patients;
using HealthEvents.Application.Ports;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Patients;
using HealthEvents.Infrastructure.Endorsement;
using HealthEvents.Infrastructure.Identity;
using Microsoft.Extensions.DependencyInjection;

namespace HealthEvents.Api.Tests;

/// <summary>
/// A busy stream's round reaches an endorser as a chain: transactions of one stream in one batch, each expecting the
/// stream where the one before it ends. The demo service's real Riverside endorser judges each on its own re-execution
/// of the ones before it, never on the submitter's account of them.
/// </summary>
public sealed class ChainedEndorsementTests(DemoServiceFixture fixture) : IClassFixture<DemoServiceFixture>
{
    private static readonly Actor RiversidePhysician = new("riverside-physician", Role.Physician, "riverside");

    private T Get<T>() where T : notnull => fixture.Host.Services.GetRequiredService<T>();

    /// <summary>A Riverside physician's access request, decided on the stream as stored or on top of <paramref name="before"/> (not stored).</summary>
    private async Task<(TransactionProposal Proposal, Decision<PatientState, IPatientEvent> Decision)> RequestAccessAsync(
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

    /// <summary>The batch as Northside sends it (signed once; the callers' assertions once by Riverside), and Riverside's reply.</summary>
    private async Task<EndorsementBatchReply> RiversideJudgesAsync(params TransactionProposal[] proposals)
    {
        var node = Get<INodeIdentity>();
        var at = proposals[0].At;
        var batch = EndorsementBatch.Create(proposals, [.. proposals.Select(p => EndorsementRequest.Unsigned(p, "northside"))],
            node.IdentityOf("northside", at)!, [.. proposals.Select(_ => node.IdentityOf("riverside", at)!)]);
        return await Get<Endorser>().EndorseAsync(batch, new KeyringKeys(Get<HospitalKeyring>(), "riverside", HospitalKeyUse.Endorsement), default);
    }

    [Fact]
    public async Task An_honest_chain_is_endorsed_whole_under_one_root()
    {
        var (patient, _) = await fixture.Host.NewPatientAsync("Chained Honest");
        var first = await RequestAccessAsync(patient);
        var second = await RequestAccessAsync(patient, first.Decision);

        var reply = await RiversideJudgesAsync(first.Proposal, second.Proposal);

        Assert.Equal([true, true], reply.Transactions.Select(v => v.Accepted));
        Assert.Equal(first.Proposal.TransactionHash, second.Proposal.PrevHash);
        Assert.NotNull(reply.Signature);
    }

    [Fact]
    public async Task A_transaction_valid_only_after_other_events_than_its_predecessor_decides_is_refused()
    {
        var (patient, _) = await fixture.Host.NewPatientAsync("Chained Dishonest");
        var first = await RequestAccessAsync(patient);
        // The second is decided after events the first does not produce (another request's), at the same version.
        var other = await RequestAccessAsync(patient);
        var second = await RequestAccessAsync(patient, other.Decision);

        var reply = await RiversideJudgesAsync(first.Proposal, second.Proposal);

        Assert.Equal([true, false], reply.Transactions.Select(v => v.Accepted));
        Assert.Contains("prevHash", reply.Transactions[1].Reason);
        Assert.False(reply.Transactions[1].Stale);
    }

    [Fact]
    public async Task A_transaction_following_one_whose_events_its_command_does_not_produce_is_refused_with_it()
    {
        var (patient, _) = await fixture.Host.NewPatientAsync("Chained Forged");
        var first = await RequestAccessAsync(patient);
        var other = await RequestAccessAsync(patient);
        // The first claims another request's events for its own command; the second is decided honestly after those events.
        var claimed = first.Proposal with { Envelopes = other.Proposal.Envelopes };
        var second = await RequestAccessAsync(patient, other.Decision);

        var reply = await RiversideJudgesAsync(claimed, second.Proposal);

        Assert.Equal([false, false], reply.Transactions.Select(v => v.Accepted));
        Assert.Contains("differs in id or type from re-execution", reply.Transactions[0].Reason);
        Assert.Contains("the transaction it follows in the batch is refused", reply.Transactions[1].Reason);
        Assert.Null(reply.Signature);
    }
}
