using System.Net.Http.Json;
using System.Text.Json;
using HealthEvents.Application.Commands;
using HealthEvents.Application.Endorsement;
using HealthEvents.Application.Ledger;
using HealthEvents.Application.Network;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Network;

namespace HealthEvents.Infrastructure.Identity;

/// <summary>The genesis file: the network's founding members. Public keys may be omitted when this node's keyring holds the hospital's keys.</summary>
public sealed record GenesisFile(
    IReadOnlyList<GenesisHospital> Hospitals,
    IReadOnlyList<GenesisPractitioner> Practitioners,
    IReadOnlyList<GenesisResearcher> Researchers,
    string? EndorsementPolicy)
{
    public static GenesisFile Load(string path) =>
        JsonSerializer.Deserialize<GenesisFile>(File.ReadAllBytes(path), Json.Options)
        ?? throw new InvalidDataException("The genesis file is empty.");

    public void Save(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, JsonSerializer.SerializeToUtf8Bytes(this, new JsonSerializerOptions(Json.Options) { WriteIndented = true }));
    }
}

public sealed record GenesisHospital(string Id, string Name, string EndorserEndpoint, string? IdentityPublicKey = null, string? EndorsementPublicKey = null);

public sealed record GenesisPractitioner(string Hospital, string Id, Role Role);

/// <param name="Hospital">The member that vouches for the researcher (issues their tokens); the first hospital when absent.</param>
public sealed record GenesisResearcher(string Id, string Organisation, string? Hospital = null);

/// <summary>What an endorser node serves at GET /public-key.</summary>
public sealed record EndorserPublicKey(string HospitalId, string KeyId, string PublicKey);

/// <summary>
/// Seeds an empty network stream from a genesis file, once: when the stream has events, nothing happens. The node that
/// founds the network pins the founding's hash (<see cref="NetworkGenesisPin"/>) as soon as it is stored, and will not
/// found a network while another one is pinned.
/// </summary>
public sealed class NetworkGenesis(NetworkStream network, NetworkDirectory directory, HospitalKeyring keyring, IEventStore store, NetworkGenesisPin pin)
{
    /// <exception cref="GenesisMismatchException">The store serves no founding (empty or its start hidden) but this node pinned one, or the network's founding is not the pinned one.</exception>
    public async Task<bool> SeedIfEmptyAsync(GenesisFile genesis, CancellationToken ct)
    {
        if (!(await directory.RefreshAsync(ct)).Hospitals.IsEmpty) return false;
        // A network whose founding is not the pinned one is no empty store: say so rather than "nothing to found on".
        if (directory.Untrusted is { Code: VerificationCodes.GenesisMismatch } mismatch) throw new GenesisMismatchException(mismatch.Message);
        pin.RequireFoundingServed(directory.Untrusted);
        var founder = genesis.Hospitals[0].Id;
        var hospitals = new List<(GenesisHospital H, (string Id, string Key) Endorsement, (string Id, string Key) Identity)>();
        foreach (var h in genesis.Hospitals)
        {
            var identity = PublicKeyOf(h.Id, HospitalKeyUse.Identity, h.IdentityPublicKey);
            var endorsement = h.EndorsementPublicKey is null && !keyring.Has(h.Id, HospitalKeyUse.Endorsement) && IsUrl(h.EndorserEndpoint)
                ? await FetchEndorsementKeyAsync(h, ct)
                : PublicKeyOf(h.Id, HospitalKeyUse.Endorsement, h.EndorsementPublicKey);
            hospitals.Add((h, endorsement, identity));
        }
        // One transaction, the network stream's first: the only one nobody endorses (docs/architecture.md, "Endorsement").
        var founded = await network.ExecuteAsync(at => new FoundNetwork(
            hospitals.Select(x => new JoinHospital(x.H.Id, x.H.Name, x.H.EndorserEndpoint, x.Endorsement.Id, x.Endorsement.Key,
                x.Identity.Id, x.Identity.Key, GenesisActor(founder), at)).ToList(),
            genesis.Practitioners.Select(p => new RegisterPractitioner(p.Hospital, p.Id, p.Role, GenesisActor(p.Hospital), at)).ToList(),
            genesis.Researchers.Select(r => new RegisterResearcher(r.Id, r.Organisation, GenesisActor(r.Hospital ?? founder), at)).ToList(),
            genesis.EndorsementPolicy, GenesisActor(founder), at), Context(founder), ct);
        await PinAsync(founded.Receipt.EventIds, ct);
        return true;
    }

    /// <summary>
    /// The founding, read back by the ids this node gave its events, is what this node trusts from now on: its length and
    /// its last event's hash (<see cref="FoundingPin"/>), so nothing appended after it passes as more of it.
    /// </summary>
    private async Task PinAsync(IReadOnlyList<Guid> eventIds, CancellationToken ct)
    {
        var read = new List<EventEnvelope>(eventIds.Count);
        await foreach (var e in store.ReadStreamAsync(NetworkStream.StreamId, 0, ct))
        {
            if (read.Count == eventIds.Count) break;
            read.Add(e);
        }
        if (read.Count != eventIds.Count || read.Where((e, i) => e.Version != i || e.EventId != eventIds[i]).Any())
            throw new GenesisMismatchException("The network stream does not start with the founding this node has just stored.");
        pin.Founded(read.Count, read[^1].Hash);
    }

    private (string KeyId, string PublicKey) PublicKeyOf(string hospitalId, HospitalKeyUse use, string? configured)
    {
        using var key = configured is { Length: > 0 } ? PublicKeys.Import(configured) : keyring.GetOrCreate(hospitalId, use);
        return (PublicKeys.KeyId(key), PublicKeys.Export(key));
    }

    /// <summary>The public key a remote endorser node serves (it keeps its private key to itself), waiting for it to come up.</summary>
    private static async Task<(string KeyId, string PublicKey)> FetchEndorsementKeyAsync(GenesisHospital h, CancellationToken ct)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var url = new Uri(new Uri(h.EndorserEndpoint), "public-key");
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var key = await http.GetFromJsonAsync<EndorserPublicKey>(url, Json.Options, ct)
                          ?? throw new InvalidDataException($"The endorser of {h.Id} served no key.");
                using var imported = PublicKeys.Import(key.PublicKey); // refuse anything that is not a public key
                return (PublicKeys.KeyId(imported), PublicKeys.Export(imported));
            }
            catch (HttpRequestException) when (attempt < 60)
            {
                await Task.Delay(TimeSpan.FromSeconds(1), ct);
            }
        }
    }

    private static bool IsUrl(string endpoint) => Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https";

    /// <summary>Genesis acts as the administrator of the first hospital (who admits the others), and of each hospital for its own staff.</summary>
    private static Actor GenesisActor(string hospitalId) => new(EndorsementChecker.GenesisActor, Role.Admin, hospitalId);

    private static CommandContext Context(string hospitalId) => CommandContext.For(GenesisActor(hospitalId));
}
