using HealthEvents.Infrastructure.Crypto;
using Microsoft.Extensions.Configuration;

namespace HealthEvents.Infrastructure.Tests.Crypto;

public sealed class KeyEncryptionKeyTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "healthevents-kek-" + Guid.NewGuid().ToString("N"));

    private string KeyFile => Path.Combine(_folder, "keys", "key-encryption-key");

    [Fact]
    public void Is_created_once_owner_only_and_reused()
    {
        var first = KeyEncryptionKey.LoadOrCreate(KeyFile);
        var second = KeyEncryptionKey.LoadOrCreate(KeyFile);

        Assert.Equal(first.Id, second.Id);
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(KeyFile));
        Assert.Equal(32, Convert.FromBase64String(File.ReadAllText(KeyFile)).Length);
        Assert.Single(Directory.GetFiles(Path.GetDirectoryName(KeyFile)!)); // no temporary file left behind
    }

    /// <summary>
    /// Starters racing on a fresh data folder (a service and a CLI verb started together) must end with one key: a
    /// second key would wrap data keys that nobody can unwrap after the next start. Fifty fresh folders, sixteen
    /// starters each, released together, since one round rarely lands two in the window.
    /// </summary>
    [Fact]
    public async Task Processes_starting_at_once_agree_on_one_key()
    {
        for (var round = 0; round < 50; round++)
        {
            var file = Path.Combine(_folder, $"round-{round}", "keys", "kek.key");
            using var start = new Barrier(16);
            var keys = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Factory.StartNew(() =>
            {
                start.SignalAndWait();
                return KeyEncryptionKey.LoadOrCreate(file);
            }, TaskCreationOptions.LongRunning)));

            Assert.Single(keys.Select(k => k.Id).Distinct());
            Assert.Equal(KeyEncryptionKey.LoadOrCreate(file).Id, keys[0].Id); // and it is the one kept
        }
    }

    [Fact]
    public void Configuration_wins_over_the_file()
    {
        var configured = Convert.ToBase64String(new byte[32]);
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection([new(KeyEncryptionKey.ConfigurationKey, configured)])
            .Build();

        var key = KeyEncryptionKey.FromConfiguration(configuration, KeyFile);

        Assert.Equal(KeyEncryptionKey.FromBase64(configured).Id, key.Id);
        Assert.False(File.Exists(KeyFile));
    }

    [Fact]
    public void Without_configuration_the_file_is_used()
    {
        var key = KeyEncryptionKey.FromConfiguration(new ConfigurationBuilder().Build(), KeyFile);

        Assert.Equal(KeyEncryptionKey.LoadOrCreate(KeyFile).Id, key.Id);
    }

    [Theory]
    [InlineData("c2hvcnQ=")]
    [InlineData("not base64 at all")]
    public void A_malformed_key_is_refused_without_echoing_it(string value)
    {
        var error = Assert.Throws<InvalidOperationException>(() => KeyEncryptionKey.FromBase64(value));
        Assert.DoesNotContain(value, error.Message);
    }

    [Fact]
    public void Printing_a_key_does_not_reveal_it()
    {
        var key = KeyEncryptionKey.FromBase64(Convert.ToBase64String(Enumerable.Repeat((byte)7, 32).ToArray()));

        Assert.DoesNotContain(Convert.ToBase64String(Enumerable.Repeat((byte)7, 32).ToArray()), key.ToString());
    }

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }
}
