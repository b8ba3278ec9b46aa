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

    [Fact]
    public void Several_hosts_or_discover_make_gossip_seeds_with_the_official_discovery_settings()
    {
        var single = EventStoreDbSettings.Parse("esdb://n1:2113?tls=false");
        Assert.False(single.Discover);
        Assert.Equal((20, TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(3)), (single.MaxDiscoverAttempts, single.DiscoveryInterval, single.GossipTimeout));

        var seeds = EventStoreDbSettings.Parse("esdb://n1,n2,n3?tls=false&maxDiscoverAttempts=5&discoveryInterval=250&gossipTimeout=1000");
        Assert.True(seeds.Discover);
        Assert.Equal((5, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(1)), (seeds.MaxDiscoverAttempts, seeds.DiscoveryInterval, seeds.GossipTimeout));
        Assert.True(EventStoreDbSettings.Parse("esdb+discover://n1?tls=false").Discover);
    }

    [Theory]
    [InlineData("esdb://host?maxDiscoverAttempts=0")]
    [InlineData("esdb://host?discoveryInterval=soon")]
    [InlineData("http://127.0.0.1:2113")]
    [InlineData("127.0.0.1:2113")]
    [InlineData("esdb://")]
    [InlineData("esdb://host:notaport")]
    [InlineData("esdb://host:2113?tls=maybe")]
    [InlineData("esdb://user@host:2113")]
    public void Malformed_connection_strings_are_refused(string connectionString) =>
        Assert.Throws<FormatException>(() => EventStoreDbSettings.Parse(connectionString));
}
