using System.Security.Cryptography;
using HealthEvents.Application.Ledger;

namespace HealthEvents.Application.Tests.Ledger;

public sealed class MerkleFrontierTests
{
    [Fact]
    public void Root_after_each_append_equals_the_root_of_all_leaves_so_far()
    {
        var leaves = Enumerable.Range(0, 70).Select(_ => RandomNumberGenerator.GetBytes(32)).ToList();
        var frontier = new MerkleFrontier();
        Assert.Equal(MerkleTree.EmptyRoot, frontier.Root());

        for (var n = 1; n <= leaves.Count; n++)
        {
            frontier.Append(leaves[n - 1]);
            Assert.Equal(n, frontier.Size);
            Assert.Equal(MerkleTree.Root(leaves.Take(n).ToList()), frontier.Root());
        }
    }
}
