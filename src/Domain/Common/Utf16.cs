namespace HealthEvents.Domain.Common;

/// <summary>
/// Well-formed UTF-16: every surrogate in a pair. A lone surrogate is no character at all — it cannot be encoded as
/// UTF-8 (PostgreSQL refuses it) nor shown — so the text rule, identifiers and the read side all test for it here.
/// </summary>
public static class Utf16
{
    /// <summary>The index of the first lone surrogate in <paramref name="text"/>, or -1 when it is well formed.</summary>
    public static int LoneSurrogateAt(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (!char.IsSurrogate(text[i])) continue;
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) i++;
            else return i;
        }
        return -1;
    }

    public static bool IsWellFormed(string text) => LoneSurrogateAt(text) < 0;
}
