using HealthEvents.Domain.Common;

namespace HealthEvents.Domain.Network;

public sealed partial class NetworkDecider : IDecider<NetworkState, INetworkCommand, INetworkEvent>
{
    private NetworkDecider() { }

    public static NetworkState Initial => NetworkState.Empty;

    public static IReadOnlyList<INetworkEvent> Decide(INetworkCommand command, NetworkState state)
    {
        if (command.Actor.Role != Role.Admin)
            throw RejectedException.Forbidden("admin-required", "Only an admin may change the network.");

        return command switch
        {
            FoundNetwork c => Found(c, state),
            JoinHospital c => Join(c, state),
            RotateHospitalKey c => Rotate(c, state),
            RegisterPractitioner c => RegisterPractitioner(c, state),
            RegisterResearcher c => RegisterResearcher(c, state),
            ChangeEndorsementPolicy c => ChangePolicy(c, state),
            DeregisterPractitioner c => DeregisterPractitioner(c, state),
            ProposeNetworkChange c => Propose(c, state),
            ApproveNetworkChange c => Approve(c, state),
            _ => throw new ArgumentException($"Unknown network command {command.GetType().Name}.", nameof(command)),
        };
    }

    public static NetworkState Evolve(NetworkState state, INetworkEvent @event) => @event switch
    {
        // The joined event carries no time: a hospital's first keys count from the beginning.
        HospitalJoined e => state with
        {
            Hospitals = state.Hospitals.SetItem(e.HospitalId, new HospitalState(
                e.HospitalId, e.Name, e.EndorserEndpoint,
                [new HospitalKey(e.EndorsementKeyId, e.EndorsementPublicKey, DateTimeOffset.MinValue)],
                [new HospitalKey(e.IdentityKeyId, e.IdentityPublicKey, DateTimeOffset.MinValue)])),
        },
        HospitalKeyRotated e => state.Hospitals.TryGetValue(e.HospitalId, out var hospital)
            ? state with
            {
                Hospitals = state.Hospitals.SetItem(e.HospitalId, hospital.WithKey(e.Use, new HospitalKey(e.KeyId, e.PublicKey, e.EffectiveFrom))),
            }
            : state,
        PractitionerRegistered e => state with
        {
            Practitioners = state.Practitioners.SetItem(e.PractitionerId, new PractitionerState(e.HospitalId, e.Role)),
        },
        ResearcherRegistered e => state with
        {
            Researchers = state.Researchers.SetItem(e.ResearcherId, new ResearcherState(e.Organisation, e.Hospital)),
        },
        EndorsementPolicyChanged e => state with { EndorsementPolicy = e.Policy },
        PractitionerDeregistered e => state with { Practitioners = state.Practitioners.Remove(e.PractitionerId) },
        ChangeProposed or ChangeApproved or ChangeEnacted => EvolveProposal(state, @event),
        MembershipPolicyChanged e => state with { MembershipPolicy = e.Policy },
        _ => throw new ArgumentException($"Unknown network event {@event.GetType().Name}.", nameof(@event)),
    };

    /// <summary>Each founding step is held to its own command's rules, in order, against the network the earlier steps made.</summary>
    private static IReadOnlyList<INetworkEvent> Found(FoundNetwork command, NetworkState state)
    {
        if (!state.Hospitals.IsEmpty)
            throw RejectedException.Conflict("network-founded", "The network is already founded; it changes only by endorsed commands.");
        if (command.Hospitals.Count == 0)
            throw RejectedException.Invalid("hospitals-required", "A network is founded with at least one hospital.");
        var events = new List<INetworkEvent>();
        void Step(IReadOnlyList<INetworkEvent> decided)
        {
            events.AddRange(decided);
            state = decided.Aggregate(state, Evolve);
        }
        foreach (var h in command.Hospitals) Step([FoundingJoin(h, state)]);
        foreach (var p in command.Practitioners) Step(RegisterPractitioner(p, state));
        foreach (var r in command.Researchers) Step(RegisterResearcher(r, state));
        if (command.EndorsementPolicy is { Length: > 0 } policy)
            Step([FoundingPolicy(new ChangeEndorsementPolicy(policy, command.Actor, command.At), state)]);
        return events;
    }

