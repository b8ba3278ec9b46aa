using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Npgsql;

namespace HealthEvents.Benchmarks;

/// <summary>
/// PostgreSQL's own load generator as the database's ceiling: durable single-row INSERTs of one stored event's exact
/// bytes (a fresh event id and stream each) into <c>he_raw</c>, a copy of the events table's layout, one transaction
/// each, prepared statements, <c>pgbench -n -M prepared -c N -T S -f script</c> (PostgreSQL 15 docs, pgbench).
/// </summary>
public static partial class Pgbench
{
    public const string Path = "/usr/bin/pgbench";

    public sealed record Result(double TransactionsPerSecond, double LatencyAverageMs);

    public static async Task<Result> RunAsync(string connectionString, RowShape shape, int clients, TimeSpan duration, CancellationToken ct)
    {
        var script = System.IO.Path.GetTempFileName();
        await File.WriteAllTextAsync(script, Script(shape), ct);
        try
        {
            var cs = new NpgsqlConnectionStringBuilder(connectionString);
            var start = new ProcessStartInfo(Path)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                Environment = { ["PGHOST"] = cs.Host, ["PGPORT"] = cs.Port.ToString(CultureInfo.InvariantCulture),
                    ["PGUSER"] = cs.Username, ["PGPASSWORD"] = cs.Password, ["PGDATABASE"] = cs.Database },
            };
            foreach (var a in new[] { "-n", "-M", "prepared", "-c", $"{clients}", "-j", $"{Math.Min(clients, Environment.ProcessorCount)}",
                         "-T", $"{Math.Max(1, (int)Math.Round(duration.TotalSeconds))}", "-f", script })
                start.ArgumentList.Add(a);
            using var process = Process.Start(start) ?? throw new InvalidOperationException("pgbench did not start");
            // Interrupted, pgbench would go on for the rest of its -T seconds: it is ended with the benchmark.
            using var end = ct.Register(() => process.Kill());
            var output = process.StandardOutput.ReadToEndAsync(ct);
            var errors = process.StandardError.ReadToEndAsync(ct);
            await process.WaitForExitAsync(ct);
            var text = await output;
            if (process.ExitCode != 0) throw new InvalidOperationException($"pgbench exited with {process.ExitCode}: {await errors}");
            return new(Number(Tps().Match(text)), Number(Latency().Match(text)));
        }
        finally
        {
            File.Delete(script);
        }
    }

    /// <summary>One INSERT of the event's bytes as literals (hex bytea), so every transaction writes the same-sized row.</summary>
    private static string Script(RowShape shape)
    {
        static string Hex(byte[] b) => $"'\\x{Convert.ToHexString(b)}'::bytea";
        var type = shape.TypeName.Replace("'", "''", StringComparison.Ordinal);
        return new StringBuilder()
            .Append("INSERT INTO he_raw (event_id, stream_id, version, type, data, metadata, prev_hash, hash, endorsement) VALUES (")
            .Append("gen_random_uuid(), 'patient-' || gen_random_uuid(), 0, ")
            .Append(CultureInfo.InvariantCulture, $"'{type}', {Hex(shape.Data)}, {Hex(shape.Metadata)}, {Hex(shape.PrevHash)}, {Hex(shape.Hash)}, {Hex(shape.Endorsement)});")
            .AppendLine()
            .ToString();
    }

    private static double Number(Match m) =>
        m.Success ? double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : throw new InvalidOperationException("pgbench printed no result");

    [GeneratedRegex(@"tps = ([0-9.]+)")]
    private static partial Regex Tps();

    [GeneratedRegex(@"latency average = ([0-9.]+) ms")]
    private static partial Regex Latency();
}
