namespace HealthEvents.Application.Ports;

/// <summary>
/// This node's hospital and its identity key, which signs the proposals it submits; and the hospitals it acts
/// for — those whose identity key it holds, which issue its callers' tokens and sign their assertions.
/// </summary>
public interface INodeIdentity
{
    /// <summary>The node's own hospital: the submitter of its proposals, and the hospital of its system actors.</summary>
    string HospitalId { get; }

    /// <summary>Whether this node acts for <paramref name="hospitalId"/>: holds its identity key (and may accept its tokens).</summary>
    bool ActsFor(string hospitalId);

    /// <summary>The identity key <paramref name="hospitalId"/> has at <paramref name="at"/>, if this node acts for that hospital and holds it; else null.</summary>
    IHospitalSigner? IdentityOf(string hospitalId, DateTimeOffset at);
}
