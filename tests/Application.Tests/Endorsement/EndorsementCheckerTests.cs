using System.Security.Cryptography;
using HealthEvents.Application.Endorsement;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Ledger;
using HealthEvents.Application.Network;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Network;
using HealthEvents.Infrastructure.Identity;
using static HealthEvents.Application.Tests.Endorsement.TestLedger;
using static HealthEvents.Application.Tests.Ledger.Chains;

namespace HealthEvents.Application.Tests.Endorsement;

/// <summary>The endorsement checker over streams built with real keys and signatures, verified as the API and CLI do.</summary>
public sealed class EndorsementCheckerTests : IDisposable
{
    private readonly TestLedger _ledger = new();
    private static readonly DateTimeOffset T1 = T0.AddHours(1);

    public void Dispose() => _ledger.Dispose();

    private async Task<VerificationReport> VerifyAsync(IEnumerable<EventEnvelope> stream, EndorsementChecker? checker = null) =>
        await TestLedger.VerifyAsync(stream, checker ?? _ledger.Checker());

    private static VerificationProblem Single(VerificationReport report, string code, long version)
    {
        var problem = Assert.Single(report.Problems);
        Assert.Equal((code, version), (problem.Code, problem.Version));
        return problem;
    }

    [Fact]
    public async Task Endorsed_streams_and_the_genesis_verify()
    {
        var patient = _ledger.Patient(Northside, T1, Northside, Lakeside);
        _ledger.Endorsed(patient, T1.AddMinutes(1), [Riverside, Lakeside], Corrected(), Corrected(1972));
        _ledger.Endorsed(patient, T1.AddMinutes(2), Hospitals, Corrected(1973));

        var report = await VerifyAsync(_ledger.Stream(patient));

        Assert.True(report.Verified, string.Join("; ", report.Problems));
        Assert.Equal(4, report.Events);
        Assert.True((await VerifyAsync(_ledger.Network)).Verified);
    }

    [Fact]
    public async Task An_unendorsed_transaction_is_reported_at_its_version()
    {
        var patient = _ledger.Patient(Northside, T1, Northside, Lakeside);
        _ledger.Unendorsed(patient, T1.AddMinutes(1), "dr-x", Corrected());

        var problem = Single(await VerifyAsync(_ledger.Stream(patient)), VerificationCodes.Unendorsed, 1);

        Assert.Contains("no endorsement", problem.Message);
    }

    [Fact]
    public async Task Only_the_founding_transaction_goes_unendorsed()
    {
        _ledger.Endorsed(NetworkStream.StreamId, T1, [Lakeside, Riverside], new ResearcherRegistered("r-1", "Uni"));
        _ledger.Unendorsed(NetworkStream.StreamId, T1.AddMinutes(1), "genesis", new ResearcherRegistered("r-2", "Uni"));
        _ledger.Unendorsed(NetworkStream.StreamId, T1.AddMinutes(2), "admin-x", new ResearcherRegistered("r-3", "Uni"));

        var report = await VerifyAsync(_ledger.Network);

        Assert.Equal([(4L, VerificationCodes.Unendorsed), (5L, VerificationCodes.Unendorsed)], report.Problems.Select(p => (p.Version, p.Code)));
    }

    [Fact]
    public async Task A_second_genesis_transaction_right_after_the_founding_is_unendorsed()
    {
        // Nothing came between: still, only the network stream's first transaction is the founding.
        _ledger.Unendorsed(NetworkStream.StreamId, T0.AddSeconds(1), "genesis", new ResearcherRegistered("r-1", "Uni"));

        var report = await VerifyAsync(_ledger.Network);

        Assert.Equal([(3L, VerificationCodes.Unendorsed)], report.Problems.Select(p => (p.Version, p.Code)));
    }

