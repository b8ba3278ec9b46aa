namespace HealthEvents.Domain.Common;

public enum Category
{
    Demographics, Allergies, Medications, Conditions, LabResults, Imaging, ClinicalNotes, Vaccinations,
    // Sensitive: released only by a consent that names them.
    MentalHealth, SexualHealth, Genetics,
    // Not sensitive; added for FHIR input after the first ones (stored by name, listed last so the numbers stay put).
    VitalSigns, Procedures,
    // Sensitive: questionnaires and screenings (FHIR Observation category "survey"). Many are about mood, drinking, drug
    // use, violence at home or social needs, and a code list cannot tell them all apart, so none is released by "all".
    Surveys,
}

public enum Purpose { Treatment, Research, Insurance }

public enum AccessAction { Read, Write }

public enum Sex { Female, Male, Other, Unknown }

public static class Categories
{
    public static readonly IReadOnlySet<Category> Sensitive =
        new HashSet<Category> { Category.MentalHealth, Category.SexualHealth, Category.Genetics, Category.Surveys };

    public static readonly IReadOnlyList<Category> All = Enum.GetValues<Category>();

    public static bool IsSensitive(this Category category) => Sensitive.Contains(category);
}
