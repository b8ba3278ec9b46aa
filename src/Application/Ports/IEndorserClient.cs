using HealthEvents.Application.Endorsement;
using HealthEvents.Domain.Network;

namespace HealthEvents.Application.Ports;

/// <summary>Reaches one hospital's endorser, wherever it runs. Never throws for the endorser's own failures: those are refusals.</summary>
public interface IEndorserClient
{
    Task<EndorsementReply> EndorseAsync(EndorsementRequest request, CancellationToken ct);
}

public interface IEndorserClients
{
    /// <summary>The client for a member's endorser, or null when this node cannot reach it at all.</summary>
    IEndorserClient? For(HospitalState hospital);
}
