using HealthEvents.Application.Commands;
using HealthEvents.Application.Endorsement;
using HealthEvents.Application.Network;
using HealthEvents.Application.Patients;
using HealthEvents.Application.Ports;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Ledger;
using HealthEvents.Domain.Research;
using HealthEvents.Domain.Network;
using HealthEvents.Domain.Patients;
using HealthEvents.Infrastructure.Endorsement;
using HealthEvents.Infrastructure.Identity;
using HealthEvents.Api.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace HealthEvents.Api.Tests;

/// <summary>
/// An endorser signs only what it re-executes to the same bytes, at the same place, for a member — with the in-process
/// endorsers of a demo service on either store (<see cref="EndorserTests"/>, <see cref="EndorserOnEventStoreDbTests"/>).
/// </summary>
public abstract class EndorserSpec<TFixture>(TFixture fixture) : IClassFixture<TFixture> where TFixture : DemoServiceFixture
{
    private static readonly Guid Alice = Guid.Parse("a11ce000-0000-4000-8000-000000000001");

    private T Get<T>() where T : notnull => fixture.Host.Services.GetRequiredService<T>();

    private KeyringSigner Signer(string hospital, HospitalKeyUse use) => new(Get<HospitalKeyring>(), hospital, use);

    private static readonly Actor RiversidePhysician = new("riverside-physician", Role.Physician, "riverside");

    /// <summary>A real proposal: a Riverside physician's access request to Alice's record, decided as the submitter decides it.</summary>
    private Task<EndorsementRequest> ProposalAsync(string submitter = "northside") =>
        ProposalAsync(RiversidePhysician, (actor, at) => new RequestAccess(Guid.NewGuid(), Purpose.Treatment, [Category.Conditions], actor, at),
            submitter: submitter);

    /// <summary>
    /// A proposal as a submitting node makes it: decided as the submitter decides, signed by <paramref name="submitter"/>'s
    /// identity key, the caller's assertion signed by <paramref name="credentialHospital"/>'s identity key (the actor's by
    /// default) for <paramref name="period"/> (a node-issued one by default), at <paramref name="at"/> (now by default).
    /// </summary>
    private async Task<EndorsementRequest> ProposalAsync(
        Actor actor, Func<Actor, DateTimeOffset, IPatientCommand> make, string submitter = "northside", string? credentialHospital = null,
        CredentialPeriod? period = null, DateTimeOffset? at = null, Guid? patient = null)
    {
        var when = at ?? DateTimeOffset.UtcNow;
        var context = CommandContext.For(actor) with { Credential = period };
        var command = make(actor, when);
        var stream = PatientStream.StreamId(patient ?? Alice);
        var decision = await Get<CommandDecider>().DecideAsync<PatientDecider, PatientState, IPatientCommand, IPatientEvent>(stream, command, when, context, default);
        var proposal = new TransactionProposal(stream, Application.Ports.ExpectedVersion.After(decision.LastVersion), decision.LastHash,
            command, context, when, decision.Envelopes, decision.HomeHospital);
        using var identity = Signer(submitter, HospitalKeyUse.Identity);
        using var caller = Signer(credentialHospital ?? actor.Hospital, HospitalKeyUse.Identity);
        return credentialHospital is null || credentialHospital == actor.Hospital
            ? EndorsementRequest.Create(proposal, identity, caller)
            // A node that holds only its own key signs the assertion with it, whatever hospital the actor names.
            : EndorsementRequest.Create(proposal, identity, new ForeignSigner(caller, actor.Hospital));
    }

    /// <summary>A hospital's key presented as another's: what a member node that wants to speak for someone else can do.</summary>
    private sealed class ForeignSigner(IHospitalSigner key, string claimed) : IHospitalSigner
    {
        public string HospitalId => claimed;
        public string KeyId => key.KeyId;
        public byte[] Sign(byte[] message) => key.Sign(message);
    }

