using Microsoft.Playwright;

namespace HealthEvents.Api.Tests;

/// <summary>
/// Debian's chromium driven by Playwright's .NET API: the system browser, never a downloaded one (the machines that run
/// ./test.sh cannot download browsers). Tests skip, saying why, only when no chromium is installed.
/// </summary>
public static class Browser
{
    private static readonly string[] Candidates = ["/usr/bin/chromium", "/usr/lib/chromium/chromium", "/usr/bin/chromium-browser"];

    /// <summary>HEALTHEVENTS_CHROMIUM, else the first installed system chromium; null when there is none.</summary>
    public static string? Executable =>
        Environment.GetEnvironmentVariable("HEALTHEVENTS_CHROMIUM") is { Length: > 0 } path && File.Exists(path)
            ? path
            : Candidates.FirstOrDefault(File.Exists);

    public const string SkipReason = "No chromium found (apt-get install chromium, or set HEALTHEVENTS_CHROMIUM): the browser tests need one.";

    public static async Task<(IPlaywright Playwright, IBrowser Browser)> LaunchAsync()
    {
        // An expectation waits until its condition holds; on a busy machine that may take longer than Playwright's 5 s.
        Assertions.SetDefaultExpectTimeout(HealthEvents.TestSupport.Patience.Seconds * 1000);
        var playwright = await Playwright.CreateAsync();
        // --no-sandbox: tests run as root in containers, where chromium's sandbox cannot start.
        var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = Executable, Headless = true, Args = ["--no-sandbox"] });
        return (playwright, browser);
    }
}
