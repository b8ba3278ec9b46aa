using System.Collections.Concurrent;
using System.Net.Http.Json;
using HealthEvents.Application.Endorsement;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;
using HealthEvents.Domain.Network;
using HealthEvents.Infrastructure.Identity;

namespace HealthEvents.Infrastructure.Endorsement;

/// <summary>
/// Reaches each member's endorser by the endpoint registered in the network: "in-process" runs it here
/// with the hospital's key from the local keyring (the single-machine default); an http(s) URL calls
/// that hospital's endorser node (the production shape). Each in-process endorser is <see cref="Endorser.Independent"/>:
/// it reads the store into state of its own, never the submitter's cache, as a separate node would.
/// </summary>
public sealed class EndorserClients(
    HospitalKeyring keyring, IHttpClientFactory http, IEventStore store, EventSerializer serializer, IClock clock, EndorsementOptions options)
    : IEndorserClients
{
    public const string InProcess = Application.Network.NetworkRules.InProcessEndpoint;
    public const string HttpClientName = "endorsers";

    private readonly ConcurrentDictionary<string, InProcessEndorser> _inProcess = new(StringComparer.Ordinal);

    public IEndorserClient? For(HospitalState hospital)
    {
        if (hospital.EndorserEndpoint == InProcess)
            return HospitalKeyring.IsValidId(hospital.Id) && keyring.Has(hospital.Id, HospitalKeyUse.Endorsement)
                ? _inProcess.GetOrAdd(hospital.Id, id => new InProcessEndorser(
                    Endorser.Independent(store, serializer, clock, options), new KeyringKeys(keyring, id, HospitalKeyUse.Endorsement)))
                : null;
        return Uri.TryCreate(hospital.EndorserEndpoint, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
            ? new HttpEndorser(http.CreateClient(HttpClientName), new Uri(uri, "endorse"))
            : null;
    }

    private sealed class InProcessEndorser(Endorser endorser, IHospitalKeys keys) : IEndorserClient
    {
        // Each endorser runs on its own, as a separate node would, not inline after the others.
        public Task<EndorsementReply> EndorseAsync(EndorsementRequest request, CancellationToken ct) =>
            Task.Run(() => endorser.EndorseAsync(request, keys, ct), ct);
    }

    private sealed class HttpEndorser(HttpClient client, Uri endpoint) : IEndorserClient
    {
        public async Task<EndorsementReply> EndorseAsync(EndorsementRequest request, CancellationToken ct)
        {
            using var response = await client.PostAsJsonAsync(endpoint, request, Json.Options, ct);
            response.EnsureSuccessStatusCode();
            return await response.Content.ReadFromJsonAsync<EndorsementReply>(Json.Options, ct)
                   ?? throw new InvalidDataException("The endorser answered with an empty body.");
        }
    }
}
