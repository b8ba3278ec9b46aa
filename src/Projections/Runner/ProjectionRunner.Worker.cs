using HealthEvents.Application.Ports;

namespace HealthEvents.Projections.Runner;

public sealed partial class ProjectionRunner
{
    /// <summary>One projection as this node runs it: its state for status, waits and the ledger signer.</summary>
    private sealed class Worker(IProjection projection)
    {
        private readonly Lock _gate = new();
        private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private GlobalPosition? _checkpoint;
        private long _events;
        private long _unreadable;
        private long _parked;
        private string? _lastParked;
        private DateTimeOffset? _updatedAt;
        private bool _runningHere;
        private bool _caughtUp;
        private string? _errorType;
        private GlobalPosition? _failingAt;
        private int _failures;

        public IProjection Projection { get; } = projection;
        public string Name => Projection.Name;

        /// <summary>Completes at the next change of this projection's state.</summary>
        public Task Changed
        {
            get { lock (_gate) return _changed.Task; }
        }

        public ProjectionStatus Snapshot()
        {
            lock (_gate)
                return new(Name, _checkpoint, _runningHere, _runningHere && _caughtUp, _events, _errorType, _failingAt, _failures, _updatedAt)
                    { UnreadableEvents = _unreadable, ParkedEvents = _parked, LastParked = _lastParked };
        }

        public void Loaded(ProjectionCheckpoint? c) => Update(() => SetCheckpoint(c));

        public void ObservedStored(ProjectionCheckpoint? c) => Update(() =>
        {
            if (!_runningHere) SetCheckpoint(c);
        });

        public void Applied(ProjectionCheckpoint c) => Update(() =>
        {
            SetCheckpoint(c);
            (_errorType, _failingAt, _failures) = (null, null, 0);
        });

        public void Failed(string errorType, GlobalPosition? at, int failures) => Update(() =>
        {
            (_errorType, _failingAt, _failures) = (errorType, at, failures);
            _caughtUp = false;
        });

        public void SetRunningHere(bool running) => Update(() =>
        {
            _runningHere = running;
            if (!running) _caughtUp = false;
        });

        public void SetCaughtUp(bool caughtUp) => Update(() => _caughtUp = caughtUp);

        private void SetCheckpoint(ProjectionCheckpoint? c)
        {
            _checkpoint = c?.Position;
            _events = c?.EventsProcessed ?? 0;
            _unreadable = c?.UnreadableEvents ?? 0;
            _parked = c?.ParkedEvents ?? 0;
            _lastParked = c?.LastParked;
            _updatedAt = c?.UpdatedAt;
        }

        private void Update(Action change)
        {
            TaskCompletionSource old;
            lock (_gate)
            {
                change();
                old = _changed;
                _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
            }
            old.TrySetResult();
        }
    }
}
