namespace HealthEvents.Projections.Ledger;

/// <summary>
/// Hashes as the ledger view stores them (lowercase hex), read without trusting the view: whoever can write the
/// read-model database can put anything there, and a request that reads it must answer, never fail with a 500.
/// </summary>
internal static class ViewHex
{
    /// <summary>The bytes <paramref name="hex"/> spells, or none (an empty array, which no 32-byte hash equals and no proof verifies with) when it is not hex.</summary>
    public static byte[] Bytes(string? hex)
    {
        if (string.IsNullOrEmpty(hex) || hex.Length % 2 != 0) return [];
        var bytes = new byte[hex.Length / 2];
        return Convert.FromHexString(hex, bytes, out _, out var written) == System.Buffers.OperationStatus.Done && written == bytes.Length ? bytes : [];
    }
}
