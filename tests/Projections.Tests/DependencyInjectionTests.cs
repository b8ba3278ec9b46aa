using HealthEvents.Application.Ports;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Patients;
using HealthEvents.Projections.Runner;
using HealthEvents.Projections.Views.Audit;
using HealthEvents.Projections.Views.Consents;
using HealthEvents.Projections.Views.Insurance;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace HealthEvents.Projections.Tests;

public sealed class DependencyInjectionTests
{
    [Fact]
    public async Task The_extension_registers_a_hosted_runner_the_views_and_their_queries()
    {
        await using var db = await ProjectionDatabase.CreateAsync();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<IEventStore>(db.Events);
        services.AddSingleton(ProjectionDatabase.FastOptions());
        services.AddHealthEventsProjections(db.ConnectionString);
        await using var provider = services.BuildServiceProvider();

        var runner = provider.GetRequiredService<ProjectionRunner>();
        // The runner, and the sampler that measures each view's lag for the metrics.
        var hosted = provider.GetServices<IHostedService>().ToList();
        Assert.Equal(2, hosted.Count);
        Assert.Same(runner, hosted[0]);
        Assert.Same(provider.GetRequiredService<ProjectionLagSampler>(), hosted[1]);
        Assert.Equal(
            [AuditProjection.ProjectionName, ConsentProjection.ProjectionName, InsuranceProjection.ProjectionName, Ledger.LedgerProjection.ProjectionName],
            runner.ProjectionNames);
        Assert.NotNull(provider.GetRequiredService<ProjectionRebuilder>());

        await runner.StartAsync(CancellationToken.None);
        try
        {
            var p = db.Patient();
            await p.AppendAsync(PatientWriter.DrA, new PatientRegistered(p.Id, "h1", 1980, Sex.Female, "enc"));
            var last = await p.AppendAsync(PatientWriter.Admin, new InsuranceLinked("acme", "hash", PatientHistory.T0, PatientHistory.T0.AddYears(1)));
            await runner.WaitForOrFailAsync(last.Events[0].Position!.Value);

            Assert.Equal(2, (await provider.GetRequiredService<AuditQuery>().QueryAsync(p.Id)).Items.Count);
            Assert.True((await provider.GetRequiredService<InsuranceQuery>().ValidityAtAsync(p.Id, PatientHistory.T0.AddDays(1))).Valid);
            Assert.Empty((await provider.GetRequiredService<ConsentQuery>().ListAsync(p.Id, PatientHistory.T0)).Active);
            var status = await runner.GetStatusAsync();
            Assert.All(status, s => Assert.True(s.RunningHere && s.Checkpoint >= last.Events[0].Position));
        }
        finally
        {
            await runner.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public void Without_background_running_no_hosted_service_is_registered()
    {
        var services = new ServiceCollection();
        services.AddHealthEventsProjections("Host=127.0.0.1;Database=none", runInBackground: false);
        Assert.DoesNotContain(services, d => d.ServiceType == typeof(IHostedService));
        Assert.Contains(services, d => d.ServiceType == typeof(ProjectionRunner));
    }
}
