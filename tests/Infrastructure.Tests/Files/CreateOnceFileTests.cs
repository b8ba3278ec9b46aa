using HealthEvents.Infrastructure.Files;

namespace HealthEvents.Infrastructure.Tests.Files;

public sealed class CreateOnceFileTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "healthevents-once-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public void Creates_once_owner_only_then_reads_what_is_there_leaving_nothing_beside_it()
    {
        var path = Path.Combine(_folder, "secrets", "a.secret");

        var first = CreateOnceFile.ReadOrCreate(path, () => "first\n", out var created);
        var second = CreateOnceFile.ReadOrCreate(path, () => "second", out var createdAgain);

        Assert.Equal(("first", true), (first, created));
        Assert.Equal(("first", false), (second, createdAgain));
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.Equal([path], Directory.GetFiles(Path.GetDirectoryName(path)!)); // no lock or temporary file left
    }

    [Fact]
    public async Task Of_many_creators_at_once_exactly_one_writes_and_all_read_its_text()
    {
        for (var round = 0; round < 50; round++)
        {
            var path = Path.Combine(_folder, $"round-{round}", "value");
            using var start = new Barrier(16);
            var results = await Task.WhenAll(Enumerable.Range(0, 16).Select(i => Task.Factory.StartNew(() =>
            {
                start.SignalAndWait();
                var text = CreateOnceFile.ReadOrCreate(path, () => $"creator-{i}", out var created);
                return (text, created);
            }, TaskCreationOptions.LongRunning)));

            Assert.Single(results, r => r.created);
            Assert.Single(results.Select(r => r.text).Distinct());
        }
    }

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }
}