    [Fact]
    public async Task A_network_transaction_is_endorsed_under_the_network_before_it()
    {
        // A hospital joining cannot endorse its own admission: the members before it decide.
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var join = _ledger.Prepare(NetworkStream.StreamId, T1, "admin-lakeside",
            new HospitalJoined("westside", "Westside", "http://westside.test", PublicKeys.KeyId(key), PublicKeys.Export(key), "w-id", "pk"));
        _ledger.Commit(join, EndorsementSignatures.BatchOfOne(join.FirstVersion, 1, join.Hash,
            [_ledger.Sign(Lakeside, join.Hash), new EndorsementSignature("westside", PublicKeys.KeyId(key), EndorsementSignatures.Sign(key, join.Hash))]));

        var report = await VerifyAsync(_ledger.Network);

        Assert.Equal([(3L, VerificationCodes.UnknownEndorser), (3L, VerificationCodes.PolicyNotMet)], report.Problems.Select(p => (p.Version, p.Code)));
        // Once a member, it endorses like any other.
        var patient = _ledger.Patient(Northside, T1.AddMinutes(1), Northside, Lakeside);
        var next = _ledger.Prepare(patient, T1.AddMinutes(2), "dr-x", Corrected());
        _ledger.Commit(next, EndorsementSignatures.BatchOfOne(1, 1, next.Hash,
            [new EndorsementSignature("westside", PublicKeys.KeyId(key), EndorsementSignatures.Sign(key, next.Hash)), _ledger.Sign(Riverside, next.Hash)]));
        Assert.True((await VerifyAsync(_ledger.Stream(patient))).Verified);
    }

    [Fact]
    public async Task A_flipped_signature_byte_is_a_bad_signature()
    {
        var patient = _ledger.Patient(Northside, T1, Northside, Lakeside);
        var events = _ledger.Stream(patient).ToList();
        var endorsement = events[0].Endorsement!;
        events[0] = events[0] with
        {
            Endorsement = endorsement with { Signatures = [endorsement.Signatures[0] with { Signature = FlipByte(endorsement.Signatures[0].Signature, 7) }, endorsement.Signatures[1]] },
        };

        var report = await VerifyAsync(events);

        Assert.Equal([VerificationCodes.BadSignature, VerificationCodes.PolicyNotMet], report.Problems.Select(p => p.Code));
        Assert.All(report.Problems, p => Assert.Equal(0, p.Version));
    }

    [Fact]
    public async Task A_signature_from_an_unregistered_key_is_caught_whatever_it_claims()
    {
        using var forger = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var patient = _ledger.Patient(Northside, T1, Northside, Lakeside);
        var transaction = _ledger.Prepare(patient, T1.AddMinutes(1), "dr-x", Corrected());
        var forged = EndorsementSignatures.Sign(forger, transaction.Hash);
        _ledger.Commit(transaction, EndorsementSignatures.BatchOfOne(1, 1, transaction.Hash,
        [
            _ledger.Sign(Northside, transaction.Hash),
            new EndorsementSignature(Lakeside, PublicKeys.KeyId(forger), forged),             // its own key id
            new EndorsementSignature(Riverside, PublicKeys.KeyId(_ledger.KeyOf(Riverside)), forged), // the real key id
            new EndorsementSignature("mallory", PublicKeys.KeyId(forger), forged),            // no such member
        ]));

        var report = await VerifyAsync(_ledger.Stream(patient));

        Assert.Equal(
            [(1L, VerificationCodes.WrongKey), (1L, VerificationCodes.BadSignature),
             (1L, VerificationCodes.UnknownEndorser), (1L, VerificationCodes.PolicyNotMet)],
            report.Problems.Select(p => (p.Version, p.Code)));
    }

    [Fact]
    public async Task Too_few_signatures_do_not_meet_the_policy()
    {
        var patient = _ledger.Patient(Northside, T1, Northside, Lakeside);
        _ledger.Endorsed(patient, T1.AddMinutes(1), [Riverside], Corrected());

        var problem = Single(await VerifyAsync(_ledger.Stream(patient)), VerificationCodes.PolicyNotMet, 1);

        Assert.Contains("needs 2 of lakeside, northside, riverside; has riverside", problem.Message);
    }

    [Fact]
    public async Task The_home_hospital_comes_from_the_patients_registration()
    {
        _ledger.Endorsed(NetworkStream.StreamId, T1, [Lakeside, Riverside], new EndorsementPolicyChanged("AND(home, OutOf(1, *))"));
        // After the change's grace (EndorsementChecker.NetworkChangeGrace), so only the new policy holds.
        var patient = _ledger.Patient(Northside, T1.AddMinutes(5), Northside, Lakeside);
        _ledger.Endorsed(patient, T1.AddMinutes(6), [Lakeside, Riverside], Corrected());
        _ledger.Endorsed(patient, T1.AddMinutes(7), [Northside], Corrected(1980));
        _ledger.Endorsed(patient, T1.AddMinutes(8), [Riverside, Northside], Corrected(1981));

        var report = await VerifyAsync(_ledger.Stream(patient));

        Assert.Equal([(1L, VerificationCodes.PolicyNotMet), (2L, VerificationCodes.PolicyNotMet)], report.Problems.Select(p => (p.Version, p.Code)));
        Assert.Contains("northside (home)", report.Problems[0].Message);
    }

