using System.Buffers.Text;
using System.Globalization;
using System.Text;
using Marten;

namespace HealthEvents.Projections.Views.Audit;

/// <summary>A page of a patient's audit trail; <see cref="Next"/> is the cursor of the following page, null at the end.</summary>
public sealed record AuditPage(IReadOnlyList<AuditEntry> Items, string? Next);

/// <summary>Reads the patient audit view, in stream order.</summary>
public sealed class AuditQuery(ReadModelStore readModels)
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 200;

    /// <summary>
    /// A patient's audit rows ordered by stream version ascending (a research use follows the patient's event it came after). <paramref name="from"/> is inclusive and
    /// <paramref name="to"/> exclusive (on the event's time); <paramref name="actor"/> matches the actor id;
    /// <paramref name="action"/> is one of <see cref="AuditActions"/>. <paramref name="limit"/>: default 50, at most 200
    /// (larger values are capped). Throws <see cref="ArgumentException"/> for an unknown action, a malformed cursor or
    /// a limit below 1 (the API answers 400).
    /// </summary>
    public async Task<AuditPage> QueryAsync(
        Guid patientId,
        DateTimeOffset? from = null,
        DateTimeOffset? to = null,
        string? actor = null,
        string? action = null,
        string? cursor = null,
        int? limit = null,
        CancellationToken ct = default,
        bool newestFirst = false)
    {
        var take = limit ?? DefaultLimit;
        if (take < 1) throw new ArgumentOutOfRangeException(nameof(limit), "The limit is at least 1.");
        take = Math.Min(take, MaxLimit);
        if (action is not null && !AuditActions.All.Contains(action))
            throw new ArgumentException("Unknown audit action.", nameof(action));
        var (after, afterSequence) = cursor is null ? (newestFirst ? long.MaxValue : -2, newestFirst ? long.MaxValue : 0) : DecodeCursor(cursor);

        await using var session = await readModels.QuerySessionAsync(ct);
        // Newest first (the patient's page) walks the same order backwards: the cursor then marks the last row seen from the end.
        IQueryable<AuditEntry> query = newestFirst
            ? session.Query<AuditEntry>().Where(x => x.PatientId == patientId
                && (x.StreamVersion < after || (x.StreamVersion == after && x.Sequence < afterSequence)))
            : session.Query<AuditEntry>().Where(x => x.PatientId == patientId
                && (x.StreamVersion > after || (x.StreamVersion == after && x.Sequence > afterSequence)));
        if (from is { } f) query = query.Where(x => x.At >= f);
        if (to is { } t) query = query.Where(x => x.At < t);
        if (actor is not null) query = query.Where(x => x.Actor.Id == actor);
        if (action is not null) query = query.Where(x => x.Action == action);
        var ordered = newestFirst
            ? query.OrderByDescending(x => x.StreamVersion).ThenByDescending(x => x.Sequence)
            : query.OrderBy(x => x.StreamVersion).ThenBy(x => x.Sequence);
        var rows = await ordered.Take(take + 1).ToListAsync(ct);

        if (rows.Count <= take) return new AuditPage(rows, null);
        var page = rows.Take(take).ToList();
        return new AuditPage(page, EncodeCursor(page[^1].StreamVersion, page[^1].Sequence));
    }

    /// <summary>The cursor just after <paramref name="row"/>: in oldest-first order, the rows that came after it.</summary>
    public static string CursorOf(AuditEntry row) => EncodeCursor(row.StreamVersion, row.Sequence);

    /// <summary>Whether <paramref name="cursor"/> is one this query hands out (<see cref="CursorOf"/>, <see cref="AuditPage.Next"/>).</summary>
    public static bool IsCursor(string cursor)
    {
        try
        {
            DecodeCursor(cursor);
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    /// <summary>Opaque to callers: base64url of "v{streamVersion}", or "v{streamVersion}.{sequence}" after a research use.</summary>
    internal static string EncodeCursor(long streamVersion, long sequence = 0) =>
        Base64Url.EncodeToString(Encoding.ASCII.GetBytes("v" + streamVersion.ToString(CultureInfo.InvariantCulture)
            + (sequence == 0 ? "" : "." + sequence.ToString(CultureInfo.InvariantCulture))));

    internal static (long Version, long Sequence) DecodeCursor(string cursor)
    {
        try
        {
            var text = Encoding.ASCII.GetString(Base64Url.DecodeFromChars(cursor));
            var parts = text.Length > 1 && text[0] == 'v' ? text[1..].Split('.') : [];
            long sequence = 0;
            if (parts.Length is 1 or 2
                && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var version)
                && (parts.Length == 1 || long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out sequence)))
                return (version, sequence);
        }
        catch (FormatException)
        {
        }
        throw new ArgumentException("Malformed cursor.", nameof(cursor));
    }
}