    private async Task<EndorsementReply> EndorseAsync(EndorsementRequest request)
    {
        return await Get<Endorser>().EndorseAsync(request, new KeyringKeys(Get<HospitalKeyring>(), "riverside", HospitalKeyUse.Endorsement), default);
    }

    [SkippableFact]
    public async Task A_faithful_proposal_is_signed_with_the_endorsers_registered_key()
    {
        var request = await ProposalAsync();
        var reply = await EndorseAsync(request);

        var signature = Assert.IsType<Application.Ports.EndorsementSignature>(reply.Signature);
        var key = Get<NetworkDirectory>().Current.KeyAt("riverside", KeyUse.Endorsement, DateTimeOffset.UtcNow)!;
        Assert.Equal(key.KeyId, signature.KeyId);
        Assert.True(EndorsementSignatures.Verify(key.PublicKey, request.TransactionHash, signature.Signature));
    }

    [SkippableFact]
    public async Task A_proposal_whose_events_were_altered_is_refused()
    {
        var request = await ProposalAsync();
        var tampered = request.Events[0] with { Data = [.. request.Events[0].Data.Select((b, i) => i == 20 ? (byte)(b ^ 1) : b)] };

        var reply = await EndorseAsync(request with { Events = [tampered] });

        Assert.Null(reply.Signature);
        Assert.Contains("differs in its data", reply.Reason);
    }

    [SkippableFact]
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

    [SkippableFact]
    public async Task A_submitter_that_is_not_a_member_is_refused()
    {
        var request = await ProposalAsync();

        var reply = await EndorseAsync(request with { Submitter = "mallory-hospital" });

        Assert.Null(reply.Signature);
        Assert.Contains("not a member", reply.Reason);
    }

    [SkippableFact]
    public async Task A_submitter_signature_by_another_hospitals_key_is_refused()
    {
        var signedByLakeside = await ProposalAsync(submitter: "lakeside");

        var reply = await EndorseAsync(signedByLakeside with { Submitter = "northside" });

        Assert.Null(reply.Signature);
        Assert.Contains("signature does not verify", reply.Reason);
    }

    [SkippableFact]
    public async Task A_proposal_whose_actor_differs_from_its_credential_is_refused()
    {
        var request = await ProposalAsync();
        var nurse = new Actor("riverside-nurse", Role.Nurse, "riverside");
        using var riverside = Signer("riverside", HospitalKeyUse.Identity);
        var nursesCredential = CallerAssertion.Sign(request.StreamId, request.CommandId, request.TransactionHash, nurse,
            CredentialPeriod.IssuedAt(request.At), riverside);

        var reply = await EndorseAsync(request with { Caller = nursesCredential });

        Assert.Null(reply.Signature);
        Assert.Contains("names another subject", reply.Reason);
    }

    [SkippableFact]
    public async Task A_credential_bound_to_another_command_is_refused()
    {
        var first = await ProposalAsync();
        var second = await ProposalAsync();

        var reply = await EndorseAsync(second with { Caller = first.Caller });

        Assert.Null(reply.Signature);
        Assert.Contains("not signed by the identity key of riverside for this command", reply.Reason);
    }

    [SkippableFact]
    public async Task A_member_node_cannot_speak_for_another_hospitals_practitioner()
    {
        // Lakeside's node holds only Lakeside's identity key: it signs the Riverside physician's "credential" itself.
        var request = await ProposalAsync(RiversidePhysician,
            (a, at) => new RequestAccess(Guid.NewGuid(), Purpose.Treatment, [Category.MentalHealth], a, at),
            submitter: "lakeside", credentialHospital: "lakeside");

        var reply = await EndorseAsync(request);

        Assert.Null(reply.Signature);
        Assert.Contains("not signed by the identity key of riverside", reply.Reason);
    }

