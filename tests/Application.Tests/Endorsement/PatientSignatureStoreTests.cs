using System.Security.Cryptography;
using HealthEvents.Application.Endorsement;
using HealthEvents.Application.Ledger;
using HealthEvents.Application.Ports;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Patients;
using HealthEvents.Infrastructure.Postgres;
using Npgsql;
using static HealthEvents.Application.Tests.Endorsement.TestLedger;

namespace HealthEvents.Application.Tests.Endorsement;

/// <summary>
/// A patient who enrolled a device key and signed a consent with it, in a real PostgreSQL store. Hospitals that collude
/// — both endorsement keys in hand, write access to the store — add or rewrite consent changes the patient never
/// signed: endorsed, hash-chained, everything a hospital can vouch for is in order. The verifier, reading through the
/// store, names the version where the patient's signature is missing or false, with the codes the patient's page uses.
/// </summary>
[Collection(nameof(WholeLogCollection))] // reads the global log: alone on the cluster
public sealed class PatientSignatureStoreTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T1 = T0.AddHours(1);
    private static readonly string[] Colluding = [Northside, Riverside];
    private readonly TestLedger _ledger = new();
    private readonly ECDsa _device = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private StoreDatabase _database = null!;

    private PostgresEventStore Store => _database.Store;

    private NpgsqlDataSource DataSource => _database.DataSource;
    private string _stream = "";
    private Guid _patient;
    private ConsentGranted _granted = null!;

    public async Task InitializeAsync()
    {
        _database = await StoreDatabase.CreateAsync();

        _stream = _ledger.Patient(Northside, T1, Northside, Lakeside);                                        // v0
        _patient = Guid.Parse(_stream["patient-".Length..]);
        _ledger.Endorsed(_stream, T1.AddMinutes(1), [Northside, Lakeside], Enrolment(_device, T1.AddMinutes(1))); // v1
        _granted = Grant(Grantee.Hospital(Riverside), Category.Allergies);
        _ledger.Endorsed(_stream, T1.AddMinutes(2), [Northside, Lakeside], _granted, Signature(_device, _granted, T1.AddMinutes(2))); // v2, v3
        await _ledger.WriteToAsync(Store);
    }

    public async Task DisposeAsync()
    {
        await _database.DisposeAsync();
        _device.Dispose();
        _ledger.Dispose();
    }

    [Fact]
    public async Task A_history_the_patient_signed_verifies_stream_by_stream_and_whole()
    {
        var report = await VerifyAsync();
        Assert.True(report.Verified, string.Join("; ", report.Problems));

        var whole = await StoreVerifier.VerifyAsync(Store, new StoreVerifierOptions { EndorsementChecker = await CheckerAsync() });
        Assert.True(whole.Verified, string.Join("; ", whole.Problems));
    }

    [Fact]
    public async Task An_unsigned_consent_endorsed_by_colluding_hospitals_is_named_where_the_signature_belongs()
    {
        // A mental-health consent to Lakeside: endorsed by two hospitals, as the policy wants; the patient never saw it.
        await AppendAsync(Colluding, Grant(Grantee.Hospital(Lakeside), Category.MentalHealth));                // v4

        var atTheEnd = await VerifyAsync();
        Only(atTheEnd, VerificationCodes.Unsigned, 5);

        // Followed by something else, it is still the missing signature at version 5, and nothing else.
        await AppendAsync(Colluding, Corrected(1980));                                                          // v5
        Only(await VerifyAsync(), VerificationCodes.Unsigned, 5);

        // The whole-store verifier (./run.sh verify) names the same stream and version.
        var whole = await StoreVerifier.VerifyAsync(Store, new StoreVerifierOptions { EndorsementChecker = await CheckerAsync() });
        var broken = Assert.Single(whole.BrokenStreams);
        Assert.Equal((_stream, 5L), (broken.StreamId, broken.FirstBrokenVersion));
        Assert.Equal(VerificationCodes.Unsigned, Assert.Single(broken.Problems).Code);
    }

    [Fact]
    public async Task A_revocation_signed_with_a_key_the_patient_never_enrolled_is_a_bad_patient_signature()
    {
        using var forger = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var revoked = new ConsentRevoked(_granted.ConsentId);
        // The forger's signature under the enrolled key's id: right shape, right statement, wrong key.
        await AppendAsync(Colluding, revoked, Signature(forger, revoked, T1.AddMinutes(5), keyId: KeyId(_device)));   // v4, v5

        Only(await VerifyAsync(), VerificationCodes.BadPatientSignature, 5);
    }

    [Fact]
    public async Task A_genuine_signature_copied_onto_another_command_does_not_verify()
    {
        var signed = _ledger.Stream(_stream)[3];
        var copied = (SignedByPatient)Serializer.Deserialize(signed.Type, signed.Data);
        // The patient's own signature of the grant, replayed behind a wider grant of the colluders' making.
        var wider = _granted with { ConsentId = Guid.NewGuid(), Categories = [Category.Allergies, Category.MentalHealth] };
        await AppendAsync(Colluding, wider, copied);                                                              // v4, v5

        Only(await VerifyAsync(), VerificationCodes.BadPatientSignature, 5);
    }

    [Fact]
    public async Task A_signed_consent_widened_in_place_and_re_endorsed_breaks_at_the_patients_signature()
    {
        // The colluders rewrite the signed grant (v2) to cover mental health too, recompute the chain from there and
        // endorse the rewritten transaction again: every hash and endorsement checks out; the patient's signature does not.
        var wider = _granted with { Categories = [Category.Allergies, Category.MentalHealth] };
        var v2 = _ledger.Stream(_stream)[2];
        var v3 = _ledger.Stream(_stream)[3];
        var data = Serializer.Serialize(wider);
        var hash2 = HashChain.ComputeHash(v2 with { Data = data });
        var hash3 = HashChain.ComputeHash(v3 with { PrevHash = hash2 });
        var endorsement = EndorsementSignatures.BatchOfOne(2, 2, hash3, [.. Colluding.Select(h => _ledger.Sign(h, hash3))]);
        await using (var batch = DataSource.CreateBatch())
        {
            batch.BatchCommands.Add(Update("UPDATE he_events SET data = $1, hash = $2, endorsement = $3 WHERE stream_id = $4 AND version = 2",
                data, hash2, endorsement.ToJson(), _stream));
            batch.BatchCommands.Add(Update("UPDATE he_events SET prev_hash = $1, hash = $2, endorsement = $3 WHERE stream_id = $4 AND version = 3",
                hash2, hash3, endorsement.ToJson(), _stream));
            Assert.Equal(2, await batch.ExecuteNonQueryAsync());
        }

        Only(await VerifyAsync(), VerificationCodes.BadPatientSignature, 3);
    }

    [Fact]
    public async Task A_device_key_enrolled_without_its_own_proof_is_a_bad_device_key()
    {
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var replacement = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var unproved = Enrolment(replacement, T1.AddMinutes(5), proveWith: other);
        await AppendAsync(Colluding, new DeviceKeyReplaced(unproved.KeyId, unproved.PublicKey, unproved.SignedAt, unproved.Proof, KeyId(_device), "lost"));

        Only(await VerifyAsync(), VerificationCodes.BadDeviceKey, 4);
    }

    // ------------------------------------------------------------------ helpers

    private static string KeyId(ECDsa key) => P256.KeyIdOf(key.ExportSubjectPublicKeyInfo());

    private static string SignBase64(ECDsa key, byte[] statement) =>
        Convert.ToBase64String(key.SignData(statement, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation));

    /// <summary>The enrolment of <paramref name="key"/>, proved by <paramref name="proveWith"/> (the key itself unless a test forges).</summary>
    private DeviceKeyEnrolled Enrolment(ECDsa key, DateTimeOffset at, ECDsa? proveWith = null)
    {
        var publicKey = Convert.ToBase64String(key.ExportSubjectPublicKeyInfo());
        var statement = PatientStatements.Enrolment(_patient, KeyId(key), at, publicKey);
        return new DeviceKeyEnrolled(KeyId(key), publicKey, at, SignBase64(proveWith ?? key, statement));
    }

    private SignedByPatient Signature(ECDsa key, IPatientEvent decided, DateTimeOffset at, string? keyId = null)
    {
        var id = keyId ?? KeyId(key);
        return new SignedByPatient(PatientStatements.ActionOf(decided)!, id, at, SignBase64(key, PatientStatements.OfDecided(decided, _patient, id, at)));
    }

    private static ConsentGranted Grant(Grantee grantee, Category category) =>
        new(Guid.NewGuid(), grantee, [category], [Purpose.Treatment], [AccessAction.Read], T1, null);

    /// <summary>A transaction the colluding hospitals endorse and write straight to the store.</summary>
    private async Task AppendAsync(string[] signers, params IEvent[] events)
    {
        var transaction = _ledger.Prepare(_stream, T1.AddMinutes(10), "admin-" + Northside, events);
        var endorsement = EndorsementSignatures.BatchOfOne(transaction.FirstVersion, transaction.Linked.Count, transaction.Hash,
            [.. signers.Select(h => _ledger.Sign(h, transaction.Hash))]);
        _ledger.Commit(transaction, endorsement);
        await Store.AppendAsync(_stream, ExpectedVersion.After(transaction.LastVersion), transaction.Proposed, endorsement);
    }

    private Task<EndorsementChecker> CheckerAsync() => EndorsementChecker.LoadAsync(Store, Serializer);

    private async Task<VerificationReport> VerifyAsync() =>
        await StreamVerifier.VerifyAsync(Store.ReadStreamAsync(_stream), new StreamVerifierOptions { EndorsementChecker = await CheckerAsync() });

    private static void Only(VerificationReport report, string code, long version)
    {
        var problem = Assert.Single(report.Problems);
        Assert.Equal((code, version), (problem.Code, problem.Version));
        Assert.Equal(version, report.FirstBrokenVersion);
    }

    private static NpgsqlBatchCommand Update(string sql, params object[] values)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var value in values) command.Parameters.Add(new NpgsqlParameter { Value = value });
        return command;
    }
}
