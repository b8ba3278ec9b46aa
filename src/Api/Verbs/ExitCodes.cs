namespace HealthEvents.Api.Verbs;

/// <summary>
/// What the executable's exit status means, the same for every verb (each verb's --help lists those it uses).
/// 130 is the shell's convention for a run ended by Ctrl+C (128 + SIGINT).
/// </summary>
public static class ExitCodes
{
    /// <summary>Done (for a serving verb: stopped cleanly).</summary>
    public const int Ok = 0;

    /// <summary>The work ran and found a problem: `verify` found a broken link, signature, policy or ledger head.</summary>
    public const int Problems = 1;

    /// <summary>The command line is wrong: unknown verb or option, a missing or invalid value. Nothing was done.</summary>
    public const int Usage = 2;

    /// <summary>The work could not be done: something it needs is missing (no key yet) or failed (the database would not start).</summary>
    public const int Failed = 3;

    /// <summary>Interrupted (Ctrl+C, SIGTERM) before the work finished.</summary>
    public const int Interrupted = 130;

    public static readonly (int Code, string Meaning) OkLine = (Ok, "done");
    public static readonly (int Code, string Meaning) UsageLine = (Usage, "wrong command line (unknown verb or option, missing or invalid value); nothing was done");
    public static readonly (int Code, string Meaning) FailedLine = (Failed, "could not do it: something it needs is missing or failed (the message says what)");
    public static readonly (int Code, string Meaning) InterruptedLine = (Interrupted, "interrupted (Ctrl+C) before it finished");
}
