using HealthEvents.Application.Patients;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Network;
using HealthEvents.Domain.Patients;
using HealthEvents.Domain.Research;

namespace HealthEvents.Application.Research;

/// <summary>
/// What an endorser checks of a research publication against the patients' own streams before co-signing it: every
/// patient it names as used is registered and holds, at the command's time, each consent it cites — for research, to
/// read, granted to this researcher, their organisation or the researcher role — and those consents cover every
/// category named. Without it, the node vouching for a researcher could put a research use its patients never
/// allowed into their audit trails.
/// </summary>
public static class ResearchUses
{
    public static async Task<string?> ProblemAsync(PublishResearchResults publish, NetworkState network, PatientDirectory patients, CancellationToken ct)
    {
        var organisation = network.Researchers.TryGetValue(publish.Actor.Id, out var researcher) ? researcher.Organisation : null;
        foreach (var use in publish.Uses)
        {
            if (use.ConsentIds.Count == 0) return "a research use cites no consent";
            var patient = await patients.StateAsync(use.PatientId, ct, rereadStart: true); // never on a stream whose start is hidden
            if (!patient.Registered || patient.Forgotten) return "a research use names no registered patient";
            var covered = new HashSet<Category>();
            foreach (var id in use.ConsentIds)
            {
                if (!patient.Consents.TryGetValue(id, out var consent) || !consent.IsActiveAt(publish.At)
                    || !consent.Purposes.Contains(Purpose.Research) || !consent.Actions.Contains(AccessAction.Read)
                    || !consent.Grantee.NamesResearcher(publish.Actor.Id, organisation))
                    return "a research use cites a consent the patient has not given to this researcher for research";
                covered.UnionWith(consent.Categories);
            }
            if (!use.Categories.All(covered.Contains)) return "a research use names a category its consents do not cover";
        }
        return null;
    }
}
