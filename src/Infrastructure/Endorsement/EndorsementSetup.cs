using HealthEvents.Application.Endorsement;
using HealthEvents.Application.Ports;
using HealthEvents.Infrastructure.Identity;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace HealthEvents.Infrastructure.Endorsement;

public static class EndorsementSetup
{
    /// <summary>Multi-hospital endorsement of every command (replaces the unendorsed default), and this node's endorser.</summary>
    public static IServiceCollection AddHealthEventsEndorsement(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddHttpClient(EndorserClients.HttpClientName);
        services.AddSingleton(new EndorsementOptions(TimeSpan.FromMilliseconds(
            configuration.GetValue("Endorsement:TimeoutMilliseconds", (int)EndorsementOptions.Default.Timeout.TotalMilliseconds))));
        services.AddSingleton<StreamDeciders>();
        services.AddSingleton<Endorser>();
        services.AddSingleton<IEndorserClients, EndorserClients>();
        services.AddSingleton<INodeIdentity>(sp => new KeyringNodeIdentity(
            sp.GetRequiredService<HospitalKeyring>(), configuration["HealthEvents:NodeHospital"] is { Length: > 0 } h ? h : null));
        services.AddSingleton<IEndorsementService, EndorsementService>();
        return services;
    }
}
