namespace HealthEvents.Benchmarks;

/// <summary>
/// Which area a sampled stack's CPU belongs to, by the frames' names ("Module!Namespace.Type.Method(args)" as TraceEvent
/// resolves them). A sample goes to the area of its innermost frame (nearest the leaf) that names a specific area; only a
/// stack with none goes to the runtime's catch-all. So each sample counts once (the rows add up to the whole), and
/// JSON that Marten serialises counts as JSON, a dictionary look-up inside the decider as the decider.
/// </summary>
public static class CpuAreas
{
    public const string Idle = "thread pool idle/spin";
    public const string Runtime = "runtime: async, thread pool, collections";
    public const string Unresolved = "frames not resolved";

    private static readonly (string Area, string[] Frames)[] Specific =
    [
        ("lock contention (Monitor.Enter slow path)", ["Monitor.Enter_Slowpath", "Monitor.Exit_Slowpath", "Monitor.PulseAll"]),
        ("ECDSA P-256 (sign/verify)", ["ECDsa", "EcDsa", "EcKey", "EvpPKey"]),
        ("AES-GCM sealing", ["AesGcm", "EvpCipher", "AesAEAD"]),
        ("SHA-256, hash chain, Merkle tree", ["SHA256", "Sha256", "HashProvider", "IncrementalHash", "EvpDigest", "HashChain", "Merkle"]),
        ("other crypto (JWT, HMAC, random)", ["System.Security.Cryptography", "IdentityModel"]),
        ("JSON (System.Text.Json)", ["System.Text.Json", "Newtonsoft.Json"]),
        ("FHIR (Firely)", ["Hl7.Fhir", "Firely"]),
        ("Marten/Npgsql", ["Npgsql", "Marten", "Weasel", "JasperFx"]),
        ("sockets, pipes (either side)", ["System.Net.Sockets", "System.IO.Pipelines", "Interop+Sys.Send", "Interop+Sys.Receive"]),
        ("benchmark client (HttpClient)", ["System.Net.Http", "HealthEvents.Benchmarks"]),
        ("ASP.NET Core/Kestrel/HTTP", ["Microsoft.AspNetCore", "Microsoft.Net.Http"]),
        ("tracing, metrics, logging", ["System.Diagnostics.Activity", "DiagnosticSource", "OpenTelemetry", "Microsoft.Extensions.Logging", "System.Diagnostics.Metrics"]),
        ("decider/fold (HealthEvents.Domain)", ["HealthEvents.Domain"]),
        ("projections (runner, feed, views)", ["HealthEvents.Projections"]),
        ("HealthEvents handlers, endorsement, stores", ["HealthEvents."]),
        ("libraries: DI, Mediator, validation", ["Microsoft.Extensions", "Mediator", "FluentValidation"]),
    ];

    // The leaf frame of a thread that waits (off CPU): the managed method that called into the blocking native wait.
    private static readonly string[] Waits =
    [
        "WaitForSocketEvents", "LowLevelLifoSemaphore.WaitNative", "LowLevelLifoSemaphore.WaitCore", "Monitor.ObjWait", "Monitor.Wait",
        "WaitHandle.WaitOneCore", "WaitHandle.WaitOneNoCheck", "WaitHandle.WaitMultiple", "Thread.SleepInternal", "Thread.Sleep",
        "LowLevelMonitor", "LowLevelLock.Wait", "WaitSubsystem", "Interop+Sys.Read(", "Interop+Sys.Poll", "WaitForSignal", "PollGCWorker", "SocketAsyncEngine.EventLoop",
        // These spin a little before they block, and a managed stack cannot tell which: counted as waiting, so a thread's
        // spinning CPU spreads over its own work (a thread that only waited keeps it under "idle/spin").
        "LowLevelLifoSemaphore.Wait(", "ManualResetEventSlim.Wait(", "WorkerThreadStart", "LowLevelSpinWaiter",
    ];

    // Spinning before a wait: on CPU, but for nothing.
    private static readonly string[] Spins =
        ["SpinWait", "Thread.Yield"];

    /// <summary>The areas in print order, specific ones first.</summary>
    public static IEnumerable<string> All => Specific.Select(s => s.Area).Append(Runtime).Append(Idle).Append(Unresolved);

    /// <summary>True when the sample's thread was waiting (its leaf frame a wait), i.e. not on a CPU.</summary>
    public static bool Waiting(IReadOnlyList<string> frames) => Leaf(frames) is not { } leaf || Waits.Any(w => leaf.Contains(w, StringComparison.Ordinal));

    // The innermost frame with a name: the P/Invoke stub a thread sits in (a blocking epoll_wait, a send) has none.
    private static string? Leaf(IReadOnlyList<string> frames) => frames.FirstOrDefault(f => !f.StartsWith('!'));

    /// <summary>The area of a running sample; <paramref name="frames"/> leaf first.</summary>
    public static string Of(IReadOnlyList<string> frames)
    {
        if (Leaf(frames) is { } leaf && Spins.Any(s => leaf.Contains(s, StringComparison.Ordinal))) return Idle;
        foreach (var frame in frames)
            foreach (var (area, names) in Specific)
                if (names.Any(n => frame.Contains(n, StringComparison.Ordinal))) return area;
        return frames.Any(f => !f.StartsWith('!')) ? Runtime : Unresolved;
    }

    /// <summary>Whose stack it is: the in-process benchmark client, a projection, or (null) the service's request path.</summary>
    public static string? Side(IReadOnlyList<string> frames) =>
        frames.Any(f => f.Contains("System.Net.Http", StringComparison.Ordinal) || f.Contains("HealthEvents.Benchmarks", StringComparison.Ordinal)) ? "client"
        : frames.Any(f => f.Contains("HealthEvents.Projections", StringComparison.Ordinal)) ? "projections"
        : null;
}
