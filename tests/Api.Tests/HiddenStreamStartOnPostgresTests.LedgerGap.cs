using HealthEvents.Application.Ledger;

namespace HealthEvents.Api.Tests;

public sealed partial class HiddenStreamStartOnPostgresTests
{
    /// <summary>
    /// The store writer deletes one honest tree head from the middle of the <c>ledger</c> stream (its row in <c>he_events</c>).
    /// The fold passes over an event there that does not read or link, "so that one event written past the service does not
    /// stop every later tree head"; one deleted must not either (today: a fresh node's signing fails on the missing version,
    /// every time, so once the nodes have restarted no head is ever signed again).
    /// </summary>
    [SkippableFact]
    public Task A_node_folding_the_ledger_stream_afresh_signs_heads_after_a_head_is_deleted_from_its_middle() =>
        AssertFreshNodeSignsAfterAsync(async () =>
            Assert.Equal(1, await Host.ExecuteSqlAsync($"DELETE FROM he_events WHERE stream_id = '{LedgerStream.StreamId}' AND version = 1")),
            "version 1 was deleted");
}
