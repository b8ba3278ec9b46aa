using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Firely.Fhir.Validation;
using Hl7.Fhir.Model;
using Hl7.Fhir.Specification.Source;
using Hl7.Fhir.Specification.Terminology;
using Hl7.Fhir.Serialization;
using Hl7.Fhir.Utility;
using Task = System.Threading.Tasks.Task;

namespace HealthEvents.Api.Fhir;

/// <summary>
/// Validates bundles against the base FHIR R4 (4.0.1) profiles with Firely's validator, offline: structure definitions,
/// value sets and code systems come from the specification.zip the Hl7.Fhir.Specification.Data.R4 package ships, and
/// references are not fetched. A profile (meta.profile) or extension that the base specification does not hold cannot be
/// resolved here, so it is a warning, never an error: the bundle is judged by what can be checked.
/// <para>Firely's validators are not thread-safe and compile their schemas on first use (tens of seconds of CPU for a
/// Synthea bundle's types); a small pool of them lives for the process, so every host in it shares the warm ones, and
/// the service warms them in the background as it starts (<see cref="WarmAsync"/>).</para>
/// </summary>
public sealed partial class FhirValidation
{
    /// <summary>The one pool of the process (the base specification is the same for everyone).</summary>
    public static readonly FhirValidation Shared = new(Math.Clamp(Environment.ProcessorCount, 1, 4));

    private readonly ConcurrentBag<Validator> _idle = [];
    private readonly SemaphoreSlim _slots;
    private readonly Lock _creating = new();

    private FhirValidation(int size) => _slots = new SemaphoreSlim(size, size);

    /// <summary>The validation issues of <paramref name="bundle"/>, errors first; the bundle is valid when none is an error.</summary>
    public async Task<IReadOnlyList<FhirIssue>> ValidateAsync(Bundle bundle, CancellationToken ct)
    {
        // While the warm-up runs, waiting for its validator is quicker than compiling a cold one beside it.
        if (_warming is { IsCompleted: false } warming)
            await warming.ContinueWith(_ => { }, ct, TaskContinuationOptions.None, TaskScheduler.Default);
        await _slots.WaitAsync(ct);
        try
        {
            var validator = _idle.TryTake(out var idle) ? idle : Create();
            try
            {
                return [.. validator.Validate(bundle).Issue.Select(Describe).OrderBy(i => i.IsError ? 0 : 1)];
            }
            finally
            {
                _idle.Add(validator);
            }
        }
        finally
        {
            _slots.Release();
        }
    }

    private Task? _warming;
    private int _created;

    /// <summary>
    /// A small transaction bundle of our own (Fhir/WarmUpBundle.json) with the resource types, datatypes, bindings and
    /// extensions a Synthea or EHR export carries: validating it compiles what a first real bundle would (measured: a
    /// cold first validation of a sample takes about 60 s on a loaded 2-core machine, after this warm-up about 3 s).
    /// </summary>
    public const string WarmUpResource = "HealthEvents.Api.Fhir.WarmUpBundle.json";

    /// <summary>
    /// Compiles one pooled validator's schemas by validating <see cref="WarmUpResource"/> ahead of the first import (one: imports one
    /// at a time, the command line's default, never wait; a second concurrent import warms a second validator as it goes,
    /// and warming them all would cost every start the CPU of each). Runs once per process; the service starts it in the
    /// background at start-up (<see cref="FhirValidatorWarmUp"/>).
    /// </summary>
    public Task WarmAsync()
    {
        // On a thread of its own (validating is CPU-bound and synchronous), and for the process, not for one host: a host
        // stopping stops waiting for it (see FhirValidatorWarmUp), the warm-up itself runs to its end.
        lock (_creating) return _warming ??= Task.Run(() => WarmOneAsync(CancellationToken.None));
    }