    [SkippableFact]
    public async Task A_member_node_cannot_vouch_for_a_practitioner_registered_elsewhere()
    {
        var impostor = new Actor("riverside-physician", Role.Physician, "lakeside");
        var request = await ProposalAsync(impostor,
            (a, at) => new RequestAccess(Guid.NewGuid(), Purpose.Treatment, [Category.Conditions], a, at), submitter: "lakeside");

        var reply = await EndorseAsync(request);

        Assert.Null(reply.Signature);
        Assert.Contains("not registered in the network as physician of lakeside", reply.Reason);
    }

    [SkippableFact]
    public async Task A_credential_expired_at_the_commands_time_is_refused()
    {
        var now = DateTimeOffset.UtcNow;
        var expired = new CredentialPeriod(now.AddHours(-2), now.AddHours(-1));
        var request = await ProposalAsync(RiversidePhysician,
            (a, at) => new RequestAccess(Guid.NewGuid(), Purpose.Treatment, [Category.Conditions], a, at), period: expired);

        var reply = await EndorseAsync(request);

        Assert.Null(reply.Signature);
        Assert.Contains("not valid at the command's time", reply.Reason);
    }

    [SkippableFact]
    public async Task A_credential_valid_for_longer_than_a_day_is_refused()
    {
        var now = DateTimeOffset.UtcNow;
        var request = await ProposalAsync(RiversidePhysician,
            (a, at) => new RequestAccess(Guid.NewGuid(), Purpose.Treatment, [Category.Conditions], a, at),
            period: new CredentialPeriod(now.AddHours(-1), now.AddDays(30)));

        var reply = await EndorseAsync(request);

        Assert.Null(reply.Signature);
        Assert.Contains("valid for longer than 24 h", reply.Reason);
    }

    [SkippableFact]
    public async Task A_backdated_command_is_refused()
    {
        // Ten minutes ago, with a credential that was valid then: past the endorser's two-minute skew all the same.
        var then = DateTimeOffset.UtcNow.AddMinutes(-10);
        var request = await ProposalAsync(RiversidePhysician,
            (a, at) => new RequestAccess(Guid.NewGuid(), Purpose.Treatment, [Category.Conditions], a, at),
            period: new CredentialPeriod(then.AddMinutes(-5), then.AddHours(1)), at: then);

        var reply = await EndorseAsync(request);

        Assert.Null(reply.Signature);
        Assert.Contains("from this endorser's clock", reply.Reason);
    }

    [SkippableFact]
    public async Task A_command_whose_actor_differs_from_the_proposals_is_refused()
    {
        var request = await ProposalAsync();
        var command = (RequestAccess)CommandCodec.Decode(request.CommandType, request.Command);
        var (_, json) = CommandCodec.Encode(command with { Actor = new Actor("riverside-nurse", Role.Nurse, "riverside") });

        var reply = await EndorseAsync(request with { Command = json });

        Assert.Null(reply.Signature);
        Assert.Contains("actor or time differ", reply.Reason);
    }

    [SkippableFact]
    public async Task Another_members_patient_credential_cannot_consent_for_the_patient()
    {
        // Lakeside vouches for "alice" (a Northside patient) and grants itself her mental-health record.
        // Its node decides as it pleases: the events are those Alice's own grant would produce, the actor its own "alice".
        var fakeAlice = new Actor("alice", Role.Patient, "lakeside", Alice);
        var at = DateTimeOffset.UtcNow;
        var consentId = Guid.NewGuid();
        GrantConsent Grant(Actor a) => new(consentId, Grantee.Hospital("lakeside"), [Category.MentalHealth], [Purpose.Treatment], [AccessAction.Read], at, null, a, at);
        var context = CommandContext.For(fakeAlice);
        var stream = PatientStream.StreamId(Alice);
        var honest = await Get<CommandDecider>().DecideAsync<PatientDecider, PatientState, IPatientCommand, IPatientEvent>(
            stream, Grant(new Actor("alice", Role.Patient, "northside", Alice)), at, context, default);
        var metadata = new Application.Serialization.EventMetadata("alice", Role.Patient, "lakeside", context.CommandId, context.CorrelationId, at).ToBytes();
        var forged = honest.Proposed.Select(e => e with { Metadata = metadata }).ToList();
        var envelopes = Application.Ledger.HashChain.Link(stream, honest.LastVersion, honest.LastHash, forged, endorsement: null);
        using var lakeside = Signer("lakeside", HospitalKeyUse.Identity);
        var request = EndorsementRequest.Create(new TransactionProposal(stream, Application.Ports.ExpectedVersion.After(honest.LastVersion),
            honest.LastHash, Grant(fakeAlice), context, at, envelopes, "northside"), lakeside, lakeside);

        var reply = await EndorseAsync(request);

        Assert.Null(reply.Signature);
        Assert.Contains("not-the-patient", reply.Reason);
    }

