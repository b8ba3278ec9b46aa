namespace HealthEvents.Domain.Common;

/// <summary>A stream state that belongs to a home hospital (a patient's), which endorsement policies can name as "home".</summary>
public interface IHasHomeHospital
{
    /// <summary>Empty while unknown.</summary>
    string HomeHospital { get; }
}
