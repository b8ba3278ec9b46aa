using HealthEvents.Api;

return await Cli.RunAsync(args);

/// <summary>Visible to the tests' host.</summary>
public partial class Program;
