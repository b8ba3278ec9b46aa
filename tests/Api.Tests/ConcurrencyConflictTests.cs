using System.Net;
using HealthEvents.Application.Commands;
using HealthEvents.Application.Ports;
using HealthEvents.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace HealthEvents.Api.Tests;

/// <summary>
/// A command whose patient record keeps changing under it — another clinician's entry landing between every decision and
/// its append, more often than the command path decides again (<see cref="CommandExecutor.MaxAttempts"/>) — gives up
/// with 409 concurrency-conflict, says when to try again (Retry-After), and records nothing of its own. The other
/// entries are real commands over HTTP to a second node on the same store; the store is the real one, with a hook that
/// sends one right before each of the contested command's appends.
/// </summary>
public sealed class ConcurrencyConflictTests
{
    [Fact]
    public async Task A_command_that_keeps_losing_the_race_answers_409_with_Retry_After_and_records_nothing()
    {
        InterferingStore? contested = null;
        await using var host = await ServiceHost.StartAsync(await ServiceHost.NewNodeAsync(), builder =>
            builder.Host.UseServiceProviderFactory(new DecoratingFactory(inner => contested = new InterferingStore(inner))));
        // The rival writes through a second node on the same store: one node's commands on a stream take turns (StreamGates).
        await using var other = await ServiceHost.StartAsync(new ServiceHost.Node(host.ConnectionString, host.DataFolder));
        var (patient, self) = await host.NewPatientAsync("Carla Contested");
        var physician = other.As("northside physician");
        var rival = 0;
        // The patient's consent is the contested command; the rival is a physician's entry on the same record.
        contested!.When = (_, events) => events[0].Type == "consent.granted.v1";
        contested.Times = int.MaxValue;
        contested.Interference = async () =>
        {
            using var entry = await physician.PostJsonAsync($"/patients/{patient}/entries",
                new { category = "conditions", code = new { system = "http://hl7.org/fhir/sid/icd-10", code = "I10" }, text = $"Follow-up {++rival}." });
            Assert.Equal(HttpStatusCode.Created, entry.StatusCode);
        };

        using var response = await self.PostJsonAsync($"/patients/{patient}/consents",
            new { grantee = new { kind = "hospital", id = "riverside" }, categories = new[] { "conditions" }, purposes = new[] { "treatment" }, actions = new[] { "read" } });

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Equal("concurrency-conflict", (await response.JsonAsync()).GetProperty("code").GetString());
        Assert.True(response.Headers.RetryAfter?.Delta is { TotalSeconds: >= 1 }, $"Retry-After: {response.Headers.RetryAfter}");
        Assert.Equal(CommandExecutor.MaxAttempts, rival);
        var types = await host.Services.GetRequiredService<IEventStore>().ReadStreamAsync($"patient-{patient}").Select(e => e.Type).ToListAsync();
        Assert.DoesNotContain("consent.granted.v1", types);
        Assert.Equal(1 + rival, types.Count); // the registration and the rival entries, nothing else
    }

    /// <summary>Wraps the service's registered <see cref="IEventStore"/> once the host's services are complete (they are added after the test's set-up).</summary>
    private sealed class DecoratingFactory(Func<IEventStore, IEventStore> decorate) : IServiceProviderFactory<IServiceCollection>
    {
        public IServiceCollection CreateBuilder(IServiceCollection services)
        {
            var registered = services.Last(d => d.ServiceType == typeof(IEventStore));
            services.Remove(registered);
            services.AddSingleton(sp => decorate(registered.ImplementationFactory is { } factory
                ? (IEventStore)factory(sp)
                : (IEventStore)(registered.ImplementationInstance ?? ActivatorUtilities.CreateInstance(sp, registered.ImplementationType!))));
            return services;
        }

        public IServiceProvider CreateServiceProvider(IServiceCollection containerBuilder) => containerBuilder.BuildServiceProvider();
    }
}