    [Fact]
    public async Task The_policy_in_force_at_the_time_applies()
    {
        var patient = _ledger.Patient(Northside, T1, Northside, Lakeside);
        _ledger.Endorsed(NetworkStream.StreamId, T1.AddMinutes(1), [Lakeside, Riverside], new EndorsementPolicyChanged("OutOf(1, *)"));
        _ledger.Endorsed(patient, T1.AddMinutes(2), [Riverside], Corrected());

        Assert.True((await VerifyAsync(_ledger.Stream(patient))).Verified);
    }

    [Fact]
    public async Task A_transaction_endorsed_under_the_policy_a_change_just_replaced_holds_only_during_the_grace()
    {
        // A submitter that had not yet read the stored change gathers the old policy's signatures (2 of 3) for a
        // command stamped just after the change (3 of 3): valid, since nobody could have known; not minutes later.
        var patient = _ledger.Patient(Northside, T1, Northside, Lakeside);
        _ledger.Endorsed(NetworkStream.StreamId, T1.AddMinutes(1), [Lakeside, Riverside], new EndorsementPolicyChanged("OutOf(3, *)"));
        _ledger.Endorsed(patient, T1.AddMinutes(1).AddSeconds(2), [Northside, Riverside], Corrected());
        _ledger.Endorsed(patient, T1.AddMinutes(1) + EndorsementChecker.NetworkChangeGrace + TimeSpan.FromSeconds(1), [Northside, Riverside], Corrected(1980));
        _ledger.Endorsed(patient, T1.AddMinutes(10), [Northside, Riverside, Lakeside], Corrected(1981));

        var problem = Single(await VerifyAsync(_ledger.Stream(patient)), VerificationCodes.PolicyNotMet, 2);

        Assert.Contains("needs all of lakeside, northside, riverside; has northside, riverside", problem.Message);
    }

    [Fact]
    public async Task A_rotated_key_keeps_old_signatures_valid_and_invalidates_new_ones()
    {
        var patient = _ledger.Patient(Northside, T1, Northside, Lakeside);
        var old = _ledger.KeyOf(Lakeside);
        var rotated = _ledger.Rotate(Lakeside, T1.AddMinutes(1), effectiveFrom: T1.AddMinutes(5), [Lakeside, Riverside]);
        SignedBy(patient, T1.AddMinutes(2), old);      // recorded after the rotation, before it takes effect
        SignedBy(patient, T1.AddMinutes(6), old);      // the old key after the new one took effect
        SignedBy(patient, T1.AddMinutes(7), rotated);

        var report = await VerifyAsync(_ledger.Stream(patient));

        Assert.Equal([(2L, VerificationCodes.WrongKey), (2L, VerificationCodes.PolicyNotMet)], report.Problems.Select(p => (p.Version, p.Code)));
        Assert.Contains($"its endorsement key at 2025-01-01T09:06:00.0000000+00:00 was '{PublicKeys.KeyId(rotated)}'", report.Problems[0].Message);
        Assert.True((await VerifyAsync(_ledger.Network)).Verified);

        void SignedBy(string stream, DateTimeOffset at, ECDsa lakesideKey)
        {
            var transaction = _ledger.Prepare(stream, at, "dr-x", Corrected());
            _ledger.Commit(transaction, EndorsementSignatures.BatchOfOne(transaction.FirstVersion, 1, transaction.Hash,
                [_ledger.Sign(Northside, transaction.Hash), _ledger.Sign(Lakeside, transaction.Hash, lakesideKey)]));
        }
    }

