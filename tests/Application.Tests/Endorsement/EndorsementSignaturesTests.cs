using System.Security.Cryptography;
using HealthEvents.Application.Endorsement;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Ledger;
using HealthEvents.Infrastructure.Identity;
using static HealthEvents.Application.Tests.Ledger.Chains;

namespace HealthEvents.Application.Tests.Endorsement;

public sealed class EndorsementSignaturesTests
{
    private static byte[] Hash(int n) => SHA256.HashData(BitConverter.GetBytes(n));

    [Fact]
    public void A_signature_verifies_against_the_public_key_as_the_network_stream_carries_it()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var root = Hash(1);

        var signature = EndorsementSignatures.Sign(key, root);

        Assert.Equal(EndorsementSignatures.SignatureSize, signature.Length);
        Assert.True(EndorsementSignatures.Verify(PublicKeys.Export(key), root, signature));
        // IEEE P1363, exactly as the design says: the BCL's own verifier in that format agrees.
        Assert.True(key.VerifyData(root, signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation));
    }

    [Fact]
    public void Anything_altered_does_not_verify()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var root = Hash(1);
        var signature = EndorsementSignatures.Sign(key, root);
        var publicKey = PublicKeys.Export(key);

        Assert.False(EndorsementSignatures.Verify(publicKey, FlipByte(root), signature));
        Assert.False(EndorsementSignatures.Verify(publicKey, root, FlipByte(signature, 10)));
        Assert.False(EndorsementSignatures.Verify(PublicKeys.Export(other), root, signature));
        Assert.False(EndorsementSignatures.Verify(publicKey, root, signature[..63]));
        Assert.False(EndorsementSignatures.Verify(publicKey, root, key.SignData(root, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence)));
    }

    [Theory]
    [InlineData("")]
    [InlineData("not base64!")]
    [InlineData("AAAA")]
    public void A_malformed_public_key_verifies_nothing(string publicKey)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var root = Hash(1);

        Assert.False(EndorsementSignatures.Verify(publicKey, root, EndorsementSignatures.Sign(key, root)));
    }

    [Fact]
    public void Keys_of_other_curves_are_refused()
    {
        using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var root = Hash(1);

        Assert.Throws<ArgumentException>(() => EndorsementSignatures.Sign(p384, root));
        var signature = p384.SignData(root, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        Assert.False(EndorsementSignatures.Verify(PublicKeys.Export(p384), root, signature));
    }

    [Fact]
    public void A_batch_of_one_signs_the_transaction_hash_itself()
    {
        var hash = Hash(7);

        var endorsement = EndorsementSignatures.BatchOfOne(3, 2, hash, []);

        Assert.Equal((3L, 2, 0L, 1L), (endorsement.FirstVersion, endorsement.EventCount, endorsement.LeafIndex, endorsement.BatchSize));
        Assert.Equal(hash, endorsement.SignedRoot);
        Assert.Empty(endorsement.InclusionPath);
        Assert.Null(EndorsementSignatures.RootProblem(endorsement, hash));
        Assert.NotNull(EndorsementSignatures.RootProblem(endorsement, Hash(8)));
        Assert.NotNull(EndorsementSignatures.RootProblem(endorsement with { InclusionPath = [Hash(8)] }, hash));
    }

    [Fact]
    public void Each_transaction_of_a_batch_is_proven_under_the_one_signed_root()
    {
        byte[][] batch = [Hash(1), Hash(2), Hash(3)];
        var root = EndorsementSignatures.BatchRoot(batch);
        Assert.Equal(MerkleTree.Root(batch), root);

        for (var i = 0; i < batch.Length; i++)
        {
            var endorsement = EndorsementSignatures.InBatch(10, 1, batch, i, []);

            Assert.Equal(root, endorsement.SignedRoot);
            Assert.Equal((i, 3L), ((int)endorsement.LeafIndex, endorsement.BatchSize));
            Assert.Null(EndorsementSignatures.RootProblem(endorsement, batch[i]));
            Assert.NotNull(EndorsementSignatures.RootProblem(endorsement, batch[(i + 1) % 3]));
            Assert.NotNull(EndorsementSignatures.RootProblem(endorsement with { LeafIndex = (i + 1) % 3 }, batch[i]));
            Assert.NotNull(EndorsementSignatures.RootProblem(endorsement with { InclusionPath = [FlipByte(endorsement.InclusionPath[0]), .. endorsement.InclusionPath.Skip(1)] }, batch[i]));
            Assert.NotNull(EndorsementSignatures.RootProblem(endorsement with { LeafIndex = 3 }, batch[i]));
            Assert.NotNull(EndorsementSignatures.RootProblem(endorsement with { SignedRoot = root[..16] }, batch[i]));
        }
    }

    [Fact]
    public void A_batch_of_one_built_as_a_batch_is_still_the_bare_hash()
    {
        var endorsement = EndorsementSignatures.InBatch(0, 1, [Hash(1)], 0, [new EndorsementSignature("h", "k", new byte[64])]);

        Assert.Equal(Hash(1), endorsement.SignedRoot);
        Assert.Equal(1, endorsement.BatchSize);
        Assert.Single(endorsement.Signatures);
    }
}
