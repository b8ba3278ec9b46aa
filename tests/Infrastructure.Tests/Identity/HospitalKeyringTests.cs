using HealthEvents.Infrastructure.Identity;

namespace HealthEvents.Infrastructure.Tests.Identity;

public sealed class HospitalKeyringTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "healthevents-keyring-" + Guid.NewGuid().ToString("N"));

    /// <summary>
    /// A hospital's first key is made by whichever process needs it first (the service, a CLI verb): made by two at once,
    /// they must sign with the same key, or one signs with a key the network never recorded.
    /// </summary>
    [Fact]
    public async Task Processes_creating_a_hospitals_key_at_once_agree_on_one_key_and_one_secret()
    {
        var keyring = new HospitalKeyring(_folder);
        using var start = new Barrier(16);
        var made = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Factory.StartNew(() =>
        {
            start.SignalAndWait();
            using var key = keyring.GetOrCreate("northside", HospitalKeyUse.Endorsement);
            return (PublicKeys.Export(key), Convert.ToBase64String(keyring.Secret("northside", "pseudonyms")));
        }, TaskCreationOptions.LongRunning)));

        Assert.Single(made.Distinct());
        using var kept = keyring.GetOrCreate("northside", HospitalKeyUse.Endorsement);
        Assert.Equal(PublicKeys.Export(kept), made[0].Item1);
    }

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }
}
