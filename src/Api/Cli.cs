namespace HealthEvents.Api;

/// <summary>The verbs of the service's executable (./run.sh VERB ...): one-off tasks instead of serving.</summary>
public static class Cli
{
    private static readonly string[] Verbs = ["token", "verify", "rebuild", "endorser"];

    public static bool IsVerb(string arg) => Verbs.Contains(arg);

    public static Task<int> RunAsync(string[] args)
    {
        Console.Error.WriteLine($"'{args[0]}' is not available yet in this build.");
        return Task.FromResult(2);
    }
}
