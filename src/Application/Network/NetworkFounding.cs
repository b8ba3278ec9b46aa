using HealthEvents.Application.Ledger;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;

namespace HealthEvents.Application.Network;

/// <summary>
/// Tells which events of the network stream are its founding, the one transaction nobody endorses. Fed the stream's
/// events in version order (by the stream verifier, for every reader: verify, the ledger check, the network directory
/// that submitters and endorsers decide on).
/// <list type="bullet">
/// <item>With a complete pin (<see cref="FoundingPin"/>) the founding is versions 0 to its length - 1, whatever
/// the events' metadata says, and the last of them must have the pinned hash: an event appended right after the
/// founding with the founding's own metadata (same command id, actor <c>genesis</c>) is just an unendorsed event.
/// Each pinned event must be a founding event — unendorsed, made by the genesis actor under version 0's command id —
/// else the pin itself is wrong (lengthened over a later transaction) and is reported as a genesis mismatch.</item>
/// <item>Without one (no pin yet, an earlier release's pin of version 0 alone, or a verifier given no pin at all) the
/// founding is the first command: the events from version 0 on, in order, made by the actor <c>genesis</c> under version
/// 0's command id. Once that command ends (or the stream does), its length and last hash are handed to the pin
/// (<see cref="NetworkGenesisPin.Learn"/>): first sight, or an earlier release's pin completed.</item>
/// </list>
/// One instance per reading of the stream. Not thread-safe.
/// </summary>
public sealed class NetworkFounding(NetworkGenesisPin? pin)
{
    private Guid? _command;
    private bool _open = true; // still inside the founding command (while no complete pin decides)
    private long _events;
    private byte[]? _first;
    private byte[]? _last;
    private long _lastVersion = -1;
    private Guid? _pinnedCommand; // version 0's command id, which every pinned event must carry
    private bool _overreach;

    /// <summary>Whether <paramref name="e"/> belongs to the founding; a mismatch with the pin goes to <paramref name="report"/>.</summary>
    public bool Accept(EventEnvelope e, Action<VerificationProblem> report)
    {
        ArgumentNullException.ThrowIfNull(e);
        _lastVersion = Math.Max(_lastVersion, e.Version);
        if (pin?.Check(e) is { } mismatch) report(mismatch);
        if (pin?.Current is { IsComplete: true, Events: { } length })
        {
            if (e.Version >= length) return false;
            // The pin says where the founding ends, but only over the founding's own events: a pin lengthened over an
            // endorsed event (or anything another command wrote) would exempt it from endorsement. Reported once.
            if (!_overreach && NotFounding(e) is { } why)
            {
                _overreach = true;
                report(pin.Overreach(e.Version, why));
            }
            return true;
        }

        if (!_open) return false;
        if (e.Version == _events && FoundingCommandOf(e) is { } command && (_command is null ? e.Version == 0 : command == _command))
        {
            _command = command;
            _events++;
            _first ??= e.Hash;
            _last = e.Hash;
            return true;
        }
        Close();
        return false;
    }

    /// <summary>The stream has ended: a founding still open ends with it, and a complete pin must have been reached.</summary>
    public void Finish(Action<VerificationProblem> report)
    {
        if (pin?.CheckEnd(_lastVersion) is { } cut) report(cut);
        Close();
    }

    private void Close()
    {
        if (!_open) return;
        _open = false;
        if (_events > 0) pin?.Learn(new FoundingPin(_events, _last!), _first!);
    }

    /// <summary>Why <paramref name="e"/>, covered by a complete pin, is no founding event; null when it is one.</summary>
    private string? NotFounding(EventEnvelope e)
    {
        if (e.Endorsement is not null) return "it carries an endorsement";
        if (FoundingCommandOf(e) is not { } command) return "it was not made by the genesis actor";
        if (e.Version == 0) _pinnedCommand = command;
        return command == _pinnedCommand ? null : "it belongs to another command than version 0";
    }

    /// <summary>The command id of an event made by the genesis actor, or null (another actor, or unreadable metadata).</summary>
    private static Guid? FoundingCommandOf(EventEnvelope e)
    {
        try
        {
            var metadata = EventMetadata.FromBytes(e.Metadata);
            return metadata.ActorId == Domain.Common.SystemActors.Genesis ? metadata.CommandId : null;
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or InvalidDataException or NotSupportedException or ArgumentException)
        {
            return null;
        }
    }
}
