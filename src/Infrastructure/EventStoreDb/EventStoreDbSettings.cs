using System.Net;

namespace HealthEvents.Infrastructure.EventStoreDb;

/// <summary>
/// Where and how to reach EventStoreDB, from a connection string in its usual form:
/// <c>esdb://[user:password@]host[:port][,host[:port]...][/][?tls=false&amp;tlsVerifyCert=false]</c>
/// (<c>esdb+discover://</c> is accepted too: its hosts are tried in turn, and a follower's not-leader answer
/// leads to the leader; there is no gossip discovery). The port defaults to 2113 and TLS to on, as in
/// EventStoreDB's own clients; <c>tls=false</c> speaks plaintext HTTP/2 (the server's insecure mode).
/// Other settings of the official clients are accepted and ignored.
/// </summary>
public sealed record EventStoreDbSettings(
    IReadOnlyList<DnsEndPoint> Hosts, bool UseTls, bool VerifyServerCertificate, string? UserName, string? Password)
{
    public const int DefaultPort = 2113;

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
        foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=');
            var key = (eq < 0 ? pair : pair[..eq]).Trim();
            var value = eq < 0 ? "" : Uri.UnescapeDataString(pair[(eq + 1)..]).Trim();
            if (key.Equals("tls", StringComparison.OrdinalIgnoreCase)) tls = ParseBool(key, value);
            else if (key.Equals("tlsVerifyCert", StringComparison.OrdinalIgnoreCase)) verify = ParseBool(key, value);
        }
        return new EventStoreDbSettings(hosts, tls, verify, user, password);
    }

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
