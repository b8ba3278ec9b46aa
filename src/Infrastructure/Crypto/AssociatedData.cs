using System.Text;

namespace HealthEvents.Infrastructure.Crypto;

/// <summary>
/// What each ciphertext is bound to: a purpose label and the patient id. The patient id keeps content
/// from being moved to another patient's record; the label keeps a wrapped data key and a piece of
/// content from ever being accepted in each other's place.
/// </summary>
public static class AssociatedData
{
    public const string ContentPurpose = "healthevents/content/v1";
    public const string DataKeyPurpose = "healthevents/data-key/v1";

    public static byte[] ForContent(Guid patientId) => Build(ContentPurpose, patientId);

    public static byte[] ForDataKey(Guid patientId) => Build(DataKeyPurpose, patientId);

    private static byte[] Build(string purpose, Guid patientId)
    {
        var label = Encoding.ASCII.GetBytes(purpose);
        var ad = new byte[label.Length + 1 + 16];
        label.CopyTo(ad, 0);
        // A separator byte, then the id in RFC 4122 order, as the hash chain encodes ids.
        patientId.TryWriteBytes(ad.AsSpan(label.Length + 1), bigEndian: true, out _);
        return ad;
    }
}
