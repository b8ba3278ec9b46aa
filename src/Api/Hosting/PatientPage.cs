namespace HealthEvents.Api.Hosting;

/// <summary>
/// The patient's page (wwwroot): served by the API itself so a patient needs nothing but a browser, under a strict
/// Content-Security-Policy — only this origin's scripts, styles and API, no inline code — so a compromised response
/// body cannot load or run anything foreign next to the patient's token.
/// </summary>
public static class PatientPage
{
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    public static WebApplication UsePatientPage(this WebApplication app)
    {
        app.Use(async (http, next) =>
        {
            // /docs (Scalar) brings its own inline scripts; every other response, the page's included, gets the strict policy.
            if (!http.Request.Path.StartsWithSegments("/docs"))
            {
                var headers = http.Response.Headers;
                headers.ContentSecurityPolicy = ContentSecurityPolicy;
                headers.XContentTypeOptions = "nosniff";
                headers["Referrer-Policy"] = "no-referrer";
            }
            await next(http);
        });
        app.UseDefaultFiles();
        app.UseStaticFiles(new StaticFileOptions
        {
            // The page is small and changes with the service: always revalidate, so a new verifier is never shadowed by a cached one.
            OnPrepareResponse = ctx => ctx.Context.Response.Headers.CacheControl = "no-cache",
        });
        return app;
    }
}
