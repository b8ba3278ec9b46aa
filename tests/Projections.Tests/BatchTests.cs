using System.Text;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Patients;
using HealthEvents.Projections.Runner;

namespace HealthEvents.Projections.Tests;

/// <summary>A batch is one commit; an event no view can read inside it costs only itself.</summary>
public sealed class BatchTests : IAsyncLifetime
{
    private ProjectionDatabase _db = null!;

    public async Task InitializeAsync() => _db = await ProjectionDatabase.CreateAsync();

    public async Task DisposeAsync() => await _db.DisposeAsync();

    [Fact]
    public async Task A_live_batch_with_an_unreadable_event_applies_the_others_in_one_commit_and_moves_past_it()
    {
        var earlier = await _db.AppendManyAsync(10);
        var logger = new CapturingLogger<ProjectionRunner>();
        var runner = _db.NewRunner([new CountingProjection("a"), new CountingProjection("b")], logger: logger);
        var stream = $"patient-{Guid.NewGuid()}";
        AppendResult appended;
        await using (await runner.StartedAsync())
        {
            await runner.WaitForOrFailAsync(earlier[^1].Position!.Value);
            var revisions = new[] { (await _db.CheckpointAsync("a"))!.Revision, (await _db.CheckpointAsync("b"))!.Revision };

            // One append, one transaction: the subscription hands it to each projection as one batch, the bad event inside.
            appended = await _db.Events.AppendAsync(stream, ExpectedVersion.NoStream, [Good(), Bad(), Good()]);
            await runner.WaitForOrFailAsync(appended.Events[^1].Position!.Value);

            foreach (var (name, revision) in new[] { ("a", revisions[0]), ("b", revisions[1]) })
            {
                var checkpoint = (await _db.CheckpointAsync(name))!;
                Assert.Equal(appended.Events[^1].Position, checkpoint.Position);
                Assert.Equal(revision + 1, checkpoint.Revision); // the three events moved it once: one batch, one commit
                Assert.Equal(1, checkpoint.UnreadableEvents);
                Assert.Equal($"{stream}@1", checkpoint.LastUnreadable);
                Assert.Equal(13, checkpoint.EventsProcessed);
            }
        }
        var counts = await _db.AllAsync<AppliedCount>();
        foreach (var name in new[] { "a", "b" })
        {
            var mine = counts.Where(c => c.Projection == name).ToList();
            Assert.All(mine, c => Assert.Equal(1, c.Count));
            Assert.Equal(12, mine.Count); // the ten before and the two good ones of the batch
            Assert.DoesNotContain(mine, c => c.EventId == appended.Events[1].EventId);
        }
        Assert.Contains(logger.Lines, l => l.Message.Contains($"unreadable event {stream}@1", StringComparison.Ordinal));
        Assert.DoesNotContain(logger.Lines, l => l.Message.Contains("secret", StringComparison.Ordinal));
    }

    private static readonly byte[] Metadata =
        new EventMetadata("dr-a", Role.Physician, "h1", Guid.NewGuid(), Guid.NewGuid(), DateTimeOffset.UtcNow).ToBytes();

    private static ProposedEvent Good()
    {
        var e = new PatientDetailsCorrected(1970, Sex.Unknown, "ciphertext");
        return new ProposedEvent(Guid.NewGuid(), EventSerializer.Default.NameOf(e), EventSerializer.Default.Serialize(e), Metadata);
    }

    /// <summary>A known type whose data is not JSON (written past the service): no view can read it.</summary>
    private static ProposedEvent Bad() => new(Guid.NewGuid(), EventSerializer.Default.NameOf(new PatientDetailsCorrected(1970, Sex.Unknown, "x")),
        Encoding.UTF8.GetBytes("{\"birthYear\": \"secret"), Metadata);
}
