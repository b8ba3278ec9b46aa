using HealthEvents.Domain.Common;

namespace HealthEvents.Projections.Research;

/// <summary>
/// One consenting patient of one research projection, under a pseudonym (an HMAC of the patient id under the
/// projection's research key). Holds only what the projection's filter and group-by need — never the patient id, a
/// name, entry or consent ids, or entry text. Exists only while at least one unrevoked consent admits the patient;
/// whether a consent is in force is decided when the rows are computed, so expiry needs no event.
/// </summary>
public sealed class ResearchSubject
{
    /// <summary>"{projection}/{pseudonym}".</summary>
    public string Id { get; set; } = "";

    /// <summary>The runner's name of the research projection.</summary>
    public string Projection { get; set; } = "";

    /// <summary>Only when grouped by age band.</summary>
    public int? BirthYear { get; set; }

    /// <summary>Only when grouped by sex.</summary>
    public Sex? Sex { get; set; }

    public List<ResearchConsentWindow> Consents { get; set; } = [];
    public List<ResearchEntryFact> Entries { get; set; } = [];
}

/// <summary>A consent that admits the patient here: its pseudonymous key, the categories it covers (those the filter can count), its validity.</summary>
public sealed class ResearchConsentWindow
{
    /// <summary>HMAC of the consent id under the research key (the id itself would link back to the patient's stream).</summary>
    public string Key { get; set; } = "";

    public List<Category> Categories { get; set; } = [];
    public DateTimeOffset ValidFrom { get; set; }
    public DateTimeOffset? ValidUntil { get; set; }

    public bool IsActiveAt(DateTimeOffset at) => ValidFrom <= at && (ValidUntil is not { } until || at < until);
}

/// <summary>A record entry that passes the filter: its category and only the grouped facts.</summary>
public sealed class ResearchEntryFact
{
    /// <summary>HMAC of the entry id under the research key (for a later retraction).</summary>
    public string Key { get; set; } = "";

    public Category Category { get; set; }

    /// <summary>Code system and code, only when grouped by code.</summary>
    public string? CodeSystem { get; set; }

    public string? Code { get; set; }

    /// <summary>Year of RecordedAt (UTC), only when grouped by entry year.</summary>
    public int? Year { get; set; }

    /// <summary>The writing hospital, only when grouped by hospital.</summary>
    public string? Hospital { get; set; }
}

/// <summary>
/// The research key of one research projection: 32 random bytes, created with its first batch and deleted with its
/// documents (a rebuild starts a new pseudonym space). Never served.
/// </summary>
public sealed class ResearchKey
{
    /// <summary>The runner's name of the research projection.</summary>
    public string Id { get; set; } = "";

    public byte[] Key { get; set; } = [];
    public DateTimeOffset CreatedAt { get; set; }
}