    [SkippableFact]
    public async Task A_consent_to_nobody_in_the_network_is_refused()
    {
        var alice = new Actor("alice", Role.Patient, "northside", Alice);
        var request = await ProposalAsync(alice, (a, at) => new GrantConsent(Guid.NewGuid(), Grantee.Hospital("no-such-hospital"),
            [Category.Conditions], [Purpose.Treatment], [AccessAction.Read], at, null, a, at));

        var reply = await EndorseAsync(request);

        Assert.Null(reply.Signature);
        Assert.Contains("grantee is not in the network", reply.Reason);
    }

    [SkippableFact]
    public async Task A_proposal_without_the_callers_credential_is_refused()
    {
        var reply = await EndorseAsync((await ProposalAsync()) with { Caller = null });

        Assert.Null(reply.Signature);
        Assert.Contains("no caller credential", reply.Reason);
    }

    [SkippableFact]
    public async Task A_patient_vouched_for_by_another_member_is_not_even_recorded()
    {
        // Lakeside invents a "patient" of its own on Alice's stream: the endorser cannot see that person's registration,
        // so it records nothing that such an actor asks — not even a denied access or a break-glass attempt.
        var invented = new Actor("x", Role.Patient, "lakeside", Alice);
        foreach (var make in new Func<Actor, DateTimeOffset, IPatientCommand>[]
                 {
                     (a, at) => new RequestAccess(Guid.NewGuid(), Purpose.Treatment, [Category.Conditions], a, at),
                     (a, at) => new UseEmergencyAccess(Guid.NewGuid(), "unconscious", a, at),
                 })
        {
            var reply = await EndorseAsync(await ForgedAsync(invented, make(invented, DateTimeOffset.UtcNow), "lakeside"));
            Assert.Null(reply.Signature);
            Assert.Contains("not-the-patient", reply.Reason);
        }
    }

    [SkippableFact]
    public async Task A_narrowing_is_decided_again_and_one_that_widens_is_refused()
    {
        // Alice's consent to riverside covers the general categories: a node passes off mental health as a "narrowing".
        var consents = await (await fixture.Host.As("alice (patient)").GetAsync($"/patients/{Alice}/consents")).JsonAsync();
        var riverside = consents.GetProperty("active").EnumerateArray()
            .First(c => c.GetProperty("grantee").GetProperty("id").GetString() == "riverside").GetProperty("consentId").GetGuid();
        var alice = new Actor("alice", Role.Patient, "northside", Alice);

        var reply = await EndorseAsync(await ForgedAsync(alice, new NarrowConsent(riverside, [Category.MentalHealth], null, null, null, alice, DateTimeOffset.UtcNow), "northside"));

        Assert.Null(reply.Signature);
        Assert.Contains("narrowing-widens", reply.Reason);

        // An honest narrowing, proposed as the submitter decides it, is signed.
        var honest = await ProposalAsync(alice, (a, at) => new NarrowConsent(riverside, null, null, null, at.AddYears(1), a, at));
        Assert.NotNull((await EndorseAsync(honest)).Signature);
    }

