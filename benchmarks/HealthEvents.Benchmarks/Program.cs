using HealthEvents.Benchmarks;

// Every mode is a subcommand (see BenchCli, or run with --help):
//   dotnet run -c Release --project benchmarks/HealthEvents.Benchmarks -- [all|http|commands|history|research|proofs|fhir|esdb|profile|cpu] [options]
return await BenchCli.RunAsync(args);
