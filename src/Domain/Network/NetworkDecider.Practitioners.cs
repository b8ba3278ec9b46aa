using HealthEvents.Domain.Common;

namespace HealthEvents.Domain.Network;

public sealed partial class NetworkDecider
{
    private static IReadOnlyList<INetworkEvent> DeregisterPractitioner(DeregisterPractitioner command, NetworkState state)
    {
        Require(command.PractitionerId, "practitioner-id-required", "A practitioner id is required.");
        if (!state.Practitioners.TryGetValue(command.PractitionerId, out var practitioner))
            throw RejectedException.NotFound("practitioner-not-found", "No practitioner with this id is registered.");
        RequireAdminOf(practitioner.HospitalId, command.Actor);
        // A hospital without an admin could never register staff, rotate keys or vote on the network again.
        if (practitioner.Role == Role.Admin
            && state.Practitioners.Values.Count(p => p.Role == Role.Admin && p.HospitalId == practitioner.HospitalId) == 1)
            throw RejectedException.Conflict("last-admin", "The hospital's last admin cannot be deregistered.");

        return [new PractitionerDeregistered(practitioner.HospitalId, command.PractitionerId)];
    }
}