    [SkippableFact]
    public async Task A_researcher_is_spoken_for_only_by_the_hospital_that_vouches_for_them()
    {
        // researcher-1 is vouched for by Lakeside; Riverside presents them as its own.
        var impostor = new Actor("researcher-1", Role.Researcher, "riverside");
        var request = await ProposalAsync(impostor,
            (a, at) => new RequestAccess(Guid.NewGuid(), Purpose.Research, [Category.Conditions], a, at), submitter: "riverside");

        var reply = await EndorseAsync(request);

        Assert.Null(reply.Signature);
        Assert.Contains("researcher vouched for by riverside", reply.Reason);
    }

    [SkippableFact]
    public async Task A_ledger_head_is_cosigned_only_for_the_root_of_the_global_log()
    {
        var builder = new Actor(SystemActors.LedgerBuilder, Role.Admin, "lakeside");
        var head = new SignTreeHead(4_000_000_000_000_000_000, new string('a', 64), builder, DateTimeOffset.UtcNow);
        var beyond = await LedgerHeadAsync(head);
        // A wrong root over leaves that exist (the ledger decider only sees that sizes grow; the witness sees the log).
        var forged = beyond with { Command = CommandCodec.Encode(head with { TreeSize = 1 }).Json };

        var tooBig = await EndorseAsync(beyond);
        var wrongRoot = await EndorseAsync(forged);

        Assert.Null(tooBig.Signature);
        Assert.Contains("fewer than the head's", tooBig.Reason);
        Assert.Null(wrongRoot.Signature);
        Assert.Contains("not the root of the global log's first 1 leaves", wrongRoot.Reason);
    }

    [SkippableFact]
    public async Task A_malformed_command_is_refused_not_failed()
    {
        var request = await ProposalAsync();
        var json = System.Text.Json.Nodes.JsonNode.Parse(request.Command.GetRawText())!.AsObject();
        json["categories"] = null;
        var nulled = request with { Command = System.Text.Json.JsonSerializer.SerializeToElement(json) };
        var foreign = request with { CommandType = nameof(GrantConsent) };

        foreach (var bad in new[] { nulled, foreign, request with { CommandType = null! }, request with { Command = default } })
        {
            var reply = await EndorseAsync(bad);
            Assert.Null(reply.Signature);
            Assert.NotNull(reply.Reason);
        }
    }

    [SkippableFact]
    public async Task A_research_use_the_patient_never_allowed_is_not_cosigned()
    {
        var researcher = new Actor("researcher-1", Role.Researcher, "lakeside");
        Assert.Equal(System.Net.HttpStatusCode.Created, (await fixture.Host.As("researcher").PostJsonAsync("/research/projections",
            new { name = "endorser-uses", groupBy = new[] { "sex" }, k = 2 })).StatusCode);
        var at = DateTimeOffset.UtcNow;
        // Alice's research consent covers conditions and medications for the researcher role; not mental health, and not this id.
        var invented = new PublishResearchResults("endorser-uses", Guid.NewGuid(), new string('d', 64),
            [new ResearchUse(Alice, [Category.MentalHealth], [Guid.NewGuid()])], researcher, at);
        var context = CommandContext.For(researcher);
        var stream = Application.Research.ResearchStream.StreamId;
        var decision = await Get<CommandDecider>().DecideAsync<Domain.Research.ResearchDecider, Domain.Research.ResearchState, Domain.Research.IResearchCommand, Domain.Research.IResearchEvent>(
            stream, invented, at, context, default);
        using var lakeside = Signer("lakeside", HospitalKeyUse.Identity);
        var request = EndorsementRequest.Create(new TransactionProposal(stream, Application.Ports.ExpectedVersion.After(decision.LastVersion),
            decision.LastHash, invented, context, at, decision.Envelopes), lakeside, lakeside);

        var reply = await EndorseAsync(request);

        Assert.Null(reply.Signature);
        Assert.Contains("has not given to this researcher", reply.Reason);
    }

