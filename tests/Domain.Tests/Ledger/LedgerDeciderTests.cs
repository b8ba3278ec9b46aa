using HealthEvents.Domain.Common;
using HealthEvents.Domain.Ledger;

namespace HealthEvents.Domain.Tests.Ledger;

public sealed class LedgerDeciderTests
{
    private static readonly Actor Builder = new(LedgerDecider.BuilderActorId, Role.Admin, "northside");
    private static readonly DateTimeOffset At = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly string Root = new('a', 64);

    [Fact]
    public void A_growing_head_is_signed_and_becomes_the_state()
    {
        var events = LedgerDecider.Decide(new SignTreeHead(10, Root, Builder, At), LedgerState.Empty);
        var head = Assert.IsType<TreeHeadSigned>(Assert.Single(events));
        Assert.Equal(new TreeHeadSigned(10, Root, At), head);
        Assert.Equal(new LedgerState(10, Root), LedgerDecider.Evolve(LedgerState.Empty, head));
    }

    [Theory]
    [InlineData(10, "tree-size-not-growing")]
    [InlineData(9, "tree-size-not-growing")]
    public void A_head_that_does_not_grow_the_tree_is_refused(long size, string code)
    {
        var e = Assert.Throws<RejectedException>(() => LedgerDecider.Decide(new SignTreeHead(size, Root, Builder, At), new LedgerState(10, Root)));
        Assert.Equal(code, e.Rejection.Code);
    }

    [Theory]
    [InlineData("")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("abc")]
    public void A_root_that_is_not_32_bytes_of_lowercase_hex_is_refused(string root) =>
        Assert.Equal("root-hash-invalid", Assert.Throws<RejectedException>(() =>
            LedgerDecider.Decide(new SignTreeHead(1, root, Builder, At), LedgerState.Empty)).Rejection.Code);

    [Fact]
    public void Only_the_ledger_builder_signs() =>
        Assert.Equal("ledger-builder-required", Assert.Throws<RejectedException>(() =>
            LedgerDecider.Decide(new SignTreeHead(1, Root, new Actor("someone", Role.Admin, "northside"), At), LedgerState.Empty)).Rejection.Code);
}