    [Fact]
    public async Task Transactions_endorsed_in_one_batch_verify_by_their_inclusion_paths()
    {
        var streams = new[] { _ledger.Patient(Northside, T1, Northside, Lakeside), _ledger.Patient(Lakeside, T1, Northside, Lakeside), _ledger.Patient(Riverside, T1, Northside, Lakeside) };
        var batch = streams.Select(s => _ledger.Prepare(s, T1.AddMinutes(1), "dr-x", Corrected())).ToList();
        var hashes = batch.Select(t => t.Hash).ToList();
        var root = EndorsementSignatures.BatchRoot(hashes);
        EndorsementSignature[] signatures = [_ledger.Sign(Northside, root), _ledger.Sign(Riverside, root)];
        for (var i = 0; i < batch.Count; i++)
            _ledger.Commit(batch[i], EndorsementSignatures.InBatch(1, 1, hashes, i, signatures));

        foreach (var stream in streams)
            Assert.True((await VerifyAsync(_ledger.Stream(stream))).Verified);

        var wrongPath = _ledger.Stream(streams[1]).ToList();
        var endorsement = wrongPath[1].Endorsement!;
        wrongPath[1] = wrongPath[1] with { Endorsement = endorsement with { InclusionPath = EndorsementSignatures.InBatch(1, 1, hashes, 0, signatures).InclusionPath } };
        Single(await VerifyAsync(wrongPath), VerificationCodes.BadInclusionPath, 1);

        var wrongLeaf = _ledger.Stream(streams[2]).ToList();
        wrongLeaf[1] = wrongLeaf[1] with { Endorsement = wrongLeaf[1].Endorsement! with { LeafIndex = 0 } };
        Single(await VerifyAsync(wrongLeaf), VerificationCodes.BadInclusionPath, 1);
    }

    [Fact]
    public async Task A_batch_of_one_must_sign_the_transaction_hash_itself()
    {
        var patient = _ledger.Patient(Northside, T1, Northside, Lakeside);
        var events = _ledger.Stream(patient).ToList();
        var other = SHA256.HashData([1, 2, 3]);
        events[0] = events[0] with
        {
            Endorsement = events[0].Endorsement! with { SignedRoot = other, Signatures = [_ledger.Sign(Northside, other), _ledger.Sign(Lakeside, other)] },
        };

        var problem = Single(await VerifyAsync(events), VerificationCodes.BadInclusionPath, 0);

        Assert.Contains("not the transaction hash", problem.Message);
    }

    [Fact]
    public async Task One_altered_copy_of_a_transactions_endorsement_is_reported_at_its_own_version()
    {
        var patient = _ledger.Patient(Northside, T1, Northside, Lakeside);
        _ledger.Endorsed(patient, T1.AddMinutes(1), [Northside, Lakeside], Corrected(1971), Corrected(1972), Corrected(1973));
        var events = _ledger.Stream(patient).ToList();
        var endorsement = events[2].Endorsement!;
        events[2] = events[2] with { Endorsement = endorsement with { Signatures = [endorsement.Signatures[0]] } };

        var problem = Single(await VerifyAsync(events), VerificationCodes.PolicyNotMet, 2);

        Assert.Contains("has northside", problem.Message);
    }

    [Fact]
    public async Task A_boundary_the_chain_cannot_see_is_reported_by_the_checker()
    {
        var patient = _ledger.Patient(Northside, T1, Northside, Lakeside);
        var events = _ledger.Stream(patient).ToList();
        events[0] = events[0] with { Endorsement = events[0].Endorsement! with { EventCount = 0 } };

        Single(await VerifyAsync(events), VerificationCodes.TransactionBoundary, 0);
    }

    [Fact]
    public async Task An_altered_event_is_reported_once_by_the_chain()
    {
        var patient = _ledger.Patient(Northside, T1, Northside, Lakeside);
        _ledger.Endorsed(patient, T1.AddMinutes(1), [Northside, Lakeside], Corrected(1971), Corrected(1972));
        var events = _ledger.Stream(patient).ToList();
        events[1] = events[1] with { Data = FlipByte(events[1].Data, 5) };

        Single(await VerifyAsync(events), VerificationCodes.HashMismatch, 1);
    }

    [Fact]
    public async Task A_rehashed_event_breaks_its_signatures_too()
    {
        var patient = _ledger.Patient(Northside, T1, Northside, Lakeside);
        var events = _ledger.Stream(patient).ToList();
        var altered = events[0] with { Data = FlipByte(events[0].Data, 5) };
        events[0] = altered with { Hash = HashChain.ComputeHash(altered) };

        var report = await VerifyAsync(events);

        Assert.Equal([(0L, VerificationCodes.BadInclusionPath)], report.Problems.Select(p => (p.Version, p.Code)));
    }
}