    [SkippableTheory]
    [InlineData("PATIENT")]
    [InlineData("upper")]
    [InlineData("braces")]
    [InlineData("n")]
    public async Task Only_a_patients_canonical_stream_is_decided(string spelling)
    {
        // Bob's id spelled otherwise is a second stream for Bob, where Northside could register him as its own.
        var bob = Guid.Parse("b0b00000-0000-4000-8000-000000000002");
        var stream = spelling switch
        {
            "PATIENT" => "PATIENT-" + bob,
            "upper" => "patient-" + bob.ToString().ToUpperInvariant(),
            "braces" => "patient-" + bob.ToString("B"),
            _ => "patient-" + bob.ToString("N"),
        };
        var physician = new Actor("northside-physician", Role.Physician, "northside");
        var at = DateTimeOffset.UtcNow;
        var command = new RegisterPatient(bob, "northside", 1985, Sex.Male, "enc", physician, at);
        var context = CommandContext.For(physician);
        var decision = await Get<CommandDecider>().DecideAsync<PatientDecider, PatientState, IPatientCommand, IPatientEvent>(stream, command, at, context, default);
        using var northside = Signer("northside", HospitalKeyUse.Identity);
        var request = EndorsementRequest.Create(new TransactionProposal(stream, Application.Ports.ExpectedVersion.After(decision.LastVersion),
            decision.LastHash, command, context, at, decision.Envelopes, "northside"), northside, northside);

        var reply = await EndorseAsync(request);

        Assert.Null(reply.Signature);
        Assert.Contains("does not belong to the stream", reply.Reason);
    }

    [SkippableFact]
    public async Task A_key_rotation_dated_later_is_refused()
    {
        var admin = new Actor("riverside-admin", Role.Admin, "riverside");
        using var fresh = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var at = DateTimeOffset.UtcNow;
        var rotate = new RotateHospitalKey("riverside", KeyUse.Endorsement, PublicKeys.KeyId(fresh), PublicKeys.Export(fresh), at.AddYears(7000), admin, at);
        var context = CommandContext.For(admin);
        var stream = HealthEvents.Application.Network.NetworkStream.StreamId;
        var decision = await Get<CommandDecider>().DecideAsync<NetworkDecider, NetworkState, INetworkCommand, INetworkEvent>(stream, rotate, at, context, default);
        using var riverside = Signer("riverside", HospitalKeyUse.Identity);
        var request = EndorsementRequest.Create(new TransactionProposal(stream, Application.Ports.ExpectedVersion.After(decision.LastVersion),
            decision.LastHash, rotate, context, at, decision.Envelopes), riverside, riverside);

        var reply = await EndorseAsync(request);

        Assert.Null(reply.Signature);
        Assert.Contains("takes effect at the command's time", reply.Reason);
    }

    /// <summary>A ledger head proposed by Lakeside's node, decided as its ledger builder would.</summary>
    private async Task<EndorsementRequest> LedgerHeadAsync(SignTreeHead head)
    {
        var context = CommandContext.For(head.Actor);
        var stream = Application.Ledger.LedgerStream.StreamId;
        var decision = await Get<CommandDecider>().DecideAsync<Domain.Ledger.LedgerDecider, Domain.Ledger.LedgerState, Domain.Ledger.ILedgerCommand, Domain.Ledger.ILedgerEvent>(
            stream, head, head.At, context, default);
        using var lakeside = Signer("lakeside", HospitalKeyUse.Identity);
        return EndorsementRequest.Create(new TransactionProposal(stream, Application.Ports.ExpectedVersion.After(decision.LastVersion),
            decision.LastHash, head, context, head.At, decision.Envelopes), lakeside, lakeside);
    }

