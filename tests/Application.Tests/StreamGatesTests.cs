using HealthEvents.Application.Commands;

namespace HealthEvents.Application.Tests;

public sealed class StreamGatesTests
{
    [Fact]
    public async Task Commands_of_one_stream_take_turns_in_arrival_order_and_other_streams_do_not_wait()
    {
        var gates = new StreamGates();
        var first = await gates.EnterAsync("patient-a", default);
        var second = gates.EnterAsync("patient-a", default);
        var third = gates.EnterAsync("patient-a", default);
        using (await gates.EnterAsync("patient-b", default)) { } // another stream: its own gate, free

        Assert.False(second.IsCompleted);
        first.Dispose();
        (await second).Dispose();
        (await third).Dispose();
        Assert.Equal(0, gates.ActiveGates);
    }

    [Fact]
    public async Task A_full_queue_refuses_at_once_and_a_cancelled_wait_leaves_no_gate_behind()
    {
        var gates = new StreamGates(maxQueuedPerStream: 2);
        var holder = await gates.EnterAsync("patient-a", default);
        using var cancel = new CancellationTokenSource();
        var waiting = gates.EnterAsync("patient-a", cancel.Token);

        await Assert.ThrowsAsync<StreamBusyException>(() => gates.EnterAsync("patient-a", default));
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        holder.Dispose();
        Assert.Equal(0, gates.ActiveGates);
    }
}
