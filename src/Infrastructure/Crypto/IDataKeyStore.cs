namespace HealthEvents.Infrastructure.Crypto;

/// <summary>Per-patient data keys, stored wrapped under the key-encryption key.</summary>
public interface IDataKeyStore
{
    /// <summary>The patient's data key, created on first use. Throws <see cref="PatientForgottenException"/> once destroyed.</summary>
    Task<byte[]> GetOrCreateAsync(Guid patientId, CancellationToken ct = default);

    /// <summary>The patient's data key if one exists and is not destroyed.</summary>
    Task<DataKeyLookup> FindAsync(Guid patientId, CancellationToken ct = default);

    /// <summary>Destroys the patient's data key (and bars a new one). Idempotent; works before any key exists.</summary>
    Task DestroyAsync(Guid patientId, CancellationToken ct = default);
}

public enum DataKeyStatus
{
    /// <summary>No key was ever created: nothing was encrypted for this patient here.</summary>
    Missing,
    Active,
    Destroyed,
}

/// <summary>The state of a patient's data key; <see cref="Key"/> is set only when <see cref="DataKeyStatus.Active"/>.</summary>
public readonly record struct DataKeyLookup(DataKeyStatus Status, byte[]? Key)
{
    public static readonly DataKeyLookup Missing = new(DataKeyStatus.Missing, null);
    public static readonly DataKeyLookup Destroyed = new(DataKeyStatus.Destroyed, null);
    public static DataKeyLookup Active(byte[] key) => new(DataKeyStatus.Active, key);

    // Records print their members; a key must never reach a log line.
    public override string ToString() => $"DataKeyLookup({Status})";
}
