using System.Net;
using System.Security.Cryptography;
using HealthEvents.Application.Ledger;
using HealthEvents.Application.Patients;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Ledger;
using HealthEvents.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace HealthEvents.Api.Tests;

/// <summary>
/// A false alarm on a quiet network: an operator rebuilds the ledger view while the service serves, and nothing is signed
/// meanwhile (no new leaves, so no new head). A node asked about a stream during the rebuild cannot prove the last head (it
/// is hours old and the view is empty) and answers 503 ledger-view-behind, as the README says — but it keeps that reading
/// until the ledger stream has a newer head, and none comes: the view catches up, and the node still refuses every stream
/// it has not folded and every registration (today: 503 until some other node appends). The README promises the refusal
/// lasts "until the view has caught up".
/// </summary>
public sealed class LedgerViewRebuiltOnAQuietNetworkTests
{
    /// <summary>The service's clock, <paramref name="behind"/> the real one: every head it signs is that old when it is read.</summary>
    private sealed class ClockBehind(TimeSpan behind) : HealthEvents.Application.Ports.IClock
    {
        public DateTimeOffset UtcNow => DateTimeOffset.UtcNow - behind;
    }

    private static readonly TimeSpan Behind = TimeSpan.FromHours(3);

    /// <summary>Long enough for a token issued on the service's clock to be valid on the real one too.</summary>
    private static readonly TimeSpan Lifetime = Behind + TimeSpan.FromHours(1);

    /// <summary>A physician of <paramref name="hospital"/>, with a token issued at the service's time (a credential is judged at the command's).</summary>
    private static HttpClient Staff(ServiceHost node, string hospital) =>
        node.Client(node.Mint(hospital, $"{hospital}-physician", Role.Physician, null, Lifetime, DateTimeOffset.UtcNow - Behind));

    [SkippableFact]
    public async Task Honest_streams_are_decided_on_again_once_a_rebuilt_ledger_view_has_caught_up_on_a_quiet_network()
    {
        // Heads stamped three hours back: a network whose latest head is hours old, without waiting hours.
        Action<Microsoft.AspNetCore.Builder.WebApplicationBuilder> hoursBehind =
            b => b.Services.AddSingleton<HealthEvents.Application.Ports.IClock>(new ClockBehind(Behind));
        await using var quiet = await ServiceHost.StartAsync(await ServiceHost.NewNodeAsync(), hoursBehind);
        using var registered = await Staff(quiet, "northside").PostJsonAsync("/patients", new { homeHospital = "northside", birthYear = 1975, sex = "female", name = "Quinn Quiet" });
        Assert.Equal(HttpStatusCode.Created, registered.StatusCode);
        var patient = (await registered.JsonAsync()).GetProperty("patientId").GetGuid();
        var patientClient = quiet.Client(quiet.Mint("northside", "quinn", Role.Patient, patient, Lifetime, DateTimeOffset.UtcNow - Behind));
        await HiddenStreamStartSpec.GrantAsync(patientClient, patient, "lakeside");
        var ledger = quiet.Services.GetRequiredService<ILedgeredHistory>();
        var events = quiet.Services.GetRequiredService<IEventStore>();
        long signed = 0;
        await Patience.UntilAsync(async () => (await ledger.LatestLeafAsync(PatientStream.StreamId(patient)))?.Version == 1
                && await events.ReadLastAsync(LedgerStream.StreamId) is { } head
                && EventSerializer.Default.Deserialize(head.Type, head.Data) is TreeHeadSigned last
                && (signed = last.TreeSize) == await ledger.SizeAsync(),
            () => "the ledger never signed every leaf it holds");

        await using var cold = await quiet.ColdCopyAsync(hoursBehind);
        var readModels = quiet.Services.GetRequiredService<HealthEvents.Projections.ReadModelStore>();
        using (var deadline = new CancellationTokenSource(Patience.Deadline))
        await using (await HealthEvents.Projections.Runner.ProjectionLock.AcquireAsync(readModels.LockConnectionString,
            HealthEvents.Projections.Ledger.LedgerProjection.ProjectionName, deadline.Token))
        {
            // As `rebuild ledger` resets the view, then replays the log once the lock is handed back.
            foreach (var table in new[] { "ledgerleaf", "ledgernode", "ledgerprogress", "ledgertreehead" })
                await quiet.ExecuteSqlAsync($"DELETE FROM readmodels.mt_doc_{table}");
            await quiet.ExecuteSqlAsync($"DELETE FROM readmodels.mt_doc_projectioncheckpoint WHERE id = '{HealthEvents.Projections.Ledger.LedgerProjection.ProjectionName}'");
            Assert.NotEqual(HttpStatusCode.OK, await AccessAsync(cold, patient)); // nothing proves her stream now: a refusal is right
        }
        await Patience.UntilAsync(async () => await ledger.SizeAsync() == signed, () => "the rebuilt ledger view never caught up");

        var answered = HttpStatusCode.OK;
        await Patience.UntilAsync(async () => (answered = await AccessAsync(cold, patient)) == HttpStatusCode.OK,
            () => $"her consented records are still refused ({(int)answered}) with the ledger view caught up to the signed head of {signed} leaves");
    }

    /// <summary>Lakeside's physician asks <paramref name="node"/> for her conditions (she consented): the status.</summary>
    private static async Task<HttpStatusCode> AccessAsync(ServiceHost node, Guid patient)
    {
        using var access = await Staff(node, "lakeside").PostJsonAsync($"/patients/{patient}/access",
            new { purpose = "treatment", categories = new[] { "conditions" } });
        return access.StatusCode;
    }
}