    /// <summary>What a member node that decides as it pleases sends: the events of <paramref name="command"/> decided for nobody in particular.</summary>
    private async Task<EndorsementRequest> ForgedAsync(Actor actor, IPatientCommand command, string submitter)
    {
        var context = CommandContext.For(actor);
        var stream = PatientStream.StreamId(Alice);
        var honest = await Get<CommandDecider>().DecideAsync<PatientDecider, PatientState, IPatientCommand, IPatientEvent>(
            stream, new RequestAccess(Guid.NewGuid(), Purpose.Treatment, [Category.Conditions], RiversidePhysician, command.At), command.At, context, default);
        using var node = Signer(submitter, HospitalKeyUse.Identity);
        return EndorsementRequest.Create(new TransactionProposal(stream, Application.Ports.ExpectedVersion.After(honest.LastVersion),
            honest.LastHash, command, context, command.At, honest.Envelopes, "northside"), node, node);
    }

    /// <summary>A fresh patient of Northside with a device key enrolled by the patient (their own command, endorsed like any).</summary>
    private async Task<(Guid Id, Actor Patient)> PatientWithDeviceKeyAsync(TestDeviceKey device)
    {
        var mediator = fixture.Host.Services.CreateScope().ServiceProvider.GetRequiredService<Mediator.IMediator>();
        var id = Guid.NewGuid();
        await mediator.Send(new RegisterPatientCommand(id, "northside", 1970, "female", "Erin Endorsed",
            CommandContext.For(new Actor("northside-physician", Role.Physician, "northside"))));
        var patient = new Actor("erin", Role.Patient, "northside", id);
        var proof = System.Text.Json.JsonSerializer.SerializeToElement(device.Enrolment(id));
        await mediator.Send(new EnrolDeviceKeyCommand(id, device.PublicKey, proof.GetProperty("signedAt").GetDateTimeOffset(),
            proof.GetProperty("proof").GetString()!, null, CommandContext.For(patient)));
        return (id, patient);
    }

    /// <summary>
    /// What the patient's home hospital's node could send on its own: <paramref name="command"/> with the events it chose,
    /// linked after the stream's last event, its identity key signing both the proposal and the patient's credential —
    /// the credential is genuine (the home hospital issues the patient's tokens); only the device's signature is not.
    /// </summary>
    private async Task<(EndorsementRequest Request, TransactionProposal Proposal)> HomeHospitalProposesAsync(Guid patient, IPatientCommand command, params IPatientEvent[] events)
    {
        var stream = PatientStream.StreamId(patient);
        var last = (await Get<Application.Ports.IEventStore>().ReadLastAsync(stream))!;
        var context = CommandContext.For(command.Actor);
        var serializer = Get<Application.Serialization.EventSerializer>();
        var metadata = new Application.Serialization.EventMetadata(command.Actor.Id, command.Actor.Role, command.Actor.Hospital,
            context.CommandId, context.CorrelationId, command.At).ToBytes();
        var proposed = events.Select((e, i) => new Application.Ports.ProposedEvent(DeterministicIds.EventId(context.CommandId, i),
            serializer.NameOf(e), serializer.Serialize(e), metadata)).ToList();
        var envelopes = Application.Ledger.HashChain.Link(stream, last.Version, last.Hash, proposed, endorsement: null);
        var proposal = new TransactionProposal(stream, Application.Ports.ExpectedVersion.After(last.Version), last.Hash, command, context,
            command.At, envelopes, "northside");
        using var northside = Signer("northside", HospitalKeyUse.Identity);
        return (EndorsementRequest.Create(proposal, northside, northside), proposal);
    }

    private static GrantConsent GrantToLakeside(Actor patient, DateTimeOffset at) =>
        new(Guid.NewGuid(), Grantee.Hospital("lakeside"), [Category.MentalHealth], [Purpose.Treatment], [AccessAction.Read],
            DateTimeOffset.FromUnixTimeMilliseconds(at.ToUnixTimeMilliseconds()), null, patient, at);

    private static ConsentGranted Granted(GrantConsent g) => new(g.ConsentId, g.Grantee, g.Categories, g.Purposes, g.Actions, g.ValidFrom, g.ValidUntil);

