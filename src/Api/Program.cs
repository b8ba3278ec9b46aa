using HealthEvents.Api;
using HealthEvents.Api.Hosting;

if (args.Length > 0 && Cli.IsVerb(args[0]))
    return await Cli.RunAsync(args);

await using var app = await HealthEventsApp.BuildAsync(args);
await app.RunAsync();
return 0;

/// <summary>Visible to the tests' host.</summary>
public partial class Program;
