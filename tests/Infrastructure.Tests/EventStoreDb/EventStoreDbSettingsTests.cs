using HealthEvents.Infrastructure.EventStoreDb;

namespace HealthEvents.Infrastructure.Tests.EventStoreDb;

public sealed class EventStoreDbSettingsTests
{
    [Fact]
    public void Insecure_single_node_is_plaintext_http2_on_the_given_port()
    {
        var s = EventStoreDbSettings.Parse("esdb://127.0.0.1:2113?tls=false");

        Assert.False(s.UseTls);
        var host = Assert.Single(s.Hosts);
        Assert.Equal(new Uri("http://127.0.0.1:2113"), s.AddressOf(host));
        Assert.Null(s.UserName);
    }

    [Fact]
    public void Tls_is_on_by_default_and_the_port_defaults_to_2113()
    {
        var s = EventStoreDbSettings.Parse("esdb://eventstore.example");

        Assert.True(s.UseTls);
        Assert.True(s.VerifyServerCertificate);
        Assert.Equal(new Uri("https://eventstore.example:2113"), s.AddressOf(s.Hosts[0]));
        Assert.Equal(new Uri("https://eventstore.example:2113"), s.AddressOf(EventStoreDbSettings.Parse("esdb://eventstore.example?tls=true").Hosts[0]));
    }

    [Fact]
    public void Credentials_several_hosts_and_other_settings()
    {
        var s = EventStoreDbSettings.Parse("esdb+discover://admin:ch%40nge:it@n1:2111,n2:2112 , n3/?tls=true&tlsVerifyCert=false&nodePreference=leader");

        Assert.Equal("admin", s.UserName);
        Assert.Equal("ch@nge:it", s.Password);
        Assert.Equal(["n1:2111", "n2:2112", "n3:2113"], s.Hosts.Select(h => $"{h.Host}:{h.Port}"));
        Assert.False(s.VerifyServerCertificate);
        Assert.DoesNotContain("ch@nge", s.ToString());
    }

    [Theory]
    [InlineData("http://127.0.0.1:2113")]
    [InlineData("127.0.0.1:2113")]
    [InlineData("esdb://")]
    [InlineData("esdb://host:notaport")]
    [InlineData("esdb://host:2113?tls=maybe")]
    [InlineData("esdb://user@host:2113")]
    public void Malformed_connection_strings_are_refused(string connectionString) =>
        Assert.Throws<FormatException>(() => EventStoreDbSettings.Parse(connectionString));
}
