using HealthEvents.Application.Commands;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Ledger;
using HealthEvents.Application.Network;
using HealthEvents.Application.Patients;
using HealthEvents.Application.Research;
using HealthEvents.Domain.Ledger;
using HealthEvents.Domain.Network;
using HealthEvents.Domain.Patients;
using HealthEvents.Domain.Research;

namespace HealthEvents.Application.Endorsement;

/// <summary>A re-execution's result, untyped: where the stream stood and the envelopes the command produced there.</summary>
public sealed record Reexecution(long LastVersion, byte[] LastHash, IReadOnlyList<EventEnvelope> Envelopes);

/// <summary>Which decider owns a stream, so an endorser can re-run any proposal it receives.</summary>
public sealed class StreamDeciders(CommandDecider decider)
{
    /// <summary>Re-runs the command against the stream as of <paramref name="expectedVersion"/> (read further only if this node has not seen that far).</summary>
    public async Task<Reexecution> DecideAsync(string streamId, object command, DateTimeOffset at, CommandContext context, long expectedVersion, CancellationToken ct)
    {
        switch (command)
        {
            // Only the canonical stream of the patient the command names: no second spelling of the same patient.
            case IPatientCommand patient when PatientStream.TryParseStreamId(streamId, out var patientId)
                                              && (patient is not RegisterPatient register || register.PatientId == patientId):
                var p = await decider.DecideAsync<PatientDecider, PatientState, IPatientCommand, IPatientEvent>(streamId, patient, at, context, ct, expectedVersion);
                return new(p.LastVersion, p.LastHash, p.Envelopes);
            case INetworkCommand network when streamId == NetworkStream.StreamId:
                var n = await decider.DecideAsync<NetworkDecider, NetworkState, INetworkCommand, INetworkEvent>(streamId, network, at, context, ct, expectedVersion);
                return new(n.LastVersion, n.LastHash, n.Envelopes);
            case IResearchCommand research when streamId == ResearchStream.StreamId:
                var r = await decider.DecideAsync<ResearchDecider, ResearchState, IResearchCommand, IResearchEvent>(streamId, research, at, context, ct, expectedVersion);
                return new(r.LastVersion, r.LastHash, r.Envelopes);
            case ILedgerCommand ledger when streamId == LedgerStream.StreamId:
                var l = await decider.DecideAsync<LedgerDecider, LedgerState, ILedgerCommand, ILedgerEvent>(streamId, ledger, at, context, ct, expectedVersion);
                return new(l.LastVersion, l.LastHash, l.Envelopes);
            default:
                throw new ArgumentException("The command does not belong to this stream.");
        }
    }
}
