using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using HealthEvents.Application.Patients;
using HealthEvents.Domain.Common;
using Hl7.Fhir.Model;

namespace HealthEvents.Api.Fhir;

/// <summary>
/// The answer of a successful import (FHIR R4 http.html#transaction-response): a <c>transaction-response</c> Bundle
/// (<c>batch-response</c> for a batch or collection) with one entry per bundle entry, in order, each with a
/// <c>response</c>: its <c>status</c>; its <c>location</c> (<c>Patient/{patientId}</c>, <c>{type}/{entryId}</c>) when it is
/// on the record; and an <c>outcome</c> OperationOutcome whose first issue's <c>details.coding</c> says what became of it
/// (<see cref="OutcomeSystem"/>: registered, already-registered, added, already-present, corrected, replaced,
/// kept-retracted, insurance-linked, insurance-already-linked, skipped) and, for a record entry, the category it is
/// filed under (<see cref="HealthEvents.Api.Endpoints.FhirVocabulary.CategorySystem"/>); further issues are the validator's
/// warnings about that entry. Skipped entries answer <c>422 Unprocessable Entity</c> with the reason as the diagnostics.
/// The Patient's outcome also carries the import's totals (<see cref="SummaryExtension"/>) and the warnings about no
/// entry in particular. <see cref="FhirImportSummary.Read"/> reads it back.
/// </summary>
public static partial class FhirImportAnswer
{
    public const string OutcomeSystem = HealthEvents.Api.Endpoints.FhirVocabulary.BaseSystem + "/import-outcome";
    public const string SummaryExtension = HealthEvents.Api.Endpoints.FhirVocabulary.BaseSystem + "/StructureDefinition/import-summary";

    /// <summary>At most this many distinct validator warnings are listed per entry.</summary>
    public const int MaxWarningsPerEntry = 20;

    public static string Bundle(ImportPlan plan, PatientRecordImported result, IReadOnlyList<FhirIssue> warnings, Bundle.BundleType type, DateTimeOffset now)
    {
        var byEntry = warnings.GroupBy(EntryIndexOf).ToDictionary(g => g.Key, g => g.DistinctBy(w => (w.Code, w.Diagnostics)).Take(MaxWarningsPerEntry).ToList());
        List<FhirIssue> WarningsAbout(int index) => byEntry.GetValueOrDefault(index) ?? [];
        var entries = new JsonArray();
        for (var i = 0; i < plan.Bundle.Count; i++)
        {
            var p = plan.Bundle[i];
            var response = p.Kind switch
            {
                EntryKind.Patient => Response(result.Registered ? "201 Created" : "200 OK", $"Patient/{result.PatientId}",
                    Outcome(result.Registered ? "registered" : "already-registered", null, Totals(plan, result),
                        [.. WarningsAbout(i), .. WarningsAbout(-1)], extension: Summary(plan, result))),
                EntryKind.Record => RecordResponse(p, result.Entries[p.Record], WarningsAbout(i)),
                EntryKind.Insurance => Response(result.InsuranceLinked == true ? "201 Created" : "200 OK", null,
                    Outcome(result.InsuranceLinked == true ? "insurance-linked" : "insurance-already-linked", null,
                        result.InsuranceLinked == true ? "Linked as the patient's insurance." : "The patient's insurance is already this one.", WarningsAbout(i))),
                _ => Response("422 Unprocessable Entity", null, Outcome("skipped", null, p.Label!, WarningsAbout(i), severity: "warning", code: "not-supported")),
            };
            entries.Add(new JsonObject { ["response"] = response });
        }
        return new JsonObject
        {
            ["resourceType"] = "Bundle",
            ["type"] = type == Hl7.Fhir.Model.Bundle.BundleType.Transaction ? "transaction-response" : "batch-response",
            ["timestamp"] = now.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
            ["entry"] = entries,
        }.ToJsonString();
    }

    private static JsonObject RecordResponse(PlannedEntry p, ImportedEntryOutcome outcome, IReadOnlyList<FhirIssue> warnings)
    {
        var category = KebabCase.Of(p.Category!.Value);
        var sensitive = p.Category.Value.IsSensitive() ? $" ({category} is sensitive: only a consent that names it releases it)" : "";
        var (status, code, text) = outcome.Outcome switch
        {
            EntryImport.Added => ("201 Created", "added", $"Added under {category}{sensitive}."),
            EntryImport.Replaced => ("201 Created", "replaced",
                $"Replaced: its category, code or time changed, so the entry that held it was retracted and this one added under {category}{sensitive}."),
            EntryImport.Corrected => ("200 OK", "corrected", $"Corrected: the entry under {category} holds the new content (an amendment){sensitive}."),
            EntryImport.KeptRetracted => ("200 OK", "kept-retracted", "Unchanged, and its entry was retracted on the record: left as it is."),
            _ => ("200 OK", "already-present", $"Already on the record under {category}, unchanged{sensitive}."),
        };
        return Response(status, $"{p.Type}/{outcome.EntryId}", Outcome(code, category, text, warnings));
    }