    private static IReadOnlyList<INetworkEvent> Join(JoinHospital command, NetworkState state)
    {
        // Genesis: the first hospital joins an empty network; from then on the members admit members by proposal.
        if (!state.Hospitals.IsEmpty)
            throw ProposalRequired();
        return [Admit(command, state)];
    }

    /// <summary>The genesis file's founder admits the other founding members.</summary>
    private static HospitalJoined FoundingJoin(JoinHospital command, NetworkState state)
    {
        if (!state.Hospitals.IsEmpty)
            RequireMemberAdmin(command.Actor, state);
        return Admit(command, state);
    }

    /// <summary>The rules of any admission, founding or proposed: complete, distinct key ids, not yet a member.</summary>
    internal static HospitalJoined Admit(JoinHospital command, NetworkState state)
    {
        Require(command.HospitalId, "hospital-id-required", "A hospital id is required.");
        Require(command.Name, "name-required", "A hospital name is required.");
        Require(command.EndorserEndpoint, "endpoint-required", "An endorser endpoint is required.");
        foreach (var keyField in new[] { command.EndorsementKeyId, command.EndorsementPublicKey, command.IdentityKeyId, command.IdentityPublicKey })
            Require(keyField, "key-required", "Endorsement and identity keys with their ids are required.");
        if (string.Equals(command.EndorsementKeyId, command.IdentityKeyId, StringComparison.Ordinal))
            throw RejectedException.Invalid("key-id-reused", "Endorsement and identity keys need distinct ids.");
        if (state.IsMember(command.HospitalId))
            throw RejectedException.Conflict("hospital-exists", "The hospital is already a member.");

        return new HospitalJoined(
            command.HospitalId, command.Name, command.EndorserEndpoint,
            command.EndorsementKeyId, command.EndorsementPublicKey, command.IdentityKeyId, command.IdentityPublicKey);
    }

    private static IReadOnlyList<INetworkEvent> Rotate(RotateHospitalKey command, NetworkState state)
    {
        if (!state.Hospitals.TryGetValue(command.HospitalId, out var hospital))
            throw RejectedException.NotFound("hospital-not-found", "The hospital is not a member.");
        RequireAdminOf(command.HospitalId, command.Actor);
        if (!Enum.IsDefined(command.Use))
            throw RejectedException.Invalid("key-use-invalid", "The key use is not known.");
        Require(command.KeyId, "key-required", "A key id and public key are required.");
        Require(command.PublicKey, "key-required", "A key id and public key are required.");
        // A key that took effect in the past would make old signatures checkable against it.
        if (command.EffectiveFrom < command.At)
            throw RejectedException.Invalid("effective-from-in-past", "A new key cannot take effect in the past.");
        if (hospital.HasKeyId(command.KeyId))
            throw RejectedException.Conflict("key-id-reused", "The hospital already used this key id.");
        if (hospital.Keys(command.Use)[^1].EffectiveFrom >= command.EffectiveFrom)
            throw RejectedException.Conflict("key-rotation-out-of-order", "A new key must take effect after the hospital's latest key.");

        return [new HospitalKeyRotated(command.HospitalId, command.Use, command.KeyId, command.PublicKey, command.EffectiveFrom)];
    }

    private static IReadOnlyList<INetworkEvent> RegisterPractitioner(RegisterPractitioner command, NetworkState state)
    {
        if (!state.IsMember(command.HospitalId))
            throw RejectedException.NotFound("hospital-not-found", "The hospital is not a member.");
        RequireAdminOf(command.HospitalId, command.Actor);
        Require(command.PractitionerId, "practitioner-id-required", "A practitioner id is required.");
        RequireIdentifier(command.PractitionerId, "practitioner-id-invalid");
        if (!command.Role.IsPractitionerRole())
            throw RejectedException.Invalid("role-not-practitioner", "The role is not a practitioner role.");
        if (state.Practitioners.ContainsKey(command.PractitionerId))
            throw RejectedException.Conflict("practitioner-exists", "The practitioner is already registered.");
        // One id, one person: a consent naming it must not reach a researcher as well as a practitioner.
        if (state.Researchers.ContainsKey(command.PractitionerId))
            throw RejectedException.Conflict("id-taken", "A researcher is registered under this id.");

        return [new PractitionerRegistered(command.HospitalId, command.PractitionerId, command.Role)];
    }

