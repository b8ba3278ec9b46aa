using System.Globalization;
using System.Text;

namespace HealthEvents.Domain.Common;

/// <summary>
/// Identifiers people compare by eye (practitioner, hospital and researcher ids, consent grantees). Compared
/// exactly (ordinal) after Unicode normalisation form C, so "é" typed as one code point or as e + combining
/// accent is the same id; an id that still looks like another (a Cyrillic "а" for a Latin "a") is a different id,
/// and is then simply not found. Characters a reader cannot see — controls, format characters such as
/// zero-width spaces and the bidirectional overrides (Unicode general categories Cc, Cf), separators and
/// whitespace other than a plain space between words, unassigned, private-use and lone surrogate code points — are refused outright, since they make two
/// ids that print alike compare differently.
/// </summary>
public static class Identifiers
{
    public const int MaxLength = 200;

    /// <summary>The NFC form of <paramref name="id"/> (null stays null; text that cannot be normalised is returned as is and refused by <see cref="Problem"/>).</summary>
    public static string? Normalize(string? id)
    {
        if (id is null) return null;
        try
        {
            return id.Normalize(NormalizationForm.FormC);
        }
        catch (ArgumentException)
        {
            return id; // ill-formed UTF-16 (a lone surrogate): Problem refuses it
        }
    }

    /// <summary>Why <paramref name="id"/> is not an acceptable identifier, or null when it is (it must already be in NFC).</summary>
    public static string? Problem(string? id)
    {
        if (string.IsNullOrEmpty(id)) return "An identifier is required.";
        if (id.Length > MaxLength) return $"An identifier has at most {MaxLength} characters.";
        if (id[0] == ' ' || id[^1] == ' ') return "An identifier neither starts nor ends with a space.";
        if (!Utf16.IsWellFormed(id) || id.Contains('\uFFFD')) return "An identifier contains invalid characters.";
        foreach (var rune in id.EnumerateRunes())
        {
            // A plain space may stand inside a name ("Lakeside University"); no other kind of space or line break.
            if (rune.Value != ' ' && Rune.IsWhiteSpace(rune)) return "An identifier contains no spaces other than U+0020 between words.";
            switch (Rune.GetUnicodeCategory(rune))
            {
                case UnicodeCategory.Control:
                case UnicodeCategory.Format:
                case UnicodeCategory.LineSeparator:
                case UnicodeCategory.ParagraphSeparator:
                case UnicodeCategory.SpaceSeparator when rune.Value != ' ':
                case UnicodeCategory.OtherNotAssigned:
                case UnicodeCategory.PrivateUse:
                    return "An identifier contains invisible, control or direction-changing characters.";
            }
        }
        if (!id.IsNormalized(NormalizationForm.FormC)) return "An identifier is in Unicode normalisation form C.";
        return null;
    }
}

/// <summary>
/// The ids under which a node itself acts (founding the network, signing ledger heads). They are nobody's
/// registration: a node uses them only for its own hospital, and no practitioner may be registered under them.
/// </summary>
public static class SystemActors
{
    public const string Genesis = "genesis";
    public const string LedgerBuilder = "ledger-builder";

    public static bool IsSystem(string actorId) => actorId is Genesis or LedgerBuilder;
}
