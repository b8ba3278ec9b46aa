using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text.RegularExpressions;
using HealthEvents.Application.Telemetry;
using Microsoft.AspNetCore.Diagnostics;
using static HealthEvents.Application.Telemetry.HealthEventsTelemetry;

namespace HealthEvents.Api.Errors;

/// <summary>
/// Counts every problem-details answer (RFC 9457) the node gives, whoever writes it — the exception handler, an
/// endpoint's <c>TypedResults.Problem</c>, the idempotency and fair-use middleware, the status-code pages, the FHIR
/// routes' OperationOutcome writer: <c>healthevents.problems</c> ({problem}, meter
/// <see cref="HealthEventsTelemetry.CommandMeterName"/>) by <c>error.type</c> (the problem's <c>code</c>),
/// <c>http.response.status_code</c> and <c>http.route</c> (the template). A code is our own constant; anything that
/// does not look like one is counted as <c>other</c>, so the series stay bounded and carry no caller text.
/// </summary>
public sealed partial class ProblemTelemetry
{
    private const string ProblemTypeBase = "https://healthevents.example/problems/";
    private readonly Counter<long> _problems;

    public ProblemTelemetry(IMeterFactory meters, ServiceInstance instance) =>
        _problems = CreateMeter(meters, CommandMeterName, instance).CreateCounter<long>("healthevents.problems", "{problem}",
            "Problem-details answers, by problem code (error.type), status and route");

    public void Count(ProblemDetailsContext context)
    {
        var http = context.HttpContext;
        var status = context.ProblemDetails.Status ?? http.Response.StatusCode;
        var route = ((http.Features.Get<IExceptionHandlerFeature>()?.Endpoint ?? http.GetEndpoint()) as RouteEndpoint)?.RoutePattern.RawText;
        TagList tags = new() { { Tags.ErrorType, CodeOf(context.ProblemDetails, status) }, { "http.response.status_code", status } };
        if (route is not null) tags.Add("http.route", route);
        _problems.Add(1, tags);
    }

    /// <summary>The problem's code: its <c>code</c> extension, else the last segment of our problem type, else <c>http-&lt;status&gt;</c>.</summary>
    public static string CodeOf(Microsoft.AspNetCore.Mvc.ProblemDetails problem, int status)
    {
        var code = problem.Extensions.TryGetValue("code", out var c) && c is string s ? s
            : problem.Type is { } type && type.StartsWith(ProblemTypeBase, StringComparison.Ordinal) ? type[ProblemTypeBase.Length..]
            : $"http-{status}";
        return Code().IsMatch(code) ? code : "other";
    }

    [GeneratedRegex("^[a-z0-9]+(-[a-z0-9]+)*$")]
    private static partial Regex Code();

    /// <summary>Puts the counting in front of the registered <see cref="IProblemDetailsService"/> (after <c>AddProblemDetails</c>).</summary>
    public static void Decorate(IServiceCollection services)
    {
        services.AddSingleton<ProblemTelemetry>();
        var registered = services.Last(d => d.ServiceType == typeof(IProblemDetailsService));
        services.Remove(registered);
        services.AddSingleton<IProblemDetailsService>(sp => new Counted(
            registered.ImplementationInstance as IProblemDetailsService
            ?? registered.ImplementationFactory?.Invoke(sp) as IProblemDetailsService
            ?? (IProblemDetailsService)ActivatorUtilities.CreateInstance(sp, registered.ImplementationType!),
            sp.GetRequiredService<ProblemTelemetry>()));
    }

    private sealed class Counted(IProblemDetailsService inner, ProblemTelemetry telemetry) : IProblemDetailsService
    {
        public ValueTask WriteAsync(ProblemDetailsContext context)
        {
            telemetry.Count(context);
            return inner.WriteAsync(context);
        }

        public ValueTask<bool> TryWriteAsync(ProblemDetailsContext context)
        {
            telemetry.Count(context);
            return inner.TryWriteAsync(context);
        }
    }
}
