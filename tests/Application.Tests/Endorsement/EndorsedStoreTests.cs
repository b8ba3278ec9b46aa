using System.Security.Cryptography;
using HealthEvents.Application.Endorsement;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Ledger;
using HealthEvents.Application.Network;
using HealthEvents.Infrastructure.Identity;
using HealthEvents.Infrastructure.Postgres;
using HealthEvents.TestSupport;
using Npgsql;
using static HealthEvents.Application.Tests.Endorsement.TestLedger;

namespace HealthEvents.Application.Tests.Endorsement;

/// <summary>
/// A real PostgreSQL store holding a network (genesis of three hospitals, a key rotation) and three patients'
/// endorsed transactions — batches of one, a two-event transaction, a batch of three. Someone with write access
/// edits rows behind the store's back; verification, reading through the store, names the stream and version.
/// </summary>
[Collection(nameof(WholeLogCollection))] // reads the global log: alone on the cluster
public sealed class EndorsedStoreTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T1 = T0.AddHours(1);
    private readonly TestLedger _ledger = new();
    private NpgsqlDataSource _dataSource = null!;
    private PostgresEventStore _store = null!;
    private ECDsa _oldLakesideKey = null!;
    private string _a = "", _b = "", _c = "";

    public async Task InitializeAsync()
    {
        _dataSource = NpgsqlDataSource.Create(await TestPostgres.CreateDatabaseAsync());
        _store = new PostgresEventStore(_dataSource);
        await _store.EnsureSchemaAsync();

        _a = _ledger.Patient(Northside, T1, Northside, Lakeside);                                   // A v0
        _b = _ledger.Patient(Lakeside, T1, Lakeside, Riverside);                                    // B v0
        _c = _ledger.Patient(Riverside, T1, Riverside, Northside);                                  // C v0
        _ledger.Endorsed(_a, T1.AddMinutes(1), [Lakeside, Riverside], Corrected(1971));             // A v1
        _ledger.Endorsed(_b, T1.AddMinutes(1), [Northside, Lakeside], Corrected(1971));             // B v1
        _ledger.Endorsed(_a, T1.AddMinutes(2), [Northside, Riverside], Corrected(1972), Corrected(1973)); // A v2-v3
        _ledger.Endorsed(_a, T1.AddMinutes(3), [Northside, Lakeside], Corrected(1974));             // A v4
        _oldLakesideKey = _ledger.KeyOf(Lakeside);
        _ledger.Rotate(Lakeside, T1.AddMinutes(10), effectiveFrom: T1.AddMinutes(20), [Lakeside, Riverside]); // network v3
        SignedBy(_a, T1.AddMinutes(15), _oldLakesideKey);                                           // A v5: old key, still in effect
        SignedBy(_a, T1.AddMinutes(25), _ledger.KeyOf(Lakeside));                                   // A v6: the new key

        // One batch of three transactions, one per patient, signed once.
        var batch = new[] { _a, _b, _c }.Select(s => _ledger.Prepare(s, T1.AddMinutes(30), "dr-x", Corrected(1980))).ToList();
        var hashes = batch.Select(t => t.Hash).ToList();
        var root = EndorsementSignatures.BatchRoot(hashes);
        EndorsementSignature[] signatures = [_ledger.Sign(Northside, root), _ledger.Sign(Riverside, root)];
        for (var i = 0; i < batch.Count; i++)
            _ledger.Commit(batch[i], EndorsementSignatures.InBatch(batch[i].FirstVersion, 1, hashes, i, signatures)); // A v7, B v2, C v1

        await _ledger.WriteToAsync(_store);
    }

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        await _dataSource.DisposeAsync();
        _ledger.Dispose();
    }

    [Fact]
    public async Task The_untouched_store_verifies_stream_by_stream_and_whole()
    {
        foreach (var stream in new[] { NetworkStream.StreamId, _a, _b, _c })
        {
            var report = await VerifyAsync(stream);
            Assert.True(report.Verified, $"{stream}: {string.Join("; ", report.Problems)}");
        }

        var progress = new List<StoreVerificationProgress>();
        var whole = await StoreVerifier.VerifyAsync(_store, new StoreVerifierOptions
        {
            EndorsementChecker = await CheckerAsync(), PageSize = 3, ProgressInterval = 5, Progress = progress.Add,
        });

        Assert.True(whole.Verified, string.Join("; ", whole.Problems));
        Assert.Equal((17L, 4L), (whole.Events, whole.Streams));
        Assert.Equal([5L, 10L, 15L, 17L], progress.Select(p => p.Events));
        Assert.Equal(4, progress[^1].Streams);
    }

    [Fact]
    public async Task A_byte_of_data_changed_in_place_is_reported_at_its_version()
    {
        await SqlAsync(_a, "UPDATE he_events SET data = set_byte(data, 3, get_byte(data, 3) # 1) WHERE stream_id = $1 AND version = 1");

        Only(await VerifyAsync(_a), VerificationCodes.HashMismatch, 1);
    }

    [Fact]
    public async Task A_byte_of_metadata_changed_in_place_is_reported_at_its_version()
    {
        await SqlAsync(_a, "UPDATE he_events SET metadata = set_byte(metadata, 2, get_byte(metadata, 2) # 1) WHERE stream_id = $1 AND version = 3");

        Only(await VerifyAsync(_a), VerificationCodes.HashMismatch, 3);
    }

    [Fact]
    public async Task A_deleted_row_is_reported_at_its_version()
    {
        await SqlAsync(_a, "DELETE FROM he_events WHERE stream_id = $1 AND version = 1");

        Only(await VerifyAsync(_a), VerificationCodes.MissingEvent, 1);
    }

    [Fact]
    public async Task A_flipped_signature_byte_in_the_stored_endorsement_is_a_bad_signature()
    {
        await SqlAsync(_a, $"UPDATE he_events SET endorsement = {FlipSignatureByte} WHERE stream_id = $1 AND version = 4");

        var report = await VerifyAsync(_a);

        Assert.Equal([(4L, VerificationCodes.BadSignature), (4L, VerificationCodes.PolicyNotMet)], report.Problems.Select(p => (p.Version, p.Code)));
    }

    [Fact]
    public async Task Signatures_dropped_below_the_policy_are_reported()
    {
        await SqlAsync(_b, $"UPDATE he_events SET endorsement = {Edit("jsonb_set(e, '{signatures}', (e->'signatures') - 1)")} WHERE stream_id = $1 AND version = 1");

        var problem = Only(await VerifyAsync(_b), VerificationCodes.PolicyNotMet, 1);

        Assert.Contains("needs 2 of lakeside, northside, riverside; has northside", problem.Message);
    }

    [Fact]
    public async Task Editing_one_row_of_a_two_event_transaction_is_reported_at_that_row()
    {
        await SqlAsync(_a, $"UPDATE he_events SET endorsement = {Edit("jsonb_set(e, '{signatures}', '[]'::jsonb)")} WHERE stream_id = $1 AND version = 3");

        Only(await VerifyAsync(_a), VerificationCodes.PolicyNotMet, 3);
    }

    [Fact]
    public async Task A_wrong_inclusion_path_in_a_batch_is_reported()
    {
        await SqlAsync(_b, $"UPDATE he_events SET endorsement = {Edit("jsonb_set(e, '{inclusionPath,0}', to_jsonb(encode(sha256('x'::bytea), 'base64')))")} WHERE stream_id = $1 AND version = 2");

        Only(await VerifyAsync(_b), VerificationCodes.BadInclusionPath, 2);
    }

    [Fact]
    public async Task Forged_signatures_are_reported_whoever_they_claim_to_be()
    {
        using var forger = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var transaction = _ledger.Prepare(_c, T1.AddMinutes(40), "dr-x", Corrected(1990));
        var forged = EndorsementSignatures.Sign(forger, transaction.Hash);
        await AppendAsync(transaction, EndorsementSignatures.BatchOfOne(transaction.FirstVersion, 1, transaction.Hash,
        [
            _ledger.Sign(Riverside, transaction.Hash),
            new EndorsementSignature(Lakeside, PublicKeys.KeyId(forger), forged),
            new EndorsementSignature("mallory", PublicKeys.KeyId(forger), forged),
        ]));

        var report = await VerifyAsync(_c);

        Assert.Equal([(2L, VerificationCodes.WrongKey), (2L, VerificationCodes.UnknownEndorser), (2L, VerificationCodes.PolicyNotMet)],
            report.Problems.Select(p => (p.Version, p.Code)));
    }

    [Fact]
    public async Task The_old_key_signing_after_the_rotation_took_effect_is_the_wrong_key()
    {
        // A v5 was signed with the old key before the rotation took effect and still verifies (see the untouched store).
        var transaction = _ledger.Prepare(_a, T1.AddMinutes(40), "dr-x", Corrected(1990));
        await AppendAsync(transaction, EndorsementSignatures.BatchOfOne(transaction.FirstVersion, 1, transaction.Hash,
            [_ledger.Sign(Northside, transaction.Hash), _ledger.Sign(Lakeside, transaction.Hash, _oldLakesideKey)]));

        var report = await VerifyAsync(_a);

        Assert.Equal([(8L, VerificationCodes.WrongKey), (8L, VerificationCodes.PolicyNotMet)], report.Problems.Select(p => (p.Version, p.Code)));
    }

    [Fact]
    public async Task The_whole_store_verifier_names_each_broken_stream_and_version()
    {
        await SqlAsync(_a, "UPDATE he_events SET data = set_byte(data, 3, get_byte(data, 3) # 1) WHERE stream_id = $1 AND version = 5");
        await SqlAsync(_b, $"UPDATE he_events SET endorsement = {FlipSignatureByte} WHERE stream_id = $1 AND version = 1");

        var report = await StoreVerifier.VerifyAsync(_store, new StoreVerifierOptions { EndorsementChecker = await CheckerAsync(), PageSize = 4 });

        Assert.False(report.Verified);
        Assert.Equal((17L, 4L, 2L), (report.Events, report.Streams, report.BrokenStreamCount));
        Assert.Equal(
            [(_a, 5L, VerificationCodes.HashMismatch), (_b, 1L, VerificationCodes.BadSignature), (_b, 1L, VerificationCodes.PolicyNotMet)],
            report.Problems.Select(p => (p.StreamId, p.Version, p.Code)).OrderBy(p => p.Item1 == _a ? 0 : 1));
        Assert.Equal(5, report.BrokenStreams.Single(s => s.StreamId == _a).FirstBrokenVersion);
        Assert.Equal(1, report.BrokenStreams.Single(s => s.StreamId == _b).FirstBrokenVersion);
    }

    [Fact]
    public async Task Without_a_checker_the_whole_store_verifier_checks_the_chains()
    {
        await SqlAsync(_c, "DELETE FROM he_events WHERE stream_id = $1 AND version = 0");

        var report = await StoreVerifier.VerifyAsync(_store);

        var broken = Assert.Single(report.BrokenStreams);
        Assert.Equal(_c, broken.StreamId);
        Assert.Equal((0L, VerificationCodes.MissingEvent), (broken.Problems.Single().Version, broken.Problems.Single().Code));
    }

    // ------------------------------------------------------------------ helpers

    /// <summary>The stored endorsement (JSON in a bytea) with the first signature's 8th byte flipped.</summary>
    private static readonly string FlipSignatureByte = Edit("""
        jsonb_set(e, '{signatures,0,signature}', to_jsonb(replace(encode(
          set_byte(decode(e->'signatures'->0->>'signature', 'base64'), 7, get_byte(decode(e->'signatures'->0->>'signature', 'base64'), 7) # 1),
          'base64'), E'\n', '')))
        """);

    /// <summary>An expression rewriting the endorsement column through jsonb, <c>e</c> being the parsed JSON.</summary>
    private static string Edit(string jsonbExpression) =>
        $"(SELECT convert_to(({jsonbExpression})::text, 'UTF8') FROM (SELECT convert_from(endorsement, 'UTF8')::jsonb AS e) AS parsed)";

    private void SignedBy(string stream, DateTimeOffset at, ECDsa lakesideKey)
    {
        var transaction = _ledger.Prepare(stream, at, "dr-x", Corrected());
        _ledger.Commit(transaction, EndorsementSignatures.BatchOfOne(transaction.FirstVersion, 1, transaction.Hash,
            [_ledger.Sign(Northside, transaction.Hash), _ledger.Sign(Lakeside, transaction.Hash, lakesideKey)]));
    }

    private async Task AppendAsync(PreparedTransaction transaction, TransactionEndorsement endorsement)
    {
        _ledger.Commit(transaction, endorsement);
        await _store.AppendAsync(transaction.StreamId, ExpectedVersion.After(transaction.LastVersion), transaction.Proposed, endorsement);
    }

    private Task<EndorsementChecker> CheckerAsync() => EndorsementChecker.LoadAsync(_store, Serializer);

    private async Task<VerificationReport> VerifyAsync(string stream) =>
        await StreamVerifier.VerifyAsync(_store.ReadStreamAsync(stream), new StreamVerifierOptions { EndorsementChecker = await CheckerAsync() });

    private static VerificationProblem Only(VerificationReport report, string code, long version)
    {
        var problem = Assert.Single(report.Problems);
        Assert.Equal((code, version), (problem.Code, problem.Version));
        Assert.Equal(version, report.FirstBrokenVersion);
        return problem;
    }

    private async Task SqlAsync(string stream, string sql)
    {
        await using var command = _dataSource.CreateCommand(sql);
        command.Parameters.Add(new NpgsqlParameter { Value = stream });
        Assert.True(await command.ExecuteNonQueryAsync() > 0, "the tampering statement changed nothing");
    }
}

/// <summary>
/// Classes that verify the whole global log run alone in this assembly: PostgreSQL's global log holds back events
/// while any transaction of the cluster is in flight, so another class's concurrent appends could end a read early.
/// </summary>
[CollectionDefinition(nameof(WholeLogCollection), DisableParallelization = true)]
public sealed class WholeLogCollection;