    private async Task WarmOneAsync(CancellationToken ct)
    {
        Bundle bundle;
        using (var stream = typeof(FhirValidation).Assembly.GetManifestResourceStream(WarmUpResource)
                            ?? throw new InvalidOperationException($"{WarmUpResource} is not in the assembly."))
        using (var reader = new StreamReader(stream))
            bundle = new FhirJsonDeserializer().Deserialize<Bundle>(await reader.ReadToEndAsync(ct));
        await _slots.WaitAsync(ct);
        try
        {
            // An import meanwhile made (and so warmed) one: nothing to do.
            if (Volatile.Read(ref _created) > 0) return;
            var validator = Create();
            validator.Validate(bundle);
            _idle.Add(validator);
        }
        finally
        {
            _slots.Release();
        }
    }

    private Validator Create()
    {
        // One at a time: the first use unpacks specification.zip to a cache folder, which two at once would race for.
        lock (_creating)
        {
            var zip = Path.Combine(AppContext.BaseDirectory, "specification.zip");
            if (!File.Exists(zip))
                throw new InvalidOperationException("specification.zip (package Hl7.Fhir.Specification.Data.R4) is not beside the binaries.");
            var source = new CachedResolver(ZipSource.CreateValidationSource(zip));
            var validator = new Validator(source, new LocalTerminologyService(source));
            Interlocked.Increment(ref _created);
            validator.Validate(new Bundle { Type = Bundle.BundleType.Collection }); // compiles the Bundle schema here, under the lock
            return validator;
        }
    }

    /// <summary>Firely's issue numbers for a profile that cannot be resolved (Hl7.Fhir.Support.Issue): offline, not wrong.</summary>
    private static readonly HashSet<int> Unresolvable =
    [
        Hl7.Fhir.Support.Issue.UNAVAILABLE_REFERENCED_PROFILE.Code,
        Hl7.Fhir.Support.Issue.UNAVAILABLE_REFERENCED_PROFILE_WARNING.Code,
    ];

    private static FhirIssue Describe(OperationOutcome.IssueComponent issue)
    {
        var number = issue.Details?.Coding.FirstOrDefault()?.Code;
        var severity = issue.Severity switch
        {
            OperationOutcome.IssueSeverity.Fatal => "fatal",
            OperationOutcome.IssueSeverity.Error => "error",
            OperationOutcome.IssueSeverity.Warning => "warning",
            _ => "information",
        };
        if (severity is "error" or "fatal" && int.TryParse(number, out var n) && Unresolvable.Contains(n)) severity = "warning";
        var message = issue.Details?.Text ?? issue.Diagnostics ?? "The bundle does not conform to the base FHIR R4 profiles.";
        return new FhirIssue(severity, issue.Code is { } code && code.GetLiteral() is { } literal ? literal : "invalid", Mask(message), [.. issue.Expression.OfType<string>()], number);
    }

    /// <summary>
    /// Firely quotes the instance's values in single quotes ("Code 'x' from system 'y'…"): each quoted value is masked,
    /// so an answer (or a log of it) never carries the bundle's data. Invariant texts (in double quotes) are the spec's.
    /// </summary>
    public static string Mask(string message) => QuotedValue().Replace(message, "'…'");

    [GeneratedRegex("'[^']*'")]
    private static partial Regex QuotedValue();
}

/// <summary>Warms the validators in the background as the service starts, so the first import is not the one that waits.</summary>
public sealed class FhirValidatorWarmUp(ILogger<FhirValidatorWarmUp> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield(); // never hold up start-up
        var clock = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            await FhirValidation.Shared.WarmAsync().WaitAsync(stoppingToken);
            log.LogInformation("FHIR validators warmed in {Seconds:F1} s", clock.Elapsed.TotalSeconds);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { }
        catch (Exception e)
        {
            // Never fatal (an escaping exception would stop the host): the first import compiles what it needs itself.
            log.LogWarning("FHIR validators not warmed: {Error}", e.GetType().Name);
        }
    }
}
