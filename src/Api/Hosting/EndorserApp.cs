using HealthEvents.Application.Endorsement;
using HealthEvents.Application.Telemetry;
using HealthEvents.Infrastructure;
using HealthEvents.Infrastructure.Endorsement;
using HealthEvents.Infrastructure.Identity;
using Microsoft.AspNetCore.Http.HttpResults;

namespace HealthEvents.Api.Hosting;

/// <summary>
/// One hospital's endorser node (`./run.sh endorser --hospital H`): POST /endorse re-executes a
/// proposal against this node's own reading of the store and signs it with H's endorsement key.
/// </summary>
public static class EndorserApp
{
    public const string DefaultUrl = "http://127.0.0.1:5081";

    public static Task<WebApplication> BuildAsync(string[] args, string hospitalId, Action<WebApplicationBuilder>? configure = null) =>
        NodeHost.BuildAsync([.. args, "--HealthEvents:Verb=true"], DefaultUrl, "healthevents-endorser", configure, async (builder, _, _) =>
        {
            builder.Services.AddSingleton(sp =>
            {
                // A new node makes its own key; only its public half ever leaves it (GET /public-key, then the genesis).
                var keyring = sp.GetRequiredService<HospitalKeyring>();
                keyring.GetOrCreate(hospitalId, HospitalKeyUse.Endorsement).Dispose();
                return new KeyringKeys(keyring, hospitalId, HospitalKeyUse.Endorsement);
            });
            var app = builder.Build();
            await app.Services.InitializeHealthEventsStorageAsync();
            app.Services.GetRequiredService<KeyringKeys>(); // makes the key now, before anyone asks for its public half
            app.UseMetricsListener(); // first: a request on the metrics listener meets nothing of the endorser
            app.UseExceptionHandler();
            // A FHIR import's transaction carries up to ~128 KB of content (sealed, twice: command and envelopes); a batch many.
            app.MapPost("/endorse", Endorse).WithMetadata(new Microsoft.AspNetCore.Mvc.RequestSizeLimitAttribute(64 * 1024 * 1024));
            app.MapGet("/health/live", () => TypedResults.Ok(new { status = "live", hospital = hospitalId }));
            app.MapGet("/public-key", (HospitalKeyring keyring) =>
            {
                using var key = keyring.Get(hospitalId, HospitalKeyUse.Endorsement);
                return TypedResults.Ok(new EndorserPublicKey(hospitalId, PublicKeys.KeyId(key), PublicKeys.Export(key)));
            });
            return app;
        });

    /// <summary>
    /// POST /endorse: an <see cref="EndorsementBatch"/> (one proposal is a batch of one) in, an <see cref="EndorsementBatchReply"/>
    /// out — a verdict per transaction and one signature over the root of those accepted. A refusal is a 200 with reasons.
    /// </summary>
    /// <remarks>The outcome is counted (<c>healthevents.endorser.proposals</c>, per transaction) and set on the request's span.</remarks>
    public static async Task<Ok<EndorsementBatchReply>> Endorse(
        EndorsementBatch batch, Endorser endorser, KeyringKeys keys, CommandTelemetry telemetry, CancellationToken ct)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var reply = await endorser.EndorseAsync(batch, keys, ct);
        telemetry.Judged(keys.HospitalId, reply, System.Diagnostics.Stopwatch.GetElapsedTime(started));
        return TypedResults.Ok(reply);
    }
}
