using System.Collections.Concurrent;
using System.Diagnostics;
using HealthEvents.Application.Telemetry;

namespace HealthEvents.Benchmarks;

/// <summary>
/// Where a command's time goes, from the service's own OpenTelemetry spans (<see cref="HealthEventsTelemetry.Source"/>:
/// command, decide, endorse per hospital, append; ASP.NET Core's request span; Npgsql's command spans), caught by an
/// in-process <see cref="ActivityListener"/> while it is open. Spans are grouped by trace, one trace per HTTP request,
/// so each phase is summed per command before its percentiles are taken; spans outside a request (the projections)
/// are left out. Endorsers run in-process here, so their re-execution shows as "decide" under "endorse".
/// </summary>
public sealed partial class SpanProfile : IDisposable
{
    private const string AspNetCoreSource = "Microsoft.AspNetCore";
    private const string NpgsqlSource = "Npgsql";

    private readonly ActivityListener _listener;
    private readonly ConcurrentDictionary<ActivityTraceId, ConcurrentDictionary<string, double>> _byTrace = new();
    private readonly ConcurrentDictionary<ActivityTraceId, byte> _requests = new();
    private readonly ConcurrentDictionary<ActivityTraceId, ConcurrentBag<(DateTime Start, DateTime End)>> _endorsers = new();
    private readonly TimeSpan _pausesBefore = GC.GetTotalPauseDuration();
    private readonly int[] _collectionsBefore = [GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)];

    private readonly bool _statements;

    /// <param name="statements">Also one row per SQL statement (its text's start), summed per command: which query grows.</param>
    public SpanProfile(bool statements = false)
    {
        _statements = statements;
        _listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name is HealthEventsTelemetry.SourceName or AspNetCoreSource or NpgsqlSource,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = Stopped,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    /// <summary>One phase: its share of commands (how many had it), milliseconds per command at p50/p99, and its mean.</summary>
    public sealed record Phase(string Name, int Commands, double P50Ms, double P99Ms, double MeanMs);

    /// <summary>What was caught: per-phase rows (in path order), requests seen, GC collections and pause time meanwhile.</summary>
    public sealed record Result(IReadOnlyList<Phase> Phases, int Requests, int[] Collections, double GcPauseMs);

    private void Stopped(Activity a)
    {
        var name = PhaseOf(a);
        if (name is null) return;
        if (name == Request) _requests.TryAdd(a.TraceId, 0);
        if (a.OperationName == "endorse" && a.Source.Name == HealthEventsTelemetry.SourceName)
            _endorsers.GetOrAdd(a.TraceId, _ => []).Add((a.StartTimeUtc, a.StartTimeUtc + a.Duration));
        var phases = _byTrace.GetOrAdd(a.TraceId, _ => new());
        phases.AddOrUpdate(name, a.Duration.TotalMilliseconds, (_, sum) => sum + a.Duration.TotalMilliseconds);
        if (name == Sql)
        {
            phases.AddOrUpdate(SqlCount, 1, (_, n) => n + 1);
            phases.AddOrUpdate(SqlPlace(a), a.Duration.TotalMilliseconds, (_, sum) => sum + a.Duration.TotalMilliseconds);
            if (_statements) phases.AddOrUpdate(Statement(a), a.Duration.TotalMilliseconds, (_, sum) => sum + a.Duration.TotalMilliseconds);
        }
    }

    /// <summary>
    /// Where a database call was made: the innermost command-path span around it, or, outside the command handler (the
    /// request's own work: authentication, the Idempotency-Key claim, keys), the table it names.
    /// </summary>
    private static string SqlPlace(Activity sql)
    {
        for (var p = sql.Parent; p is not null; p = p.Parent)
            if (p.Source.Name == HealthEventsTelemetry.SourceName)
                return $"    SQL in {(p.OperationName.StartsWith("command ", StringComparison.Ordinal) ? "the command, outside its phases" : p.OperationName)} (sum)";
        var text = sql.GetTagItem("db.query.text") as string ?? sql.GetTagItem("db.statement") as string ?? "";
        var table = TableName().Match(text);
        return $"    SQL outside the command: {(table.Success ? table.Groups[1].Value : text.Split(' ', 2)[0])} (sum)";
    }

    /// <summary>A statement's row: its text's first characters, whitespace collapsed (parameters are $n, so one row per query).</summary>
    private static string Statement(Activity sql)
    {
        var text = sql.GetTagItem("db.query.text") as string ?? sql.GetTagItem("db.statement") as string ?? "?";
        var flat = string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        return StatementPrefix + (flat.Length > 72 ? flat[..72] : flat);
    }

    private const string StatementPrefix = "      sql: ";

    [System.Text.RegularExpressions.GeneratedRegex(@"(?:FROM|INTO|UPDATE)\s+""?([\w.]+)", System.Text.RegularExpressions.RegexOptions.IgnoreCase)]
    private static partial System.Text.RegularExpressions.Regex TableName();

    private const string Request = "HTTP request (server span)";
    private const string Command = "command (gate, decide, endorse, append)";
    private const int Quorum = 2;
    private const string UntilQuorum = "  endorse: until 2 of 3 signed (what the command waits for)";
    private const string Outside = "request outside the command (auth, idempotency, sealing)";
    private const string Sql = "SQL commands (sum, all phases)";
    private const string SqlCount = "SQL commands (count)";

    /// <summary>The phase a span belongs to; null for those not profiled.</summary>
    private static string? PhaseOf(Activity a)
    {
        if (a.Source.Name == AspNetCoreSource) return Request;
        if (a.Source.Name == NpgsqlSource) return Sql;
        var underEndorse = false;
        for (var p = a.Parent; p is not null; p = p.Parent)
            if (p.Source.Name == HealthEventsTelemetry.SourceName && p.OperationName == "endorse") underEndorse = true;
        return a.OperationName switch
        {
            var c when c.StartsWith("command ", StringComparison.Ordinal) => Command,
            "decide" => underEndorse ? "  decide again, in an endorser (sum)" : "  decide (submitter: load stream, decide, seal)",
            "endorse" => $"  endorse: {a.GetTagItem(HealthEventsTelemetry.Tags.Hospital)}",
            "append" => "  append (group commit, durable)",
            _ => a.OperationName,
        };
    }

    /// <summary>Stops listening; the phases of every request trace seen, plus the client's own latencies as the first row.</summary>
    public Result Finish(IReadOnlyList<double> clientMs)
    {
        _listener.Dispose();
        var traces = _requests.Keys.Select(id => _byTrace[id]).ToList();
        foreach (var id in _requests.Keys)
        {
            var t = _byTrace[id];
            if (t.TryGetValue(Request, out var request) && t.TryGetValue(Command, out var command))
                t[Outside] = request - command;
            // The round asks every endorser at once and goes on once the policy (2 of 3) is met: what the command waits
            // for is the second answer, not the sum nor the slowest (which may still run while the append does).
            if (_endorsers.TryGetValue(id, out var calls) && calls.Count >= Quorum)
                t[UntilQuorum] = (calls.Select(c => c.End).Order().ElementAt(Quorum - 1) - calls.Min(c => c.Start)).TotalMilliseconds;
        }
        var names = traces.SelectMany(t => t.Keys).Distinct().OrderBy(Order).ThenBy(n => n, StringComparer.Ordinal).ToList();
        var phases = new List<Phase> { Summarise("client round trip (HTTP, as measured)", clientMs, clientMs.Count) };
        foreach (var name in names)
        {
            var values = traces.Where(t => t.ContainsKey(name)).Select(t => t[name]).ToList();
            phases.Add(Summarise(name, values, values.Count));
        }
        int[] collections = [GC.CollectionCount(0) - _collectionsBefore[0], GC.CollectionCount(1) - _collectionsBefore[1], GC.CollectionCount(2) - _collectionsBefore[2]];
        return new(phases, traces.Count, collections, (GC.GetTotalPauseDuration() - _pausesBefore).TotalMilliseconds);
    }

    private static int Order(string name) => name switch
    {
        Request => 0,
        Outside => 1,
        Command => 1,
        _ when name.Contains("decide (submitter") => 2,
        UntilQuorum => 3,
        _ when name.Contains("endorse:") => 4,
        _ when name.Contains("decide again") => 5,
        _ when name.Contains("append") => 6,
        Sql => 7,
        SqlCount => 9,
        _ when name.StartsWith("    SQL", StringComparison.Ordinal) => 8,
        _ when name.StartsWith(StatementPrefix, StringComparison.Ordinal) => 10,
        _ => 6,
    };

    private static Phase Summarise(string name, IReadOnlyList<double> values, int commands)
    {
        return new(name, commands, Percentiles.Of(values, 0.50), Percentiles.Of(values, 0.99), values.Count == 0 ? double.NaN : values.Average());
    }

    public void Dispose() => _listener.Dispose();

    /// <summary>Prints the breakdown: one line per phase, p50/p99/mean in ms (counts for the SQL count row).</summary>
    public static void Print(Result r, TextWriter output)
    {
        output.WriteLine($"{"phase (per command; spans of one request summed)",-52} {"commands",8} {"p50",9} {"p99",9} {"mean",9}");
        foreach (var p in r.Phases)
        {
            var unit = p.Name == SqlCount ? "  " : "ms";
            output.WriteLine($"{p.Name,-52} {p.Commands,8} {p.P50Ms,7:0.00}{unit} {p.P99Ms,7:0.00}{unit} {p.MeanMs,7:0.00}{unit}");
        }
        output.WriteLine($"garbage collections meanwhile (gen0/gen1/gen2): {string.Join('/', r.Collections)}, pauses {r.GcPauseMs:0} ms in all");
    }
}
