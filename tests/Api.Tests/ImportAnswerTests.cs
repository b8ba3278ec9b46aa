using System.Text;
using HealthEvents.Api.Verbs.Import;

namespace HealthEvents.Api.Tests;

/// <summary>
/// The import verb reads POST /fhir's answer as a FHIR transaction-response Bundle too (FHIR R4 http.html#transaction-response):
/// entry i answers the request's entry i; the Patient entry's location gives the patient id; what became of each entry
/// comes from its outcome's import-outcome code when the service names one, else from its status. (The summary form is
/// read in <see cref="ImportVerbTests"/>, through the executable against the running service.)
/// </summary>
public sealed class ImportAnswerTests
{
    private static readonly byte[] Sent = Encoding.UTF8.GetBytes("""
        {"resourceType":"Bundle","type":"transaction","entry":[
          {"resource":{"resourceType":"Patient"}},{"resource":{"resourceType":"Condition"}},{"resource":{"resourceType":"Observation"}},
          {"resource":{"resourceType":"Observation"}},{"resource":{"resourceType":"Coverage"}},{"resource":{"resourceType":"Claim"}},
          {"resource":{"resourceType":"Encounter"}}]}
        """);

    [Fact]
    public void A_transaction_response_with_import_outcomes_gives_the_patient_and_what_became_of_each_entry()
    {
        var answer = ImportAnswer.Read("""
            {"resourceType":"Bundle","type":"transaction-response","entry":[
              {"response":{"status":"201 Created","location":"Patient/0b11c432-ef71-8457-a197-b3fcde265c25","outcome":{"resourceType":"OperationOutcome",
                "issue":[{"severity":"information","code":"informational","details":{"coding":[{"system":"https://healthevents.example/fhir/import-outcome","code":"registered"}]},"diagnostics":"Imported 3 resources"}]}}},
              {"response":{"status":"201 Created","location":"Condition/6f1c2e00-0000-4000-8000-000000000002","outcome":{"resourceType":"OperationOutcome",
                "issue":[{"severity":"information","code":"informational","details":{"coding":[{"system":"https://healthevents.example/fhir/import-outcome","code":"added"}]},"diagnostics":"Added under conditions."}]}}},
              {"response":{"status":"200 OK","location":"Observation/6f1c2e00-0000-4000-8000-000000000003","outcome":{"resourceType":"OperationOutcome",
                "issue":[{"severity":"information","code":"informational","details":{"coding":[{"system":"https://healthevents.example/fhir/import-outcome","code":"corrected"}]},"diagnostics":"Corrected."}]}}},
              {"response":{"status":"200 OK","location":"Observation/6f1c2e00-0000-4000-8000-000000000004","outcome":{"resourceType":"OperationOutcome",
                "issue":[{"severity":"information","code":"informational","details":{"coding":[{"system":"https://healthevents.example/fhir/import-outcome","code":"already-present"}]},"diagnostics":"Already on the record."}]}}},
              {"response":{"status":"201 Created","outcome":{"resourceType":"OperationOutcome",
                "issue":[{"severity":"information","code":"informational","details":{"coding":[{"system":"https://healthevents.example/fhir/import-outcome","code":"insurance-linked"}]},"diagnostics":"Linked as the patient's insurance."}]}}},
              {"response":{"status":"422 Unprocessable Entity","outcome":{"resourceType":"OperationOutcome",
                "issue":[{"severity":"warning","code":"not-supported","details":{"coding":[{"system":"https://healthevents.example/fhir/import-outcome","code":"skipped"}]},"diagnostics":"Claim (billing, not the clinical record)"}]}}},
              {"response":{"status":"422 Unprocessable Entity","outcome":{"resourceType":"OperationOutcome",
                "issue":[{"severity":"warning","code":"not-supported","details":{"coding":[{"system":"https://healthevents.example/fhir/import-outcome","code":"skipped"}]},"diagnostics":"Encounter"}]}}}
            ]}
            """, Sent);

        Assert.NotNull(answer);
        Assert.Equal("0b11c432-ef71-8457-a197-b3fcde265c25", answer.PatientId);
        Assert.True(answer.Registered);
        Assert.Equal((1, 1, 1), (answer.Added, answer.AlreadyPresent, answer.Corrected));
        Assert.Equal(new Dictionary<string, int> { ["Condition"] = 1, ["Coverage"] = 1, ["Observation"] = 2 }, answer.Imported);
        Assert.Equal(new Dictionary<string, int> { ["Claim (billing, not the clinical record)"] = 1, ["Encounter"] = 1 }, answer.Skipped);
    }

    [Fact]
    public void A_plain_FHIR_servers_batch_response_is_read_from_statuses_and_locations()
    {
        var answer = ImportAnswer.Read("""
            {"resourceType":"Bundle","type":"batch-response","entry":[
              {"response":{"status":"200 OK","location":"https://fhir.example/r4/Patient/abc-1/_history/2"}},
              {"response":{"status":"201","location":"Condition/c1/_history/1"}},
              {"response":{"status":"200 OK","location":"Observation/o1"}},
              {"response":{"status":"201 Created","location":"Observation/o2"}},
              {"response":{"status":"201 Created","location":"Coverage/v1"}},
              {"response":{"status":"400 Bad Request","outcome":{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"invalid","diagnostics":"not taken"}]}}},
              {"response":{"status":"404 Not Found"}}
            ]}
            """, Sent);

        Assert.NotNull(answer);
        Assert.Equal("abc-1", answer.PatientId);
        Assert.False(answer.Registered);
        Assert.Equal((3, 1, 0), (answer.Added, answer.AlreadyPresent, answer.Corrected));
        Assert.Equal(new Dictionary<string, int> { ["Condition"] = 1, ["Coverage"] = 1, ["Observation"] = 2 }, answer.Imported);
        // Where the answer names no type, the request's entry at the same place does.
        Assert.Equal(new Dictionary<string, int> { ["Claim (not taken)"] = 1, ["Encounter"] = 1 }, answer.Skipped);
    }

    [Theory]
    [InlineData("""{"resourceType":"Bundle","type":"searchset","entry":[]}""")]
    [InlineData("""{"resourceType":"OperationOutcome","issue":[]}""")]
    [InlineData("""{"registered":"yes"}""")]
    [InlineData("[]")]
    [InlineData("not json")]
    public void Anything_else_is_no_answer(string json) => Assert.Null(ImportAnswer.Read(json, Sent));
}
