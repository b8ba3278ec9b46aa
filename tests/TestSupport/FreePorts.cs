using System.Net;
using System.Net.Sockets;

namespace HealthEvents.TestSupport;

/// <summary>Loopback ports for a listener whose address must be known before it starts (not 0: a separate process, or a listener told apart by its port).</summary>
public static class FreePorts
{
    /// <summary>A port the system just handed out as free (released again, so the caller can bind it).</summary>
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
