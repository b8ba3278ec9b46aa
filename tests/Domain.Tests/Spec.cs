namespace HealthEvents.Domain.Tests;

/// <summary>Given past events, when a command is decided, then these events (or this rejection).</summary>
public static class Spec<TDecider, TState, TCommand, TEvent>
    where TDecider : IDecider<TState, TCommand, TEvent>
    where TEvent : IEvent
{
    public static Scenario Given(params TEvent[] history) => new(history);

    public static TState Fold(params TEvent[] history) => history.Aggregate(TDecider.Initial, TDecider.Evolve);

    public sealed class Scenario(IReadOnlyList<TEvent> history)
    {
        public Outcome When(TCommand command) => new(Fold([.. history]), command);
    }

    public sealed class Outcome(TState state, TCommand command)
    {
        public void Then(params TEvent[] expected)
        {
            var actual = DecideOrFail();
            Assert.Equal(EventJson.Serialize(expected), EventJson.Serialize(actual));
            // Endorsers re-run Decide and must get the same bytes.
            Assert.Equal(EventJson.Serialize(actual), EventJson.Serialize(DecideOrFail()));
            _ = actual.Aggregate(state, TDecider.Evolve);
        }

        public void ThenFails(RejectionKind kind, string code)
        {
            var rejected = Assert.Throws<RejectedException>(() => TDecider.Decide(command, state));
            Assert.Equal((kind, code), (rejected.Rejection.Kind, rejected.Rejection.Code));
            Assert.Matches("^[a-z]+(-[a-z]+)*$", rejected.Rejection.Code);
            Assert.False(string.IsNullOrWhiteSpace(rejected.Rejection.Message));
        }

        private IReadOnlyList<TEvent> DecideOrFail()
        {
            try
            {
                return TDecider.Decide(command, state);
            }
            catch (RejectedException rejected)
            {
                Assert.Fail($"Expected events, but the command was rejected: {rejected.Rejection}");
                throw;
            }
        }
    }
}
