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
        services.AddSingleton(Options(configuration));
        services.AddSingleton<StreamDeciders>();
        services.AddSingleton<Application.Ledger.LedgerWitness>();
        services.AddSingleton<Endorser>();
        services.AddSingleton<IEndorserClients, EndorserClients>();
        services.AddSingleton<INodeIdentity>(sp => new KeyringNodeIdentity(sp.GetRequiredService<HospitalKeyring>(),
            sp.GetRequiredService<Application.Network.NetworkDirectory>(), configuration["HealthEvents:NodeHospital"] is { Length: > 0 } h ? h : null));
        services.AddSingleton<IEndorsementService, EndorsementService>();
        return services;
    }

    /// <summary>
    /// Endorsement:TimeoutMilliseconds (the submitter's wait), Endorsement:MaxClockSkewSeconds (how far a command's
    /// time may be from an endorser's clock, default 120), Endorsement:BackdateToleranceSeconds (how far before the ledger
    /// heads stored ahead of it a transaction may be stamped, default 2 × skew + 60), HealthEvents:Auth:MaxTokenLifetime (the longest
    /// credential accepted, default 1.00:00:00 — the same bound the API puts on bearer tokens), and the batching of
    /// concurrent proposals (<see cref="EndorsementBatching"/>): Endorsement:BatchWindowMilliseconds (default 2),
    /// Endorsement:BatchMaxSize (default 64, at most 256; 1 = no batching), Endorsement:BatchMaxRoundsInFlight (default 2).
    /// </summary>
    public const string MaxTokenLifetimeKey = "HealthEvents:Auth:MaxTokenLifetime";

    public static EndorsementOptions Options(IConfiguration configuration)
    {
        var options = Base(configuration);
        // Unset, it follows the skew (EndorsementOptions.BackdateTolerance); never below zero.
        return configuration.GetValue<double?>("Endorsement:BackdateToleranceSeconds") is { } seconds
            ? options with { BackdateTolerance = TimeSpan.FromSeconds(Math.Max(0, seconds)) }
            : options;
    }

    private static EndorsementOptions Base(IConfiguration configuration) =>
        new(TimeSpan.FromMilliseconds(configuration.GetValue("Endorsement:TimeoutMilliseconds", (int)EndorsementOptions.Default.Timeout.TotalMilliseconds)))
        {
            MaxClockSkew = TimeSpan.FromSeconds(configuration.GetValue("Endorsement:MaxClockSkewSeconds", EndorsementOptions.Default.MaxClockSkew.TotalSeconds)),
            MaxCredentialLifetime = configuration.GetValue(MaxTokenLifetimeKey, EndorsementOptions.Default.MaxCredentialLifetime),
            Batching = configuration.GetValue("Endorsement:BatchMaxSize", EndorsementBatching.Default.MaxSize) <= 1 ? EndorsementBatching.None : new EndorsementBatching(
                TimeSpan.FromMilliseconds(configuration.GetValue("Endorsement:BatchWindowMilliseconds", EndorsementBatching.Default.Window.TotalMilliseconds)),
                Math.Clamp(configuration.GetValue("Endorsement:BatchMaxSize", EndorsementBatching.Default.MaxSize), 1, EndorsementBatch.MaxSize),
                Math.Max(1, configuration.GetValue("Endorsement:BatchMaxRoundsInFlight", EndorsementBatching.Default.MaxRoundsInFlight))),
        };
}
