using System.Text.Json;
using HealthEvents.Application.Commands;
using HealthEvents.Application.Endorsement;
using HealthEvents.Application.Ledger;
using HealthEvents.Application.Network;
using HealthEvents.Application.Ports;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Network;
using HealthEvents.Domain.Patients;
using HealthEvents.Infrastructure.Endorsement;
using HealthEvents.Infrastructure.Identity;
using HealthEvents.Infrastructure.Postgres;
using HealthEvents.TestSupport;
using Npgsql;
using static HealthEvents.Application.Tests.Endorsement.TestLedger;

namespace HealthEvents.Application.Tests.Endorsement;

/// <summary>
/// The network's founding (version 0 of the network stream) is endorsed by nobody, so whoever can write the store can
/// replace the whole history — a founding with keys of their own, and their own signatures on everything after — and
/// every chain, signature and policy holds. A real PostgreSQL store is so rewritten; only the founding this node pinned
/// in its own data folder (a real file) tells, and every reader of the network refuses it: the verifiers, the ledger
/// check and an endorser's own reading.
/// </summary>
[Collection(nameof(WholeLogCollection))] // reads the global log: alone on the cluster
public sealed class GenesisPinTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T1 = T0.AddHours(1);
    private readonly TestLedger _genuine = new();
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "he-pin-" + Guid.NewGuid().ToString("N"));
    private StoreDatabase _database = null!;

    private PostgresEventStore Store => _database.Store;

    private NpgsqlDataSource DataSource => _database.DataSource;

    private string PinPath => Path.Combine(_folder, GenesisPinFile.FileName);

    public async Task InitializeAsync()
    {
        _database = await StoreDatabase.CreateAsync();
        var patient = _genuine.Patient(Northside, T1, Northside, Lakeside);
        _genuine.Endorsed(patient, T1.AddMinutes(1), [Riverside, Lakeside], Corrected(1971));
        await _genuine.WriteToAsync(Store);
    }

    public async Task DisposeAsync()
    {
        await _database.DisposeAsync();
        _genuine.Dispose();
        try { Directory.Delete(_folder, recursive: true); } catch (DirectoryNotFoundException) { }
    }

    [Fact]
    public async Task The_founding_is_pinned_on_first_sight_in_the_data_folder_and_read_back_from_it()
    {
        var pin = NewPin();
        Assert.Null(pin.Hex());

        var report = await StoreVerifier.VerifyAsync(Store, new StoreVerifierOptions { EndorsementChecker = await CheckerAsync(), Genesis = pin });

        Assert.True(report.Verified, string.Join("; ", report.Problems));
        var founding = FoundingOf(_genuine).ToString();
        Assert.StartsWith("3:", founding); // the three founding members' events, and the last one's hash
        Assert.True(pin.PinnedOnFirstSight);
        Assert.Equal(founding + "\n", await File.ReadAllTextAsync(PinPath));
        var again = NewPin();
        Assert.Equal(founding, again.Hex());
        Assert.False(again.PinnedOnFirstSight);
    }

    [Fact]
    public async Task A_history_replaced_from_its_founding_verifies_by_itself_and_fails_only_at_the_pinned_founding()
    {
        var pin = NewPin();
        pin.Founded(3, _genuine.Network[2].Hash);
        await using var store = await ReplaceHistoryAsync();

        // The gap: judged by the store's own founding, the forged history holds everywhere.
        var unpinned = await StoreVerifier.VerifyAsync(store, new StoreVerifierOptions { EndorsementChecker = await CheckerAsync(store) });
        Assert.True(unpinned.Verified, string.Join("; ", unpinned.Problems));

        var pinned = await StoreVerifier.VerifyAsync(store, new StoreVerifierOptions { EndorsementChecker = await CheckerAsync(store), Genesis = pin });
        var broken = Assert.Single(pinned.BrokenStreams);
        Assert.Equal((NetworkStream.StreamId, 0L), (broken.StreamId, broken.FirstBrokenVersion));
        Assert.Equal(VerificationCodes.GenesisMismatch, Assert.Single(broken.Problems).Code);

        var network = await StreamVerifier.VerifyAsync(store.ReadStreamAsync(NetworkStream.StreamId),
            new StreamVerifierOptions { EndorsementChecker = await CheckerAsync(store), Genesis = pin });
        Assert.Equal((0L, VerificationCodes.GenesisMismatch), (network.FirstBrokenVersion, Assert.Single(network.Problems).Code));
        // The pin is never replaced by what a store shows later.
        Assert.Equal(FoundingOf(_genuine).ToString(), NewPin().Hex());
    }

    [Fact]
    public async Task The_ledger_check_refuses_a_head_signed_over_a_replaced_history()
    {
        var pin = NewPin();
        pin.Founded(3, _genuine.Network[2].Hash);
        await using var store = await ReplaceHistoryAsync();
        // The root a forger would sign over their log: everything but the ledger stream, in log order.
        var frontier = new MerkleFrontier();
        foreach (var e in await store.ReadAllAsync(null, 1000)) if (LedgerStream.IsLeaf(e.StreamId)) frontier.Append(e.Hash);

        Assert.True((await new LedgerVerifier(store).VerifyAsync(frontier.Size, frontier.Root())).Verified);
        var check = await new LedgerVerifier(store, pin).VerifyAsync(frontier.Size, frontier.Root());

        Assert.False(check.Verified);
        Assert.Equal(VerificationCodes.GenesisMismatch, check.Genesis?.Code);
    }

    [Fact]
    public async Task An_endorser_reading_a_replaced_network_endorses_nothing()
    {
        var pin = NewPin();
        pin.Founded(3, _genuine.Network[2].Hash);
        await using var store = await ReplaceHistoryAsync();

        var directory = new NetworkDirectory(store, Serializer, genesis: pin);
        Assert.Empty((await directory.RefreshAsync()).Hospitals); // nothing of another founding counts
        Assert.Equal((0L, VerificationCodes.GenesisMismatch), (directory.Untrusted?.Version, directory.Untrusted?.Code));

        var endorser = Endorser.Independent(store, Serializer, new SystemClock(), EndorsementOptions.Default, pin);
        var actor = new Actor("alice", Role.Patient, Northside, Guid.NewGuid());
        var (type, json) = CommandCodec.Encode(new ForgetPatient(actor, DateTimeOffset.UtcNow));
        var request = new EndorsementRequest("patient-" + actor.PatientId, 0, new byte[32], type, json, actor, Guid.NewGuid(), Guid.NewGuid(),
            DateTimeOffset.UtcNow, [], new byte[32], Northside, [], null);
        var keys = new KeyringKeys(new HospitalKeyring(Path.Combine(_folder, "keys")), Riverside, HospitalKeyUse.Endorsement);

        var reply = await endorser.EndorseAsync(request, keys, CancellationToken.None);

        Assert.Null(reply.Signature);
        Assert.Contains("genesis-mismatch", reply.Reason);
    }

    [Fact]
    public async Task A_network_reading_cancelled_after_its_read_is_folded_by_the_next_one()
    {
        var store = new InterferingStore(Store);
        var directory = new NetworkDirectory(store, Serializer, genesis: NewPin());
        using var gone = new CancellationTokenSource();
        store.AfterRead = gone.Cancel; // the caller gives up once the events are read, before they are folded

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => directory.RefreshAsync(gone.Token));
        store.AfterRead = null;
        var network = await directory.RefreshAsync();

        Assert.True(network.IsMember(Northside) && network.IsMember(Lakeside) && network.IsMember(Riverside));
    }

    [Fact]
    public void An_operators_expected_founding_is_pinned_and_a_pin_that_disagrees_stops_the_node()
    {
        var expected = FoundingOf(_genuine);
        var configured = new NetworkGenesisPin(new GenesisPinFile(PinPath), expected);
        Assert.Equal(expected.ToString(), configured.Hex());
        Assert.Equal(expected.ToString(), File.ReadAllText(PinPath).Trim());

        var other = (byte[])expected.Hash.Clone();
        other[0] ^= 1;
        var refusal = Assert.Throws<InvalidOperationException>(() => new NetworkGenesisPin(new GenesisPinFile(PinPath), expected with { Hash = other }));
        Assert.Contains(PinPath, refusal.Message);
        // The same hash with another length names another founding end.
        refusal = Assert.Throws<InvalidOperationException>(() => new NetworkGenesisPin(new GenesisPinFile(PinPath), expected with { Events = 2 }));
        Assert.Contains(PinPath, refusal.Message);

        File.WriteAllText(PinPath, "not a hash");
        Assert.Throws<InvalidDataException>(() => NewPin());
    }

    /// <summary>
    /// Someone with write access to PostgreSQL appends a member right after the founding, linked into the chain and
    /// carrying version 0's metadata (the founding's command id, the genesis actor), so that by metadata it reads as
    /// more of the founding, which nobody endorses. The pin names the founding's length and last hash: the event is
    /// no part of it, so it is unendorsed at its exact version for the verifier, and the network directory stops before it.
    /// </summary>
    [Fact]
    public async Task An_event_passed_off_as_more_of_the_founding_is_unendorsed_at_its_version()
    {
        var pin = NewPin();
        pin.Founded(3, _genuine.Network[2].Hash);
        var mallory = new HospitalJoined("mallory", "Mallory General", "http://127.0.0.1:9/", "mallory-e1", "AAAA", "mallory-i1", "AAAA");
        await Store.AppendAsync(NetworkStream.StreamId, ExpectedVersion.Exactly(2),
            [new ProposedEvent(Guid.NewGuid(), Serializer.NameOf(mallory), Serializer.Serialize(mallory), _genuine.Network[0].Metadata)]);

        var report = await StoreVerifier.VerifyAsync(Store, new StoreVerifierOptions { EndorsementChecker = await CheckerAsync(), Genesis = pin });
        var broken = Assert.Single(report.BrokenStreams);
        Assert.Equal((NetworkStream.StreamId, 3L), (broken.StreamId, broken.FirstBrokenVersion));
        Assert.Equal(VerificationCodes.Unendorsed, Assert.Single(broken.Problems).Code);

        var directory = new NetworkDirectory(Store, Serializer, genesis: pin);
        Assert.DoesNotContain("mallory", (await directory.RefreshAsync()).Hospitals.Keys);
        Assert.Equal((3L, VerificationCodes.Unendorsed), (directory.Untrusted?.Version, directory.Untrusted?.Code));
        var refused = await Assert.ThrowsAsync<DamagedStreamException>(() => directory.ReadVerifiedAsync(0));
        Assert.Equal((NetworkStream.StreamId, 3L), (refused.StreamId, refused.Version));
    }

    /// <summary>
    /// A pin lengthened by one over the endorsed transaction after the founding (an operator's wrong
    /// <c>HealthEvents:GenesisHash</c>, a pin file edited) would exempt that transaction, and any like it, from endorsement.
    /// Every pinned event must be a founding event: the pin is refused by the verifier and by the network directory, whose
    /// refusal is what stops a node from starting.
    /// </summary>
    [Fact]
    public async Task A_pin_lengthened_over_an_endorsed_event_is_refused()
    {
        _genuine.Rotate(Riverside, T1.AddMinutes(2), T1.AddMinutes(2), [Northside, Lakeside]);
        await _genuine.WriteToAsync(Store); // the transactions already stored are replayed idempotently
        Assert.NotNull(_genuine.Network[3].Endorsement);
        var pin = new NetworkGenesisPin(new GenesisPinFile(PinPath), new FoundingPin(4, _genuine.Network[3].Hash));

        var report = await StoreVerifier.VerifyAsync(Store, new StoreVerifierOptions { EndorsementChecker = await CheckerAsync(), Genesis = pin });
        var problem = Assert.Single(report.Problems);
        Assert.Equal((NetworkStream.StreamId, 0L, VerificationCodes.GenesisMismatch), (problem.StreamId, problem.Version, problem.Code));
        Assert.Contains("counts version 3 of the network stream as part of its founding, but it carries an endorsement", problem.Message);
        Assert.Contains(PinPath, problem.Message);

        var directory = new NetworkDirectory(Store, Serializer, genesis: pin);
        Assert.Empty((await directory.RefreshAsync()).Hospitals);
        Assert.Equal((0L, VerificationCodes.GenesisMismatch), (directory.Untrusted?.Version, directory.Untrusted?.Code));
        var refused = await Assert.ThrowsAsync<GenesisMismatchException>(() => directory.ReadVerifiedAsync(0));
        Assert.Contains("counts version 3", refused.Message);
    }

    /// <summary>A founding cut short (its last event gone) no longer reaches the pinned end: genesis-mismatch.</summary>
    [Fact]
    public async Task A_founding_cut_short_is_a_genesis_mismatch()
    {
        var pin = NewPin();
        pin.Founded(3, _genuine.Network[2].Hash);
        await using (var cut = DataSource.CreateCommand("DELETE FROM he_events WHERE stream_id = 'network' AND version = 2"))
            Assert.Equal(1, await cut.ExecuteNonQueryAsync());

        var network = await StreamVerifier.VerifyAsync(new PostgresEventStore(DataSource).ReadStreamAsync(NetworkStream.StreamId),
            new StreamVerifierOptions { EndorsementChecker = await CheckerAsync(), Genesis = pin });

        Assert.Contains(network.Problems, p => (p.Version, p.Code) == (0L, VerificationCodes.GenesisMismatch));
    }

    /// <summary>An earlier release pinned version 0's hash alone: the first reading completes it with the founding's length and last hash.</summary>
    [Fact]
    public async Task An_earlier_releases_pin_of_version_0_is_completed_on_first_reading()
    {
        await File.WriteAllTextAsync(Path.Combine(Directory.CreateDirectory(_folder).FullName, GenesisPinFile.FileName),
            Convert.ToHexStringLower(_genuine.Network[0].Hash) + "\n");
        var pin = NewPin();
        Assert.False(pin.Current!.IsComplete);

        var report = await StoreVerifier.VerifyAsync(Store, new StoreVerifierOptions { EndorsementChecker = await CheckerAsync(), Genesis = pin });

        Assert.True(report.Verified, string.Join("; ", report.Problems));
        Assert.Equal(FoundingOf(_genuine).ToString() + "\n", await File.ReadAllTextAsync(PinPath));
        Assert.False(pin.PinnedOnFirstSight);
    }

    // ------------------------------------------------------------------ helpers

    /// <summary>The founding of a test ledger whose network stream holds its founding only: its length and last hash.</summary>
    private static FoundingPin FoundingOf(TestLedger ledger)
    {
        Assert.All(ledger.Network, e => Assert.Null(e.Endorsement));
        return new FoundingPin(ledger.Network.Count, ledger.Network[^1].Hash);
    }

    private NetworkGenesisPin NewPin() => new(new GenesisPinFile(PinPath));

    private Task<EndorsementChecker> CheckerAsync(IEventStore? store = null) => EndorsementChecker.LoadAsync(store ?? Store, Serializer);

    /// <summary>
    /// The forger's history, written over the store's: a founding of three hospitals with keys of the forger's own, a
    /// patient and a change, all endorsed under those keys — chain-valid and signed throughout. A fresh store object
    /// reads it (the old one's stream heads remember the history it appended).
    /// </summary>
    private async Task<PostgresEventStore> ReplaceHistoryAsync()
    {
        using var forged = new TestLedger();
        var patient = forged.Patient(Northside, T1, Northside, Lakeside);
        forged.Endorsed(patient, T1.AddMinutes(1), [Riverside, Lakeside], Corrected(1990));
        await using (var wipe = DataSource.CreateCommand("DELETE FROM he_events"))
            Assert.True(await wipe.ExecuteNonQueryAsync() > 0);
        var store = new PostgresEventStore(DataSource);
        await forged.WriteToAsync(store);
        Assert.NotEqual(_genuine.Network[0].Hash, forged.Network[0].Hash);
        return store;
    }
}
