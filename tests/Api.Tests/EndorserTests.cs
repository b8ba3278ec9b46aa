using HealthEvents.Application.Commands;
using HealthEvents.Application.Endorsement;
using HealthEvents.Application.Network;
using HealthEvents.Application.Patients;
using HealthEvents.Application.Ports;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Network;
using HealthEvents.Domain.Patients;
using HealthEvents.Infrastructure.Endorsement;
using HealthEvents.Infrastructure.Identity;
using HealthEvents.Api.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace HealthEvents.Api.Tests;

/// <summary>An endorser signs only what it re-executes to the same bytes, at the same place, for a member.</summary>
public sealed class EndorserTests(DemoServiceFixture fixture) : IClassFixture<DemoServiceFixture>
{
    private static readonly Guid Alice = Guid.Parse("a11ce000-0000-4000-8000-000000000001");

    private T Get<T>() where T : notnull => fixture.Host.Services.GetRequiredService<T>();

    private KeyringSigner Signer(string hospital, HospitalKeyUse use) => new(Get<HospitalKeyring>(), hospital, use);

    /// <summary>A real proposal: a Riverside physician's access request to Alice's record, decided as the submitter decides it.</summary>
    private async Task<EndorsementRequest> ProposalAsync(string submitter = "northside")
    {
        var context = CommandContext.For(new Actor("riverside-physician", Role.Physician, "riverside"));
        var at = DateTimeOffset.UtcNow;
        var command = new RequestAccess(Guid.NewGuid(), Purpose.Treatment, [Category.Conditions], context.Actor, at);
        var stream = PatientCommands.StreamId(Alice);
        var decision = await Get<CommandDecider>().DecideAsync<PatientDecider, PatientState, IPatientCommand, IPatientEvent>(stream, command, at, context, default);
        var proposal = new TransactionProposal(stream, Application.EventStore.ExpectedVersion.After(decision.LastVersion), decision.LastHash,
            command, context, at, decision.Envelopes, decision.HomeHospital);
        using var identity = Signer(submitter, HospitalKeyUse.Identity);
        return EndorsementRequest.Create(proposal, identity);
    }

    private async Task<EndorsementReply> EndorseAsync(EndorsementRequest request)
    {
        using var signer = Signer("riverside", HospitalKeyUse.Endorsement);
        return await Get<Endorser>().EndorseAsync(request, signer, default);
    }

    [Fact]
    public async Task A_faithful_proposal_is_signed_with_the_endorsers_registered_key()
    {
        var request = await ProposalAsync();
        var reply = await EndorseAsync(request);

        var signature = Assert.IsType<Application.EventStore.EndorsementSignature>(reply.Signature);
        var key = Get<NetworkDirectory>().Current.KeyAt("riverside", KeyUse.Endorsement, DateTimeOffset.UtcNow)!;
        Assert.Equal(key.KeyId, signature.KeyId);
        Assert.True(EndorsementSignatures.Verify(key.PublicKey, request.TransactionHash, signature.Signature));
    }

    [Fact]
    public async Task A_proposal_whose_events_were_altered_is_refused()
    {
        var request = await ProposalAsync();
        var tampered = request.Events[0] with { Data = [.. request.Events[0].Data.Select((b, i) => i == 20 ? (byte)(b ^ 1) : b)] };

        var reply = await EndorseAsync(request with { Events = [tampered] });

        Assert.Null(reply.Signature);
        Assert.Contains("differs in its data", reply.Reason);
    }

    [Fact]
    public async Task A_stale_proposal_is_refused_as_stale()
    {
        var request = await ProposalAsync();
        await fixture.Host.Services.CreateScope().ServiceProvider.GetRequiredService<Mediator.IMediator>().Send(
            new RequestAccessCommand(Alice, "treatment", ["allergies"], CommandContext.For(new Actor("riverside-nurse", Role.Nurse, "riverside"))));

        var reply = await EndorseAsync(request);

        Assert.Null(reply.Signature);
        Assert.True(reply.Stale);
        Assert.Contains("stale proposal", reply.Reason);
    }

    [Fact]
    public async Task A_submitter_that_is_not_a_member_is_refused()
    {
        var request = await ProposalAsync();

        var reply = await EndorseAsync(request with { Submitter = "mallory-hospital" });

        Assert.Null(reply.Signature);
        Assert.Contains("not a member", reply.Reason);
    }

    [Fact]
    public async Task A_submitter_signature_by_another_hospitals_key_is_refused()
    {
        var signedByLakeside = await ProposalAsync(submitter: "lakeside");

        var reply = await EndorseAsync(signedByLakeside with { Submitter = "northside" });

        Assert.Null(reply.Signature);
        Assert.Contains("signature does not verify", reply.Reason);
    }

    [Fact]
    public async Task Accepted_commands_carry_two_of_three_endorsements_in_their_receipts()
    {
        var response = await fixture.Host.As("alice (patient)").PostJsonAsync($"/patients/{Alice}/access",
            new { purpose = "treatment", categories = new[] { "conditions" } });

        var endorsedBy = (await response.JsonAsync()).GetProperty("receipt").GetProperty("endorsedBy").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.True(endorsedBy.Count >= 2);
        Assert.Subset(DemoNetwork.Hospitals.ToHashSet(), endorsedBy.ToHashSet()!);
    }
}
