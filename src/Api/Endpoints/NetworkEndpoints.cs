using HealthEvents.Application.Network;
using HealthEvents.Domain.Common;
using Microsoft.AspNetCore.Http.HttpResults;

namespace HealthEvents.Api.Endpoints;

public static class NetworkEndpoints
{
    public sealed record HospitalView(string Id, string Name, string EndorserEndpoint, IReadOnlyList<KeyView> EndorsementKeys, IReadOnlyList<KeyView> IdentityKeys);

    public sealed record KeyView(string KeyId, string PublicKey, DateTimeOffset? EffectiveFrom);

    /// <summary>A practitioner registered in the network: who a consent can name (the patient's page offers them).</summary>
    public sealed record PractitionerView(string Id, string HospitalId, Role Role);

    /// <param name="MembershipPolicy">What approvals a change of the network itself needs (POST /network/proposals).</param>
    /// <param name="Practitioners">Every registered practitioner, by id (ordinal); what the network stream holds anyway.</param>
    public sealed record NetworkView(IReadOnlyList<HospitalView> Hospitals, string EndorsementPolicy, string MembershipPolicy, int OpenProposals,
        IReadOnlyList<PractitionerView> Practitioners);

    public static IEndpointRouteBuilder MapNetworkEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/network", Get).WithTags("Network").RequireAuthorization();
        return app;
    }

    public static Ok<NetworkView> Get(NetworkDirectory directory)
    {
        var network = directory.Current;
        return TypedResults.Ok(new NetworkView(
            network.Hospitals.Values.OrderBy(h => h.Id, StringComparer.Ordinal).Select(h => new HospitalView(h.Id, h.Name, h.EndorserEndpoint,
                h.EndorsementKeys.Select(View).ToList(), h.IdentityKeys.Select(View).ToList())).ToList(),
            network.EndorsementPolicy, network.MembershipPolicy, network.Proposals.Values.Count(p => !p.Enacted),
            [.. network.Practitioners.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => new PractitionerView(p.Key, p.Value.HospitalId, p.Value.Role))]));
    }

    private static KeyView View(Domain.Network.HospitalKey k) =>
        new(k.KeyId, k.PublicKey, k.EffectiveFrom == DateTimeOffset.MinValue ? null : k.EffectiveFrom);
}