    private static IReadOnlyList<INetworkEvent> RegisterResearcher(RegisterResearcher command, NetworkState state)
    {
        RequireMemberAdmin(command.Actor, state);
        Require(command.ResearcherId, "researcher-id-required", "A researcher id is required.");
        RequireIdentifier(command.ResearcherId, "researcher-id-invalid");
        Require(command.Organisation, "organisation-required", "An organisation is required.");
        // Patients name organisations in consents (kind hospital): clean, and never a member hospital's id.
        if (Identifiers.Problem(command.Organisation) is { } problem)
            throw RejectedException.Invalid("organisation-invalid", problem);
        if (state.IsMember(command.Organisation))
            throw RejectedException.Invalid("organisation-invalid", "A research organisation is not a member hospital.");
        // A researcher registered before researchers had a vouching hospital may be registered again to get one.
        if (state.Researchers.TryGetValue(command.ResearcherId, out var existing) && existing.Hospital is not null)
            throw RejectedException.Conflict("researcher-exists", "The researcher is already registered.");
        if (state.Practitioners.ContainsKey(command.ResearcherId))
            throw RejectedException.Conflict("id-taken", "A practitioner is registered under this id.");

        // The registering admin's hospital vouches for the researcher: it, and only it, issues their tokens.
        return [new ResearcherRegistered(command.ResearcherId, command.Organisation, command.Actor.Hospital)];
    }

    private static IReadOnlyList<INetworkEvent> ChangePolicy(ChangeEndorsementPolicy command, NetworkState state)
    {
        // One admin's word no longer changes a network that has members: that takes the membership policy.
        if (!state.Hospitals.IsEmpty)
            throw ProposalRequired();
        return [FoundingPolicy(command, state)];
    }

    internal static EndorsementPolicyChanged FoundingPolicy(ChangeEndorsementPolicy command, NetworkState state)
    {
        RequireMemberAdmin(command.Actor, state);
        return new EndorsementPolicyChanged(CanonicalPolicy(command.Policy));
    }

    /// <summary>A policy nobody can evaluate would stop every later transaction; it is stored in its canonical text.</summary>
    private static string CanonicalPolicy(string? text)
    {
        Require(text ?? "", "policy-required", "An endorsement policy is required.");
        if (!EndorsementPolicy.TryParse(text, out var policy, out var error))
            throw RejectedException.Invalid("policy-invalid", error!);
        return policy!.ToString();
    }

    private static RejectedException ProposalRequired() => RejectedException.Conflict("proposal-required",
        "The network has members: admissions and policy changes are proposed and approved under the membership policy.");

    private static void RequireMemberAdmin(Actor actor, NetworkState state)
    {
        if (!state.IsMember(actor.Hospital))
            throw RejectedException.Forbidden("not-member-admin", "Only an admin of a member hospital may do this.");
    }

    private static void RequireAdminOf(string hospitalId, Actor actor)
    {
        if (!string.Equals(actor.Hospital, hospitalId, StringComparison.Ordinal))
            throw RejectedException.Forbidden("not-hospital-admin", "Only an admin of this hospital may do this.");
    }

    /// <summary>Ids others will name in consents: clean (no invisible characters, NFC) and never a node's own system id.</summary>
    private static void RequireIdentifier(string id, string code)
    {
        if (Identifiers.Problem(id) is { } problem)
            throw RejectedException.Invalid(code, problem);
        if (SystemActors.IsSystem(id))
            throw RejectedException.Invalid(code, "This id is reserved for the nodes' own actions.");
    }

    private static void Require(string value, string code, string message)
    {
        if (string.IsNullOrWhiteSpace(value))
            throw RejectedException.Invalid(code, message);
    }
}
