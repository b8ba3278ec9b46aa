using HealthEvents.Application.Ports;
using HealthEvents.Infrastructure.EventStoreDb;
using HealthEvents.Infrastructure.Tests.EventStore;

namespace HealthEvents.Infrastructure.Tests.EventStoreDb;

// The conformance suite on EventStoreDB, concern by concern (see EventStoreDbUnderTest for the server it runs on).
public sealed class EventStoreDbAppendTests() : AppendConformance(new EventStoreDbUnderTest());

public sealed class EventStoreDbReadTests() : ReadConformance(new EventStoreDbUnderTest());

public sealed class EventStoreDbGlobalLogTests() : GlobalLogConformance(new EventStoreDbUnderTest());

public sealed class EventStoreDbSubscriptionTests() : SubscriptionConformance(new EventStoreDbUnderTest());

public sealed class EventStoreDbIdempotencyTests() : IdempotencyConformance(new EventStoreDbUnderTest());

/// <summary>
/// EventStoreDB under the suite: the server <c>HEALTHEVENTS_ESDB</c> names (for example
/// <c>esdb://127.0.0.1:2113?tls=false</c>, see docker-compose.yml). Without it every test reports Skipped with the
/// reason: there is no server here, and none is faked. Tests share the server, so each test names its streams with
/// a prefix of its own and sees only its streams, in the part of $all after the position its store was created at.
/// </summary>
public sealed class EventStoreDbUnderTest : StoreUnderTest
{
    public const string Variable = "HEALTHEVENTS_ESDB";
    public const string SkipReason = "HEALTHEVENTS_ESDB is not set: no EventStoreDB server to test against";

    private readonly string _prefix = $"patient-t{Guid.NewGuid():N}"[..17] + "-";
    private GlobalPosition? _origin;
    private bool _originTaken;

    public override bool OwnsWholeLog => false;
    public override string StreamPrefix => _prefix;
    public override GlobalPosition? LogOrigin => _origin;

    public override async Task<IEventStore> CreateStoreAsync()
    {
        var connectionString = Environment.GetEnvironmentVariable(Variable);
        Skip.If(string.IsNullOrWhiteSpace(connectionString), SkipReason);
        var store = new EventStoreDbEventStore(connectionString!);
        if (!_originTaken)
        {
            _origin = await store.ReadLastPositionAsync();
            _originTaken = true;
        }
        return store;
    }
}
