using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using HealthEvents.Domain.Common;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace HealthEvents.Api.Tests;

public sealed class AuthenticationTests : IAsyncLifetime
{
    private ServiceHost _host = null!;

    public async Task InitializeAsync() => _host = await ServiceHost.StartAsync();
    public async Task DisposeAsync() => await _host.DisposeAsync();

    private async Task<HttpStatusCode> GetNetworkAsync(string? token)
    {
        var client = _host.Client();
        if (token is not null) client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return (await client.GetAsync("/network")).StatusCode;
    }

    [Fact]
    public async Task Valid_demo_token_is_accepted() =>
        Assert.Equal(HttpStatusCode.OK, await GetNetworkAsync(_host.Token("lakeside nurse")));

    [Fact]
    public async Task Missing_token_is_401() => Assert.Equal(HttpStatusCode.Unauthorized, await GetNetworkAsync(null));

    [Fact]
    public async Task Malformed_token_is_401() => Assert.Equal(HttpStatusCode.Unauthorized, await GetNetworkAsync("not.a.token"));

    [Fact]
    public async Task Expired_token_is_401() => Assert.Equal(HttpStatusCode.Unauthorized,
        await GetNetworkAsync(_host.Mint("northside", "northside-physician", Role.Physician, lifetime: TimeSpan.FromMinutes(5), now: DateTimeOffset.UtcNow.AddHours(-2))));

    [Fact]
    public async Task Unsigned_token_is_401()
    {
        var valid = _host.Token("northside physician");
        var unsigned = string.Join('.', valid.Split('.')[..2]) + ".";
        Assert.Equal(HttpStatusCode.Unauthorized, await GetNetworkAsync(unsigned));
    }

    [Fact]
    public async Task Token_signed_by_a_foreign_key_is_401()
    {
        using var foreign = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var token = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = "northside", Audience = "healthevents", Expires = DateTime.UtcNow.AddMinutes(10),
            Claims = new Dictionary<string, object> { ["sub"] = "northside-physician", ["role"] = "physician", ["hospital"] = "northside" },
            SigningCredentials = new SigningCredentials(new ECDsaSecurityKey(foreign) { KeyId = "foreign" }, SecurityAlgorithms.EcdsaSha256),
        });
        Assert.Equal(HttpStatusCode.Unauthorized, await GetNetworkAsync(token));
    }

    [Fact]
    public async Task Hospital_cannot_issue_tokens_for_another_hospitals_staff() =>
        Assert.Equal(HttpStatusCode.Unauthorized, await GetNetworkAsync(_host.Mint("northside", "riverside-physician", Role.Physician)));

    [Fact]
    public async Task Unregistered_practitioner_is_401() =>
        Assert.Equal(HttpStatusCode.Unauthorized, await GetNetworkAsync(_host.Mint("northside", "someone-else", Role.Physician)));

    [Fact]
    public async Task Role_other_than_registered_is_401() =>
        Assert.Equal(HttpStatusCode.Unauthorized, await GetNetworkAsync(_host.Mint("northside", "northside-nurse", Role.Physician)));
}
