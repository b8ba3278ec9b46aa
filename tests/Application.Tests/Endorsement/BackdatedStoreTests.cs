using System.Security.Cryptography;
using HealthEvents.Application.Endorsement;
using HealthEvents.Application.Ledger;
using HealthEvents.Application.Network;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Network;
using HealthEvents.Domain.Ledger;
using static HealthEvents.Application.Tests.Endorsement.TestLedger;

namespace HealthEvents.Application.Tests.Endorsement;

/// <summary>
/// A transaction's metadata time is whatever its writer chose; where it sits in the global log is not. Lakeside rotates
/// its endorsement key (the old one was stolen); the ledger's endorsed tree heads, stored after the rotation, date
/// everything the log holds after them. A real PostgreSQL store, verified whole as <c>./run.sh verify</c> does.
/// </summary>
[Collection(nameof(WholeLogCollection))] // reads the global log: alone on the cluster
public sealed class BackdatedStoreTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T1 = T0.AddHours(1);
    private readonly TestLedger _ledger = new();
    private StoreDatabase _database = null!;
    private ECDsa _retiredLakesideKey = null!;
    private string _patient = "";

    public async Task InitializeAsync()
    {
        _database = await StoreDatabase.CreateAsync();
        _patient = _ledger.Patient(Northside, T1, Northside, Lakeside);
        Head(T1.AddMinutes(1));
        _retiredLakesideKey = _ledger.KeyOf(Lakeside);
        _ledger.Rotate(Lakeside, T1.AddMinutes(10), effectiveFrom: T1.AddMinutes(10), [Lakeside, Riverside]);
    }

    public async Task DisposeAsync()
    {
        await _database.DisposeAsync();
        _ledger.Dispose();
    }

    [Fact]
    public async Task A_transaction_signed_with_a_retired_key_and_stamped_before_the_heads_stored_ahead_of_it_is_backdated()
    {
        Head(T1.AddMinutes(30));
        // Northside colludes with whoever stole Lakeside's old key: stamped when that key was still valid, stored after the head of T1+30.
        var forged = SignedBy(T1.AddMinutes(5), _retiredLakesideKey);

        var report = await VerifyStoreAsync();

        var broken = Assert.Single(report.BrokenStreams);
        Assert.Equal((_patient, forged), (broken.StreamId, broken.FirstBrokenVersion));
        // Judged no earlier than the heads before it allow (T1+25), when Lakeside's key was the new one.
        Assert.Equal(
            [(forged, VerificationCodes.Backdated), (forged, VerificationCodes.WrongKey), (forged, VerificationCodes.PolicyNotMet)],
            broken.Problems.Select(p => (p.Version, p.Code)));
    }

    [Fact]
    public async Task A_network_change_signed_with_a_retired_key_and_stamped_back_is_backdated_too()
    {
        Head(T1.AddMinutes(30));
        var forged = SignedBy(T1.AddMinutes(5), _retiredLakesideKey, NetworkStream.StreamId, new ResearcherRegistered("r-thief", "Nowhere Labs"));

        var report = await VerifyStoreAsync();

        var broken = Assert.Single(report.BrokenStreams);
        Assert.Equal((NetworkStream.StreamId, forged), (broken.StreamId, broken.FirstBrokenVersion));
        Assert.Equal([VerificationCodes.Backdated, VerificationCodes.WrongKey, VerificationCodes.PolicyNotMet], broken.Problems.Select(p => p.Code));
    }

    [Fact]
    public async Task Honest_transactions_in_flight_around_a_head_and_a_rotation_still_verify()
    {
        Head(T1.AddMinutes(12));
        SignedBy(T1.AddMinutes(9), _retiredLakesideKey);          // stamped before the rotation, stored after a head three minutes later
        Head(T1.AddMinutes(30));
        SignedBy(T1.AddMinutes(26), _ledger.KeyOf(Lakeside));     // four minutes behind the head before it: the tolerance
        SignedBy(T1.AddMinutes(31), _ledger.KeyOf(Lakeside));

        var report = await VerifyStoreAsync();

        Assert.True(report.Verified, string.Join("; ", report.Problems));
    }

    [Fact]
    public async Task Only_an_endorsed_head_dates_what_follows_it()
    {
        // A "head" nobody endorsed, stamped far ahead: reported itself, and no honest transaction after it is backdated.
        _ledger.Unendorsed(LedgerStream.StreamId, T1.AddDays(1), "ledger-builder", new TreeHeadSigned(3, new string('0', 64), T1.AddDays(1)));
        SignedBy(T1.AddMinutes(11), _ledger.KeyOf(Lakeside));

        var report = await VerifyStoreAsync();

        var broken = Assert.Single(report.BrokenStreams);
        Assert.Equal((LedgerStream.StreamId, VerificationCodes.Unendorsed), (broken.StreamId, broken.Problems.Single().Code));
    }

    /// <summary>A tree head (size and root do not matter here: LedgerVerifier checks the latest against the log).</summary>
    private void Head(DateTimeOffset at) =>
        _ledger.Endorsed(LedgerStream.StreamId, at, [Northside, Riverside], new TreeHeadSigned(1, new string('0', 64), at));

    /// <summary>A transaction endorsed by Northside and by Lakeside with <paramref name="lakesideKey"/>; by default a correction of the patient.</summary>
    private long SignedBy(DateTimeOffset at, ECDsa lakesideKey, string? stream = null, IEvent? change = null)
    {
        var transaction = _ledger.Prepare(stream ?? _patient, at, "dr-x", change ?? Corrected());
        _ledger.Commit(transaction, EndorsementSignatures.BatchOfOne(transaction.FirstVersion, 1, transaction.Hash,
            [_ledger.Sign(Northside, transaction.Hash), _ledger.Sign(Lakeside, transaction.Hash, lakesideKey)]));
        return transaction.FirstVersion;
    }

    private async Task<StoreVerificationReport> VerifyStoreAsync()
    {
        await _ledger.WriteToAsync(_database.Store);
        return await StoreVerifier.VerifyAsync(_database.Store,
            new StoreVerifierOptions { EndorsementChecker = await EndorsementChecker.LoadAsync(_database.Store, Serializer) });
    }
}