    private static JsonObject Response(string status, string? location, JsonObject outcome)
    {
        var response = new JsonObject { ["status"] = status };
        if (location is not null) response["location"] = location;
        response["outcome"] = outcome;
        return response;
    }

    /// <summary>An OperationOutcome whose first issue says what became of the entry; then <paramref name="more"/> (warnings).</summary>
    private static JsonObject Outcome(string outcome, string? category, string text, IEnumerable<FhirIssue> more, JsonObject? extension = null,
        string severity = "information", string code = "informational")
    {
        var coding = new JsonArray(new JsonObject { ["system"] = OutcomeSystem, ["code"] = outcome });
        if (category is not null) coding.Add(new JsonObject { ["system"] = HealthEvents.Api.Endpoints.FhirVocabulary.CategorySystem, ["code"] = category });
        var others = FhirOutcome.Resource(more);
        others.Remove("issue", out var list);
        var issues = list!.AsArray();
        issues.Insert(0, new JsonObject { ["severity"] = severity, ["code"] = code, ["details"] = new JsonObject { ["coding"] = coding }, ["diagnostics"] = text });
        var resource = new JsonObject { ["resourceType"] = "OperationOutcome" };
        if (extension is not null) resource["extension"] = new JsonArray(extension);
        resource["issue"] = issues;
        return resource;
    }

    private static string Totals(ImportPlan plan, PatientRecordImported r) =>
        $"Imported {r.Entries.Count} resource{(r.Entries.Count == 1 ? "" : "s")}: {r.Count(EntryImport.Added)} added, " +
        $"{r.Count(EntryImport.AlreadyPresent)} already present, {r.Count(EntryImport.Corrected)} corrected, {r.Count(EntryImport.Replaced)} replaced, " +
        $"{r.Count(EntryImport.KeptRetracted)} kept retracted; {plan.Bundle.Count(b => b.Kind == EntryKind.Skipped)} skipped; " +
        $"{r.Receipts.Count} endorsed transaction{(r.Receipts.Count == 1 ? "" : "s")}.";

    /// <summary>The import's totals as a complex extension (FHIR R4 extensibility.html): what the command line sums up.</summary>
    private static JsonObject Summary(ImportPlan plan, PatientRecordImported r)
    {
        JsonObject Integer(string url, int value) => new() { ["url"] = url, ["valueInteger"] = value };
        var parts = new JsonArray(
            new JsonObject { ["url"] = "registered", ["valueBoolean"] = r.Registered },
            Integer("added", r.Count(EntryImport.Added)), Integer("alreadyPresent", r.Count(EntryImport.AlreadyPresent)),
            Integer("corrected", r.Count(EntryImport.Corrected)), Integer("replaced", r.Count(EntryImport.Replaced)),
            Integer("keptRetracted", r.Count(EntryImport.KeptRetracted)), Integer("skipped", plan.Bundle.Count(b => b.Kind == EntryKind.Skipped)));
        if (r.InsuranceLinked is { } linked) parts.Add(new JsonObject { ["url"] = "insuranceLinked", ["valueBoolean"] = linked });
        foreach (var receipt in r.Receipts) parts.Add(new JsonObject { ["url"] = "transaction", ["valueString"] = receipt.Hash });
        return new JsonObject { ["url"] = SummaryExtension, ["extension"] = parts };
    }

    /// <summary>The bundle entry a validator issue is about (its expression starts <c>Bundle.entry[n]</c>), or -1.</summary>
    private static int EntryIndexOf(FhirIssue issue) =>
        issue.Expression?.Select(e => EntryPath().Match(e)).FirstOrDefault(m => m.Success) is { } m
            ? int.Parse(m.Groups[1].ValueSpan, CultureInfo.InvariantCulture)
            : -1;

    [GeneratedRegex(@"^Bundle\.entry\[(\d+)\]")]
    private static partial Regex EntryPath();
}