    [SkippableFact]
    public async Task The_home_hospital_cannot_consent_for_a_patient_with_a_device_key_and_nothing_is_appended()
    {
        using var device = new TestDeviceKey();
        using var hospitalsOwn = new TestDeviceKey();
        var (id, patient) = await PatientWithDeviceKeyAsync(device);
        var at = DateTimeOffset.UtcNow;
        var unsigned = GrantToLakeside(patient, at);
        // Unsigned: the events a patient without a key would get.
        var (missing, _) = await HomeHospitalProposesAsync(id, unsigned, Granted(unsigned));
        // Signed by a key the hospital made, under the patient's key id.
        var forgedSignature = hospitalsOwn.Signature(unsigned, id, at, keyId: device.KeyId);
        var forgedGrant = unsigned with { Signature = forgedSignature };
        var (forged, _) = await HomeHospitalProposesAsync(id, forgedGrant, Granted(unsigned),
            new SignedByPatient(PatientStatements.GrantConsentAction, forgedSignature.KeyId, forgedSignature.SignedAt, forgedSignature.Signature));
        // The patient's genuine signature of this very grant, but an hour old (kept from an earlier attempt).
        var oldSignature = device.Signature(unsigned, id, at.AddHours(-1));
        var (stale, staleProposal) = await HomeHospitalProposesAsync(id, unsigned with { Signature = oldSignature }, Granted(unsigned),
            new SignedByPatient(PatientStatements.GrantConsentAction, oldSignature.KeyId, oldSignature.SignedAt, oldSignature.Signature));

        foreach (var (request, code) in new[] { (missing, "patient-signature-required"), (forged, "patient-signature-invalid"), (stale, "patient-signature-stale") })
        {
            var reply = await EndorseAsync(request);
            Assert.Null(reply.Signature);
            Assert.Contains($"re-execution rejects the command ({code})", reply.Reason);
        }

        // Through the endorsement service, as the home hospital's node would submit it: every endorser refuses, nothing is appended.
        var length = await fixture.Host.StreamLengthAsync(id);
        await Assert.ThrowsAsync<EndorsementPolicyNotMetException>(() => Get<IEndorsementService>().EndorseAsync(staleProposal));
        Assert.Equal(length, await fixture.Host.StreamLengthAsync(id));
    }

    [SkippableFact]
    public async Task A_grant_signed_on_the_patients_device_is_endorsed()
    {
        using var device = new TestDeviceKey();
        var (id, patient) = await PatientWithDeviceKeyAsync(device);
        var at = DateTimeOffset.UtcNow;
        var grant = GrantToLakeside(patient, at);
        var signed = grant with { Signature = device.Signature(grant, id, at) };
        var (request, _) = await HomeHospitalProposesAsync(id, signed, Granted(grant),
            new SignedByPatient(PatientStatements.GrantConsentAction, device.KeyId, signed.Signature!.SignedAt, signed.Signature.Signature));

        var reply = await EndorseAsync(request);

        Assert.NotNull(reply.Signature);
    }

    [SkippableFact]
    public async Task Accepted_commands_carry_two_of_three_endorsements_in_their_receipts()
    {
        var response = await fixture.Host.As("alice (patient)").PostJsonAsync($"/patients/{Alice}/access",
            new { purpose = "treatment", categories = new[] { "conditions" } });

        var endorsedBy = (await response.JsonAsync()).GetProperty("receipt").GetProperty("endorsedBy").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.True(endorsedBy.Count >= 2);
        Assert.Subset(DemoNetwork.Hospitals.ToHashSet(), endorsedBy.ToHashSet()!);
    }
}

/// <summary>The endorser tests on PostgreSQL.</summary>
public sealed class EndorserTests(DemoServiceFixture fixture) : EndorserSpec<DemoServiceFixture>(fixture);

/// <summary>The endorser tests with the service's events on EventStoreDB: endorsers load streams from it.</summary>
public sealed class EndorserOnEventStoreDbTests(EventStoreDbDemoServiceFixture fixture) : EndorserSpec<EventStoreDbDemoServiceFixture>(fixture);
