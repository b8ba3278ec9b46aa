using System.Net;

namespace HealthEvents.Infrastructure.EventStoreDb;

/// <summary>
/// Where and how to reach EventStoreDB, from a connection string in its usual form:
/// <c>esdb://[user:password@]host[:port][,host[:port]...][/][?tls=false&amp;tlsVerifyCert=false]</c>.
/// The port defaults to 2113 and TLS to on, as in EventStoreDB's own clients; <c>tls=false</c> speaks plaintext
/// HTTP/2 (the server's insecure mode).
/// <para>
/// Cluster: several hosts, or <c>esdb+discover://</c>, make the hosts gossip seeds — the adapter asks them for the
/// cluster's members and talks to the leader (<see cref="Discover"/>). One host without <c>+discover</c> is used as
/// it is (a single node; a follower's not-leader answer still leads to the leader). Discovery settings carry the
/// official clients' names: <c>maxDiscoverAttempts</c> (rounds of asking the seeds, default 20),
/// <c>discoveryInterval</c> (milliseconds between rounds, default 500) and <c>gossipTimeout</c> (milliseconds per
/// gossip request, default 3000). Together they bound how long a call waits out an election before it fails as
/// unavailable (by default 10 s). <c>defaultDeadline</c> (milliseconds, default 5000, as the official clients name it)
/// bounds each call sent to a node: an append must be answered, and a read must bring its next reply, within it (a
/// subscription waits for new events as long as it takes; only its confirmation is bounded); past it the node is taken
/// for frozen or cut off (<see cref="DefaultDeadline"/>). Other settings of the official clients are accepted and ignored.
/// </para>
/// </summary>
public sealed record EventStoreDbSettings(
    IReadOnlyList<DnsEndPoint> Hosts, bool UseTls, bool VerifyServerCertificate, string? UserName, string? Password)
{
    public const int DefaultPort = 2113;

    /// <summary>Whether the hosts are gossip seeds of a cluster (several hosts, or the <c>+discover</c> scheme).</summary>
    public bool Discover { get; init; } = Hosts.Count > 1;

    /// <summary>How many rounds a call spends finding a reachable leader before it gives up (at least 1).</summary>
    public int MaxDiscoverAttempts { get; init; } = 20;

    /// <summary>The pause between two rounds of discovery (and between retries of a call whose node failed).</summary>
    public TimeSpan DiscoveryInterval { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>How long one gossip request may take (a hung node must not stall discovery).</summary>
    public TimeSpan GossipTimeout { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// How long a node may leave one call unanswered (an append's reply, a read's next reply) before the call is given up:
    /// the node is forgotten, so the next call finds the leader again, and this one fails as unavailable at once rather
    /// than waiting on a node that may never answer — the API then answers 503 with Retry-After. A node that is merely
    /// stopped (SIGSTOP, a long pause, a cut network) keeps its connections open, so without it a call waits for the
    /// connection's keep-alive to give up (about 20 s).
    /// </summary>
    public TimeSpan DefaultDeadline { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The gRPC address of <paramref name="host"/>: http:// without TLS, https:// with it.</summary>
    public Uri AddressOf(DnsEndPoint host) => new UriBuilder(UseTls ? "https" : "http", host.Host, host.Port).Uri;

    public static EventStoreDbSettings Parse(string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        var s = connectionString.Trim();
        var schemeEnd = s.IndexOf("://", StringComparison.Ordinal);
        var scheme = schemeEnd < 0 ? "" : s[..schemeEnd].ToLowerInvariant();
        if (scheme is not ("esdb" or "esdb+discover" or "kurrentdb" or "kurrentdb+discover"))
            throw new FormatException("An EventStoreDB connection string starts with esdb:// (e.g. esdb://localhost:2113?tls=false).");
        var rest = s[(schemeEnd + 3)..];

        var queryStart = rest.IndexOf('?');
        var query = queryStart < 0 ? "" : rest[(queryStart + 1)..];
        var authority = (queryStart < 0 ? rest : rest[..queryStart]).TrimEnd('/');

        string? user = null, password = null;
        var at = authority.LastIndexOf('@');
        if (at >= 0)
        {
            var credentials = authority[..at];
            authority = authority[(at + 1)..];
            var colon = credentials.IndexOf(':');
            if (colon <= 0) throw new FormatException("Credentials in an EventStoreDB connection string are user:password@.");
            user = Uri.UnescapeDataString(credentials[..colon]);
            password = Uri.UnescapeDataString(credentials[(colon + 1)..]);
        }

        var hosts = new List<DnsEndPoint>();
        foreach (var part in authority.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            hosts.Add(ParseHost(part));
        if (hosts.Count == 0) throw new FormatException("An EventStoreDB connection string names at least one host.");

        bool tls = true, verify = true;
        var settings = new EventStoreDbSettings(hosts, tls, verify, user, password);
        foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=');
            var key = (eq < 0 ? pair : pair[..eq]).Trim();
            var value = eq < 0 ? "" : Uri.UnescapeDataString(pair[(eq + 1)..]).Trim();
            if (Is(key, "tls")) tls = ParseBool(key, value);
            else if (Is(key, "tlsVerifyCert")) verify = ParseBool(key, value);
            else if (Is(key, "maxDiscoverAttempts")) settings = settings with { MaxDiscoverAttempts = ParseCount(key, value) };
            else if (Is(key, "discoveryInterval")) settings = settings with { DiscoveryInterval = ParseMilliseconds(key, value) };
            else if (Is(key, "gossipTimeout")) settings = settings with { GossipTimeout = ParseMilliseconds(key, value) };
            else if (Is(key, "defaultDeadline")) settings = settings with { DefaultDeadline = ParseMilliseconds(key, value) };
        }
        return settings with { UseTls = tls, VerifyServerCertificate = verify, Discover = hosts.Count > 1 || scheme.EndsWith("+discover", StringComparison.Ordinal) };
    }

    private static bool Is(string key, string name) => key.Equals(name, StringComparison.OrdinalIgnoreCase);

    private static int ParseCount(string key, string value) =>
        int.TryParse(value, out var n) && n >= 1 ? n : throw new FormatException($"'{key}' in an EventStoreDB connection string is a whole number of at least 1.");

    private static TimeSpan ParseMilliseconds(string key, string value) =>
        int.TryParse(value, out var ms) && ms >= 1 ? TimeSpan.FromMilliseconds(ms) : throw new FormatException($"'{key}' in an EventStoreDB connection string is a number of milliseconds (at least 1).");

    private static DnsEndPoint ParseHost(string part)
    {
        var colon = part.LastIndexOf(':');
        if (colon < 0) return new DnsEndPoint(part, DefaultPort);
        if (colon == 0 || !int.TryParse(part[(colon + 1)..], out var port) || port is <= 0 or > 65535)
            throw new FormatException($"'{part}' is not host[:port] in an EventStoreDB connection string.");
        return new DnsEndPoint(part[..colon], port);
    }

    private static bool ParseBool(string key, string value) =>
        bool.TryParse(value, out var b) ? b : throw new FormatException($"'{key}' in an EventStoreDB connection string is true or false.");

    /// <summary>No password in logs or exception messages.</summary>
    public override string ToString() =>
        $"esdb://{string.Join(',', Hosts.Select(h => $"{h.Host}:{h.Port}"))}?tls={(UseTls ? "true" : "false")}";
}
