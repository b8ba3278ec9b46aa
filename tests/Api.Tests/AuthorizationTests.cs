using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using HealthEvents.Application.Ports;
using HealthEvents.Application.Serialization;
using HealthEvents.Domain.Common;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace HealthEvents.Api.Tests;

/// <summary>
/// <para><b>The authorization specification.</b> Who may call which route, for every route the API maps, as tables of
/// callers (rows) against routes (columns). Each cell is one test case: the request is sent through the real HTTP stack
/// (Kestrel, JwtBearer, endpoints, Mediator, deciders) and endorsed 2 of 3 by the real in-process endorsers.</para>
///
/// <para><b>The demo network</b> (see README): hospitals northside, riverside, lakeside; a practitioner of every role
/// per hospital; researcher-1 (Lakeside University); patients alice (home northside), bob (home riverside), carol.
/// Alice's consents: the <i>hospital</i> riverside reads all general categories for treatment; the <i>role</i>
/// home-care reads medications and allergies for treatment; the <i>role</i> researcher uses conditions and
/// medications for research. Unless a route says otherwise, the patient in the URL is Alice.</para>
///
/// <para><b>Callers</b> are the demo tokens by name, and:</para>
/// <list type="bullet">
/// <item><c>alice</c>: the patient's own token, issued by her home hospital (for forget: the throwaway patient's own token);</item>
/// <item><c>alice via lakeside</c>: a token for the same patient id minted by lakeside, a member that does not
/// represent her — 401 on every route, reads included: no other member speaks for someone it does not represent;</item>
/// <item><c>bob</c>: a patient of riverside (another hospital's patient);</item>
/// <item><c>expired token</c>, <c>30-day token</c> (a northside physician's, beyond the day a token may live), <c>no token</c>.</item>
/// </list>
///
/// <para><b>Cells.</b></para>
/// <list type="bullet">
/// <item><c>200</c>, <c>201</c>: allowed.</item>
/// <item><c>401</c>, <c>403</c>, <c>404</c>, <c>409</c>: refused, and <b>nothing is appended anywhere</b> (the whole
/// global log, the ledger's own tree heads aside) and no data key is created or destroyed (<c>he_data_keys</c>).
/// Every refusal but 401 is a problem+json with a <c>code</c>.</item>
/// <item><c>403r</c>: refused and <b>recorded</b>: exactly one event is appended, <c>access.denied.v1</c> in the
/// patient's stream. A denied access attempt is on the patient's record by design: the patient sees attempts.</item>
/// <item><c>200r</c>: allowed and <b>recorded</b>: exactly one event, <c>access.explained.v1</c>: a practitioner's question
/// about what they may see is itself on the patient's record.</item>
/// </list>
///
/// <para>On the patient's views (audit, audit as FHIR, consents and consents as FHIR, insurance validity, verification,
/// envelopes, disclosures, access explanations, device key), every refused
/// cell is asked a second time about a patient id nobody registered: the status and the problem <c>code</c> must be
/// the same, so a refusal never tells whether a patient exists.</para>
///
/// <para>Cases are independent of their order: those that change state work on fresh objects (a fresh entry, consent,
/// practitioner, proposal, throwaway patient) or make changes that alter nobody's rights (an extra consent to riverside
/// for a category it already reads; a policy proposal for the policy in force).</para>
/// </summary>
public sealed class AuthorizationTests(AuthorizationFixture fixture) : IClassFixture<AuthorizationFixture>
{
    // ---------------------------------------------------------------------------------------------------------------
    // The record: registration, entries, forgetting
    //   register = POST /patients {homeHospital: northside}        entry   = POST /patients/{id}/entries (conditions)
    //   amend    = POST .../entries/{entryId}/amendments            retract = POST .../entries/{entryId}/retraction
    //              (of a fresh entry written by a northside physician)
    //   forget   = POST /patients/{id}/forget (of a fresh throwaway patient of northside; "alice" is that patient)
    //   fhir-in  = POST /fhir: a FHIR bundle of a patient northside imported, with one new Condition (answers are OperationOutcomes).
    //              The patient id is keyed by the sending hospital: another hospital's clinician gets a patient of its own
    //              (registered at its first bundle), never northside's — the same answer whether northside holds the identifier.
    // ---------------------------------------------------------------------------------------------------------------
    private const string Record = """
        caller               | register | entry | amend | retract | forget | fhir-in
        northside physician  | 201      | 201   | 200   | 200     | 403    | 200
        northside nurse      | 201      | 201   | 200   | 200     | 403    | 200
        northside home-care  | 201      | 201   | 200   | 200     | 403    | 200
        northside pharmacist | 201      | 201   | 200   | 200     | 403    | 200
        northside admin      | 201      | 403   | 403   | 403     | 403    | 403
        riverside physician  | 403      | 403   | 403   | 403     | 403    | 200
        riverside admin      | 403      | 403   | 403   | 403     | 403    | 403
        lakeside physician   | 403      | 403   | 403   | 403     | 403    | 200
        lakeside nurse       | 403      | 403   | 403   | 403     | 403    | 200
        lakeside home-care   | 403      | 403   | 403   | 403     | 403    | 200
        lakeside pharmacist  | 403      | 403   | 403   | 403     | 403    | 200
        lakeside admin       | 403      | 403   | 403   | 403     | 403    | 403
        researcher           | 403      | 403   | 403   | 403     | 403    | 403
        alice                | 403      | 403   | 403   | 403     | 200    | 403
        alice via lakeside   | 401      | 401   | 401   | 401     | 401    | 401
        bob                  | 403      | 403   | 403   | 403     | 403    | 403
        expired token        | 401      | 401   | 401   | 401     | 401    | 401
        30-day token         | 401      | 401   | 401   | 401     | 401    | 401
        no token             | 401      | 401   | 401   | 401     | 401    | 401
        """;

    // ---------------------------------------------------------------------------------------------------------------
    // Consents and insurance
    //   grant  = POST /patients/{id}/consents (riverside, vaccinations, treatment, read: nothing riverside lacked)
    //   revoke = DELETE /patients/{id}/consents/{consentId} (a fresh consent of that kind)
    //   narrow = POST /patients/{id}/consents/{consentId}/narrow (a fresh consent of that kind, given an end in a month)
    //   insure = PUT /patients/{id}/insurance                uninsure = DELETE /patients/{id}/insurance (after a fresh link)
    // ---------------------------------------------------------------------------------------------------------------
    private const string ConsentsAndInsurance = """
        caller               | grant | revoke | narrow | insure | uninsure
        northside physician  | 403   | 403    | 403    | 403    | 403
        northside nurse      | 403   | 403    | 403    | 403    | 403
        northside home-care  | 403   | 403    | 403    | 403    | 403
        northside pharmacist | 403   | 403    | 403    | 403    | 403
        northside admin      | 403   | 403    | 403    | 200    | 200
        riverside physician  | 403   | 403    | 403    | 403    | 403
        riverside admin      | 403   | 403    | 403    | 403    | 403
        lakeside physician   | 403   | 403    | 403    | 403    | 403
        lakeside nurse       | 403   | 403    | 403    | 403    | 403
        lakeside home-care   | 403   | 403    | 403    | 403    | 403
        lakeside pharmacist  | 403   | 403    | 403    | 403    | 403
        lakeside admin       | 403   | 403    | 403    | 403    | 403
        researcher           | 403   | 403    | 403    | 403    | 403
        alice                | 201   | 200    | 200    | 403    | 403
        alice via lakeside   | 401   | 401    | 401    | 401    | 401
        bob                  | 403   | 403    | 403    | 403    | 403
        expired token        | 401   | 401    | 401    | 401    | 401
        30-day token         | 401   | 401    | 401    | 401    | 401
        no token             | 401   | 401    | 401    | 401    | 401
        """;

    // ---------------------------------------------------------------------------------------------------------------
    // The patient's device key (each on a fresh throwaway patient of northside; "alice" is that patient)
    //   enrol      = POST /patients/{id}/device-key (the first key, proved by its own signature)
    //   re-enrol   = POST /patients/{id}/device-key (another key, with a reason, after the patient enrolled one: a lost device)
    //   device-key = GET /patients/{id}/device-key (of a patient with a key)
    // ---------------------------------------------------------------------------------------------------------------
    private const string DeviceKey = """
        caller               | enrol | re-enrol | device-key
        northside physician  | 403   | 403      | 403
        northside nurse      | 403   | 403      | 403
        northside home-care  | 403   | 403      | 403
        northside pharmacist | 403   | 403      | 403
        northside admin      | 403   | 201      | 403
        riverside physician  | 403   | 403      | 403
        riverside admin      | 403   | 403      | 403
        lakeside physician   | 403   | 403      | 403
        lakeside nurse       | 403   | 403      | 403
        lakeside home-care   | 403   | 403      | 403
        lakeside pharmacist  | 403   | 403      | 403
        lakeside admin       | 403   | 403      | 403
        researcher           | 403   | 403      | 403
        alice                | 201   | 409      | 200
        alice via lakeside   | 401   | 401      | 401
        bob                  | 403   | 403      | 403
        expired token        | 401   | 401      | 401
        30-day token         | 401   | 401      | 401
        no token             | 401   | 401      | 401
        """;

    // ---------------------------------------------------------------------------------------------------------------
    // Access: POST /patients/{id}/access {purpose, categories}, and break-glass
    //   conditions / medications / mental-health = purpose treatment, that one category
    //   research  = purpose research, conditions          emergency = POST /patients/{id}/emergency-access {reason}
    //   everything = GET /fhir/Patient/{id}/$everything: an access for treatment to every category an import fills
    //              (released per category: home-care gets medications and allergies), answered as FHIR
    // ---------------------------------------------------------------------------------------------------------------
    private const string Access = """
        caller               | conditions | medications | mental-health | research | emergency | everything
        northside physician  | 403r       | 403r        | 403r          | 403r     | 200       | 403r
        northside nurse      | 403r       | 403r        | 403r          | 403r     | 403r      | 403r
        northside home-care  | 403r       | 200         | 403r          | 403r     | 403r      | 200
        northside pharmacist | 403r       | 403r        | 403r          | 403r     | 403r      | 403r
        northside admin      | 403r       | 403r        | 403r          | 403r     | 403r      | 403r
        riverside physician  | 200        | 200         | 403r          | 403r     | 200       | 200
        riverside admin      | 200        | 200         | 403r          | 403r     | 403r      | 200
        lakeside physician   | 403r       | 403r        | 403r          | 403r     | 200       | 403r
        lakeside nurse       | 403r       | 403r        | 403r          | 403r     | 403r      | 403r
        lakeside home-care   | 403r       | 200         | 403r          | 403r     | 403r      | 200
        lakeside pharmacist  | 403r       | 403r        | 403r          | 403r     | 403r      | 403r
        lakeside admin       | 403r       | 403r        | 403r          | 403r     | 403r      | 403r
        researcher           | 403r       | 403r        | 403r          | 403r     | 403r      | 403r
        alice                | 200        | 200         | 200           | 200      | 403r      | 200
        alice via lakeside   | 401        | 401         | 401           | 401      | 401       | 401
        bob                  | 403        | 403         | 403           | 403      | 403       | 403
        expired token        | 401        | 401         | 401           | 401      | 401       | 401
        30-day token         | 401        | 401         | 401           | 401      | 401       | 401
        no token             | 401        | 401         | 401           | 401      | 401       | 401
        """;

    // ---------------------------------------------------------------------------------------------------------------
    // The patient's views (each refusal also asked about an unknown patient id: same status, same code)
    //   audit = GET /patients/{id}/audit     fhir = GET .../audit/fhir     consents = GET .../consents
    //   live = GET .../audit/live (server-sent events of new rows: the patient only, as audit; a 200 is a text/event-stream)
    //   insurance = GET .../insurance/validity                             verify = GET .../verification
    //   envelopes = GET .../envelopes (the stored bytes the patient's browser verifies: the patient only, as verify)
    //   consents-fhir = GET .../consents/fhir (as consents)       disclosures = GET .../disclosures (the patient only, as audit)
    //   explain = GET .../access/explain?grantee=riverside-physician&purpose=treatment&category=conditions: the patient asks
    //             about anyone; a practitioner only about themselves, and that question is recorded (200r)
    // ---------------------------------------------------------------------------------------------------------------
    private const string Views = """
        caller               | audit | live  | fhir | consents | insurance | verify | envelopes | consents-fhir | disclosures | explain
        northside physician  | 403   | 403   | 403  | 403      | 200       | 403    | 403       | 403           | 403         | 403
        northside nurse      | 403   | 403   | 403  | 403      | 200       | 403    | 403       | 403           | 403         | 403
        northside home-care  | 403   | 403   | 403  | 200      | 200       | 403    | 403       | 200           | 403         | 403
        northside pharmacist | 403   | 403   | 403  | 403      | 200       | 403    | 403       | 403           | 403         | 403
        northside admin      | 403   | 403   | 403  | 403      | 200       | 403    | 403       | 403           | 403         | 403
        riverside physician  | 403   | 403   | 403  | 200      | 200       | 403    | 403       | 200           | 403         | 200r
        riverside admin      | 403   | 403   | 403  | 200      | 200       | 403    | 403       | 200           | 403         | 403
        lakeside physician   | 403   | 403   | 403  | 403      | 200       | 403    | 403       | 403           | 403         | 403
        lakeside nurse       | 403   | 403   | 403  | 403      | 200       | 403    | 403       | 403           | 403         | 403
        lakeside home-care   | 403   | 403   | 403  | 200      | 200       | 403    | 403       | 200           | 403         | 403
        lakeside pharmacist  | 403   | 403   | 403  | 403      | 200       | 403    | 403       | 403           | 403         | 403
        lakeside admin       | 403   | 403   | 403  | 403      | 200       | 403    | 403       | 403           | 403         | 403
        researcher           | 403   | 403   | 403  | 403      | 403       | 403    | 403       | 403           | 403         | 403
        alice                | 200   | 200   | 200  | 200      | 403       | 200    | 200       | 200           | 200         | 200
        alice via lakeside   | 401   | 401   | 401  | 401      | 401       | 401    | 401       | 401           | 401         | 401
        bob                  | 403   | 403   | 403  | 403      | 403       | 403    | 403       | 403           | 403         | 403
        expired token        | 401   | 401   | 401  | 401      | 401       | 401    | 401       | 401           | 401         | 401
        30-day token         | 401   | 401   | 401  | 401      | 401       | 401    | 401       | 401           | 401         | 401
        no token             | 401   | 401   | 401  | 401      | 401       | 401    | 401       | 401           | 401         | 401
        """;

    // ---------------------------------------------------------------------------------------------------------------
    // The network
    //   network = GET /network          staff = POST /network/practitioners (a fresh nurse of the admin's own hospital)
    //   unstaff = DELETE /network/practitioners/{id} (a fresh nurse of northside)
    //   researcher+ = POST /network/researchers (a fresh one)
    //   propose = POST /network/proposals (endorsement policy OutOf(2, *), the policy in force)
    //   approve = POST /network/proposals/{id}/approvals (a fresh such proposal made by lakeside's admin)
    //   proposals = GET /network/proposals
    //   rotate = POST /network/hospitals/lakeside/keys (lakeside's endorsement key; only lakeside's admin)
    // ---------------------------------------------------------------------------------------------------------------
    private const string Network = """
        caller               | network | staff | unstaff | researcher+ | propose | approve | proposals | rotate
        northside physician  | 200     | 403   | 403     | 403         | 403     | 403     | 403       | 403
        northside nurse      | 200     | 403   | 403     | 403         | 403     | 403     | 403       | 403
        northside home-care  | 200     | 403   | 403     | 403         | 403     | 403     | 403       | 403
        northside pharmacist | 200     | 403   | 403     | 403         | 403     | 403     | 403       | 403
        northside admin      | 200     | 201   | 200     | 201         | 201     | 200     | 200       | 403
        riverside physician  | 200     | 403   | 403     | 403         | 403     | 403     | 403       | 403
        riverside admin      | 200     | 201   | 403     | 201         | 201     | 200     | 200       | 403
        lakeside physician   | 200     | 403   | 403     | 403         | 403     | 403     | 403       | 403
        lakeside nurse       | 200     | 403   | 403     | 403         | 403     | 403     | 403       | 403
        lakeside home-care   | 200     | 403   | 403     | 403         | 403     | 403     | 403       | 403
        lakeside pharmacist  | 200     | 403   | 403     | 403         | 403     | 403     | 403       | 403
        lakeside admin       | 200     | 201   | 403     | 201         | 201     | 409     | 200       | 201
        researcher           | 200     | 403   | 403     | 403         | 403     | 403     | 403       | 403
        alice                | 200     | 403   | 403     | 403         | 403     | 403     | 403       | 403
        alice via lakeside   | 401     | 401   | 401     | 401         | 401     | 401     | 401       | 401
        bob                  | 200     | 403   | 403     | 403         | 403     | 403     | 403       | 403
        expired token        | 401     | 401   | 401     | 401         | 401     | 401     | 401       | 401
        30-day token         | 401     | 401   | 401     | 401         | 401     | 401     | 401       | 401
        no token             | 401     | 401   | 401     | 401         | 401     | 401     | 401       | 401
        """;

    // ---------------------------------------------------------------------------------------------------------------
    // Research and the ledger
    //   declare = POST /research/projections (a fresh name)   read = GET /research/projections/{name} (researcher-1's)
    //   head = GET /ledger/checkpoints/latest
    //   inclusion = GET /ledger/proofs/inclusion (Alice's registration, under a signed size)
    //   consistency = GET /ledger/proofs/consistency (between two signed sizes)
    //   demo = GET /demo/patients (mapped only on a node that seeded the demo: its tokens are demo tokens, open to anyone)
    //   metadata = GET /fhir/metadata (the FHIR CapabilityStatement: what the server does, about no one, open to anyone)
    // ---------------------------------------------------------------------------------------------------------------
    private const string ResearchAndLedger = """
        caller               | declare | read | head | inclusion | consistency | demo | metadata
        northside physician  | 403     | 403  | 200  | 200       | 200    | 200    | 200
        northside nurse      | 403     | 403  | 200  | 200       | 200    | 200    | 200
        northside home-care  | 403     | 403  | 200  | 200       | 200    | 200    | 200
        northside pharmacist | 403     | 403  | 200  | 200       | 200    | 200    | 200
        northside admin      | 403     | 403  | 200  | 200       | 200    | 200    | 200
        riverside physician  | 403     | 403  | 200  | 200       | 200    | 200    | 200
        riverside admin      | 403     | 403  | 200  | 200       | 200    | 200    | 200
        lakeside physician   | 403     | 403  | 200  | 200       | 200    | 200    | 200
        lakeside nurse       | 403     | 403  | 200  | 200       | 200    | 200    | 200
        lakeside home-care   | 403     | 403  | 200  | 200       | 200    | 200    | 200
        lakeside pharmacist  | 403     | 403  | 200  | 200       | 200    | 200    | 200
        lakeside admin       | 403     | 403  | 200  | 200       | 200    | 200    | 200
        researcher           | 201     | 200  | 200  | 200       | 200    | 200    | 200
        alice                | 403     | 403  | 200  | 200       | 200    | 200    | 200
        alice via lakeside   | 401     | 401  | 401  | 401       | 401    | 200    | 200
        bob                  | 403     | 403  | 200  | 200       | 200    | 200    | 200
        expired token        | 401     | 401  | 401  | 401       | 401    | 200    | 200
        30-day token         | 401     | 401  | 401  | 401       | 401    | 200    | 200
        no token             | 401     | 401  | 401  | 401       | 401    | 200    | 200
        """;

    // ---------------------------------------------------------------------------------------------------------------
    // Commands about a patient id nobody registered (a fresh random id each time)
    //   entry? = POST /patients/{id}/entries     access? = POST /patients/{id}/access (treatment, conditions)
    //   forget? = POST /patients/{id}/forget     ("alice" here is a northside token for that unregistered id)
    //   everything? = GET /fhir/Patient/{id}/$everything (as access?, answered as an OperationOutcome)
    //   explain? = GET /patients/{id}/access/explain?purpose=treatment&category=conditions (practitioners about themselves)
    // ---------------------------------------------------------------------------------------------------------------
    private const string Unregistered = """
        caller               | entry? | access? | forget? | everything? | explain?
        northside physician  | 404    | 404     | 403     | 404         | 404
        northside nurse      | 404    | 404     | 403     | 404         | 404
        northside home-care  | 404    | 404     | 403     | 404         | 404
        northside pharmacist | 404    | 404     | 403     | 404         | 404
        northside admin      | 404    | 404     | 403     | 404         | 404
        riverside physician  | 404    | 404     | 403     | 404         | 404
        riverside admin      | 404    | 404     | 403     | 404         | 404
        lakeside physician   | 404    | 404     | 403     | 404         | 404
        lakeside nurse       | 404    | 404     | 403     | 404         | 404
        lakeside home-care   | 404    | 404     | 403     | 404         | 404
        lakeside pharmacist  | 404    | 404     | 403     | 404         | 404
        lakeside admin       | 404    | 404     | 403     | 404         | 404
        researcher           | 404    | 404     | 403     | 404         | 403
        alice                | 401    | 401     | 401     | 401         | 401
        alice via lakeside   | 401    | 401     | 401     | 401         | 401
        bob                  | 404    | 404     | 403     | 404         | 403
        expired token        | 401    | 401     | 401     | 401         | 401
        30-day token         | 401    | 401     | 401     | 401         | 401
        no token             | 401    | 401     | 401     | 401         | 401
        """;

    // ===============================================================================================================

    public static readonly Guid Alice = Guid.Parse("a11ce000-0000-4000-8000-000000000001");

    private static readonly string[] Tables = [Record, ConsentsAndInsurance, DeviceKey, Access, Views, Network, ResearchAndLedger, Unregistered];

    /// <summary>(column, caller, cell) of every table, in table order.</summary>
    private static IEnumerable<(string Column, string Caller, string Cell)> Cells()
    {
        foreach (var table in Tables)
        {
            var lines = table.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var columns = lines[0].Split('|', StringSplitOptions.TrimEntries)[1..];
            foreach (var line in lines[1..])
            {
                var cells = line.Split('|', StringSplitOptions.TrimEntries);
                if (cells.Length != columns.Length + 1) throw new FormatException($"Wrong number of cells in: {line}");
                for (var i = 0; i < columns.Length; i++) yield return (columns[i], cells[0], cells[i + 1]);
            }
        }
    }

    public static TheoryData<string, string, string> Cases()
    {
        var data = new TheoryData<string, string, string>();
        foreach (var (column, caller, cell) in Cells()) data.Add(column, caller, cell);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Who_may_do_what(string column, string caller, string cell)
    {
        var route = Routes[column];
        var expected = Expectation.Parse(cell);
        var host = fixture.Host;
        var call = await route.Prepare(fixture);
        var token = Token(caller, call.Patient ?? Alice);

        var before = await host.CountsAsync();
        var patientBefore = call.Patient is { } p ? await host.StreamLengthAsync(p) : 0;
        using var response = await Send(call, token);
        var after = await host.CountsAsync();
        // A live stream's 200 never ends by itself: its headers are the answer.
        var streaming = response.Content.Headers.ContentType?.MediaType == "text/event-stream";
        var body = streaming ? "" : await response.Content.ReadAsStringAsync();

        var what = $"{caller} → {route.Title} ({column}): expected {cell}, got {(int)response.StatusCode} {Shorten(body)}";
        Assert.True((int)response.StatusCode == expected.Status, what);
        if (expected.Recorded)
        {
            Assert.True(after.Events == before.Events + 1, $"{what}\n(one event expected, {after.Events - before.Events} appended)");
            Assert.Equal(patientBefore + 1, await host.StreamLengthAsync(call.Patient!.Value));
            var last = await host.Services.GetRequiredService<IEventStore>().ReadLastAsync($"patient-{call.Patient}");
            Assert.Equal(route.Recorded, last!.Type);
        }
        if (!expected.Refused) return;

        if (expected.Status != 401)
        {
            // The FHIR route answers as FHIR clients expect: an OperationOutcome, its code in the issue's details.
            Assert.True(response.Content.Headers.ContentType?.MediaType == (route.Title.Contains(" /fhir", StringComparison.Ordinal) ? "application/fhir+json" : "application/problem+json"), what);
            Assert.True(CodeOf(body) is { Length: > 0 }, $"{what}\n(a refusal names its code)");
        }
        if (!expected.Recorded)
        {
            Assert.True(after.Events == before.Events, $"{what}\n({after.Events - before.Events} event(s) appended by a refused request)");
        }
        Assert.True(after.DataKeys == before.DataKeys, $"{what}\n({after.DataKeys - before.DataKeys} data key(s) created by a refused request)");
        Assert.True(after.LiveDataKeys == before.LiveDataKeys, $"{what}\n(a refused request changed the live data keys)");

        if (route.PatientView)
        {
            // The same refusal about a patient nobody registered: nothing tells the caller whether a patient exists.
            var unknown = call with { Url = call.Url.Replace((call.Patient ?? Alice).ToString(), Guid.NewGuid().ToString()) };
            using var other = await Send(unknown, token);
            var otherBody = await other.Content.ReadAsStringAsync();
            Assert.True(other.StatusCode == response.StatusCode && CodeOf(otherBody) == CodeOf(body),
                $"{what}\nbut about an unknown patient: {(int)other.StatusCode} {Shorten(otherBody)}");
        }
    }

    /// <summary>The tables are the whole specification: every route the API maps has a column, every table the same callers.</summary>
    [Fact]
    public void Every_route_the_API_maps_is_specified_for_every_caller()
    {
        var mapped = fixture.Host.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()?.HttpMethods ?? ["*"])
                .Select(m => $"{m} {("/" + e.RoutePattern.RawText!.Trim('/')).TrimEnd('/')}"))
            .Where(r => !r.Contains(" /health/") && !r.Contains(" /openapi/") && !r.Contains(" /docs"))
            .Order(StringComparer.Ordinal).ToList();
        var specified = Routes.Values.Select(r => r.Title).Distinct().Order(StringComparer.Ordinal).ToList();
        Assert.Equal(mapped, specified);

        var cells = Cells().ToList();
        Assert.Equal(Routes.Keys.Order(), cells.Select(c => c.Column).Distinct().Order());
        foreach (var column in Routes.Keys)
            Assert.Equal(Callers, cells.Where(c => c.Column == column).Select(c => c.Caller));
    }

    // ===============================================================================================================
    // Callers

    private static readonly string[] Callers =
    [
        "northside physician", "northside nurse", "northside home-care", "northside pharmacist", "northside admin",
        "riverside physician", "riverside admin",
        "lakeside physician", "lakeside nurse", "lakeside home-care", "lakeside pharmacist", "lakeside admin",
        "researcher", "alice", "alice via lakeside", "bob", "expired token", "30-day token", "no token",
    ];

    /// <summary>The caller's bearer token; <paramref name="patient"/> is the patient the request is about.</summary>
    private string? Token(string caller, Guid patient)
    {
        var host = fixture.Host;
        return caller switch
        {
            "alice" => patient == Alice ? host.Token("alice (patient)") : host.Mint("northside", "alice", Role.Patient, patient),
            "alice via lakeside" => host.Mint("lakeside", "alice", Role.Patient, patient),
            "bob" => host.Token("bob (patient)"),
            "expired token" => host.Mint("northside", "northside-physician", Role.Physician,
                lifetime: TimeSpan.FromMinutes(5), now: DateTimeOffset.UtcNow.AddHours(-2)),
            "30-day token" => host.Mint("northside", "northside-physician", Role.Physician, lifetime: TimeSpan.FromDays(30)),
            "no token" => null,
            _ when Callers.Contains(caller) => host.Token(caller),
            _ => throw new ArgumentException($"Unknown caller {caller}"),
        };
    }

    // ===============================================================================================================
    // Routes: what each column sends, after the set-up it needs

    /// <param name="Patient">The patient the request is about (whose stream a recorded denial lands in), if any.</param>
    public sealed record Call(string Method, string Url, object? Body, Guid? Patient);

    /// <param name="Title">Method and route pattern as the API maps it.</param>
    /// <param name="PatientView">A patient's view: refusals are compared with those about an unknown patient.</param>
    private sealed record Route(string Title, Func<AuthorizationFixture, Task<Call>> Prepare, bool PatientView = false)
    {
        /// <summary>The event type an "r" cell records in the patient's stream: a denied access, or a practitioner's question.</summary>
        public string Recorded { get; init; } = "access.denied.v1";
    }

    private static Route At(string title, Func<AuthorizationFixture, Call> call, bool patientView = false) =>
        new(title, f => Task.FromResult(call(f)), patientView);

    private static string P(string rest = "") => $"/patients/{Alice}{rest}";

    private static readonly object Entry = new { category = "conditions", code = new { system = "http://hl7.org/fhir/sid/icd-10", code = "I10" }, text = "Blood pressure follow-up." };
    private static readonly object Insurance = new { insurer = "Acme Health", policyReference = "POL-1", validFrom = "2026-01-01T00:00:00Z", validUntil = "2099-01-01T00:00:00Z" };
    private static object AccessTo(string purpose, string category) => new { purpose, categories = new[] { category } };
    private static string Fresh(string prefix) => $"{prefix}-{Guid.NewGuid().ToString("N")[..10]}";

    private static readonly Dictionary<string, Route> Routes = new()
    {
        ["register"] = At("POST /patients", _ => new("POST", "/patients", new { homeHospital = "northside", birthYear = 1980, sex = "female", name = "Spec Patient" }, null)),
        ["entry"] = At("POST /patients/{id:guid}/entries", _ => new("POST", P("/entries"), Entry, Alice)),
        ["amend"] = new("POST /patients/{id:guid}/entries/{entryId:guid}/amendments", async f =>
            new("POST", P($"/entries/{await f.NewEntryAsync()}/amendments"), new { text = "Corrected note.", reason = "typo" }, Alice)),
        ["retract"] = new("POST /patients/{id:guid}/entries/{entryId:guid}/retraction", async f =>
            new("POST", P($"/entries/{await f.NewEntryAsync()}/retraction"), new { reason = "entered in error" }, Alice)),
        ["fhir-in"] = new("POST /fhir", async f =>
        {
            var (patient, bundle) = await f.FhirBundleAsync();
            return new("POST", "/fhir", bundle, patient);
        }),
        ["forget"] = new("POST /patients/{id:guid}/forget", async f =>
        {
            var patient = await f.NewPatientAsync();
            return new("POST", $"/patients/{patient}/forget", new { }, patient);
        }),

        ["grant"] = At("POST /patients/{id:guid}/consents", _ => new("POST", P("/consents"), AuthorizationFixture.HarmlessConsent, Alice)),
        ["revoke"] = new("DELETE /patients/{id:guid}/consents/{consentId:guid}", async f => new("DELETE", P($"/consents/{await f.NewConsentAsync()}"), null, Alice)),
        ["narrow"] = new("POST /patients/{id:guid}/consents/{consentId:guid}/narrow", async f =>
            new("POST", P($"/consents/{await f.NewConsentAsync()}/narrow"), new { validUntil = DateTimeOffset.UtcNow.AddDays(30) }, Alice)),
        ["insure"] = At("PUT /patients/{id:guid}/insurance", _ => new("PUT", P("/insurance"), Insurance, Alice)),
        ["uninsure"] = new("DELETE /patients/{id:guid}/insurance", async f =>
        {
            await f.SendOkAsync("northside admin", new("PUT", P("/insurance"), Insurance, Alice));
            return new("DELETE", P("/insurance"), null, Alice);
        }),

        ["enrol"] = new("POST /patients/{id:guid}/device-key", async f =>
        {
            var patient = await f.NewPatientAsync();
            using var key = new TestDeviceKey();
            return new("POST", $"/patients/{patient}/device-key", key.Enrolment(patient), patient);
        }),
        ["re-enrol"] = new("POST /patients/{id:guid}/device-key", async f =>
        {
            var patient = await f.NewPatientWithDeviceKeyAsync();
            using var key = new TestDeviceKey();
            return new("POST", $"/patients/{patient}/device-key", key.Enrolment(patient, "Phone lost; identity checked at the desk."), patient);
        }),
        ["device-key"] = new("GET /patients/{id:guid}/device-key", async f =>
        {
            var patient = await f.NewPatientWithDeviceKeyAsync();
            return new("GET", $"/patients/{patient}/device-key", null, patient);
        }, PatientView: true),

        ["conditions"] = At("POST /patients/{id:guid}/access", _ => new("POST", P("/access"), AccessTo("treatment", "conditions"), Alice)),
        ["medications"] = At("POST /patients/{id:guid}/access", _ => new("POST", P("/access"), AccessTo("treatment", "medications"), Alice)),
        ["mental-health"] = At("POST /patients/{id:guid}/access", _ => new("POST", P("/access"), AccessTo("treatment", "mental-health"), Alice)),
        ["research"] = At("POST /patients/{id:guid}/access", _ => new("POST", P("/access"), AccessTo("research", "conditions"), Alice)),
        ["everything"] = At("GET /fhir/Patient/{id:guid}/$everything", _ => new("GET", $"/fhir/Patient/{Alice}/$everything", null, Alice)),
        ["emergency"] = At("POST /patients/{id:guid}/emergency-access", _ => new("POST", P("/emergency-access"), new { reason = "Unconscious in the emergency department." }, Alice)),

        ["audit"] = At("GET /patients/{id:guid}/audit", _ => new("GET", P("/audit"), null, Alice), patientView: true),
        ["live"] = At("GET /patients/{id:guid}/audit/live", _ => new("GET", P("/audit/live"), null, Alice), patientView: true),
        ["fhir"] = At("GET /patients/{id:guid}/audit/fhir", _ => new("GET", P("/audit/fhir"), null, Alice), patientView: true),
        ["consents"] = At("GET /patients/{id:guid}/consents", _ => new("GET", P("/consents"), null, Alice), patientView: true),
        ["insurance"] = At("GET /patients/{id:guid}/insurance/validity", _ => new("GET", P("/insurance/validity"), null, Alice), patientView: true),
        ["verify"] = At("GET /patients/{id:guid}/verification", _ => new("GET", P("/verification"), null, Alice), patientView: true),
        ["envelopes"] = At("GET /patients/{id:guid}/envelopes", _ => new("GET", P("/envelopes"), null, Alice), patientView: true),
        ["consents-fhir"] = At("GET /patients/{id:guid}/consents/fhir", _ => new("GET", P("/consents/fhir"), null, Alice), patientView: true),
        ["disclosures"] = At("GET /patients/{id:guid}/disclosures", _ => new("GET", P("/disclosures"), null, Alice), patientView: true),
        ["explain"] = At("GET /patients/{id:guid}/access/explain",
            _ => new("GET", P("/access/explain?grantee=riverside-physician&purpose=treatment&category=conditions"), null, Alice), patientView: true) with
            { Recorded = "access.explained.v1" },

        ["network"] = At("GET /network", _ => new("GET", "/network", null, null)),
        ["staff"] = At("POST /network/practitioners", _ => new("POST", "/network/practitioners", new { practitionerId = Fresh("spec-staff"), role = "nurse" }, null)),
        ["unstaff"] = new("DELETE /network/practitioners/{practitionerId}", async f => new("DELETE", $"/network/practitioners/{await f.NewNorthsideNurseAsync()}", null, null)),
        ["researcher+"] = At("POST /network/researchers", _ => new("POST", "/network/researchers", new { researcherId = Fresh("spec-researcher"), organisation = "Spec Institute" }, null)),
        ["propose"] = At("POST /network/proposals", _ => new("POST", "/network/proposals", AuthorizationFixture.PolicyInForce, null)),
        ["approve"] = new("POST /network/proposals/{proposalId:guid}/approvals", async f => new("POST", $"/network/proposals/{await f.NewProposalByLakesideAsync()}/approvals", null, null)),
        ["proposals"] = At("GET /network/proposals", _ => new("GET", "/network/proposals", null, null)),
        ["rotate"] = At("POST /network/hospitals/{hospitalId}/keys", _ => new("POST", "/network/hospitals/lakeside/keys", new { use = "endorsement" }, null)),

        ["declare"] = At("POST /research/projections", _ => new("POST", "/research/projections", new { name = Fresh("spec"), groupBy = new[] { "sex" }, k = 2 }, null)),
        ["read"] = At("GET /research/projections/{name}", f => new("GET", $"/research/projections/{f.ResearchProjection}", null, null)),
        ["head"] = At("GET /ledger/checkpoints/latest", _ => new("GET", "/ledger/checkpoints/latest", null, null)),
        ["inclusion"] = At("GET /ledger/proofs/inclusion", f => new("GET", $"/ledger/proofs/inclusion?eventId={f.LedgerEvent}&treeSize={f.SignedSizes.Earlier}", null, null)),
        ["demo"] = At("GET /demo/patients", _ => new("GET", "/demo/patients", null, null)),
        ["metadata"] = At("GET /fhir/metadata", _ => new("GET", "/fhir/metadata", null, null)),
        ["consistency"] = At("GET /ledger/proofs/consistency", f => new("GET", $"/ledger/proofs/consistency?from={f.SignedSizes.Earlier}&to={f.SignedSizes.Later}", null, null)),

        ["entry?"] = At("POST /patients/{id:guid}/entries", _ => Nobody(id => new("POST", $"/patients/{id}/entries", Entry, id))),
        ["access?"] = At("POST /patients/{id:guid}/access", _ => Nobody(id => new("POST", $"/patients/{id}/access", AccessTo("treatment", "conditions"), id))),
        ["everything?"] = At("GET /fhir/Patient/{id:guid}/$everything", _ => Nobody(id => new("GET", $"/fhir/Patient/{id}/$everything", null, id))),
        ["forget?"] = At("POST /patients/{id:guid}/forget", _ => Nobody(id => new("POST", $"/patients/{id}/forget", new { }, id))),
        ["explain?"] = At("GET /patients/{id:guid}/access/explain",
            _ => Nobody(id => new("GET", $"/patients/{id}/access/explain?purpose=treatment&category=conditions", null, id))),
    };

    private static Call Nobody(Func<Guid, Call> call) => call(Guid.NewGuid());

    // ===============================================================================================================

    private readonly record struct Expectation(int Status, bool Recorded)
    {
        public bool Refused => Status >= 400;

        public static Expectation Parse(string cell)
        {
            var recorded = cell.EndsWith('r');
            return new(int.Parse(cell.TrimEnd('r')), recorded);
        }
    }

    private Task<HttpResponseMessage> Send(Call call, string? token) => AuthorizationFixture.SendAsync(fixture.Host.Client(token), call);

    private static string? CodeOf(string body)
    {
        try
        {
            var root = JsonDocument.Parse(body).RootElement;
            if (root.TryGetProperty("resourceType", out var type) && type.GetString() == "OperationOutcome")
                return root.GetProperty("issue")[0].TryGetProperty("details", out var details) ? details.GetProperty("coding")[0].GetProperty("code").GetString() : null;
            return root.TryGetProperty("code", out var code) ? code.GetString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string Shorten(string body) => body.Length <= 300 ? body : body[..300] + "…";
}

/// <summary>The demo service for <see cref="AuthorizationTests"/>, with what some columns need: a research projection,
/// two signed ledger sizes, and fresh objects made on demand by the rightful callers.</summary>
public sealed class AuthorizationFixture : IAsyncLifetime
{
    public ServiceHost Host { get; private set; } = null!;

    /// <summary>A consent to riverside for a category its consent to all general categories already covers: it changes nobody's rights.</summary>
    public static readonly object HarmlessConsent = new
    {
        grantee = new { kind = "hospital", id = "riverside" }, categories = new[] { "vaccinations" }, purposes = new[] { "treatment" }, actions = new[] { "read" },
    };

    /// <summary>A proposal whose enactment changes nothing: the endorsement policy already in force.</summary>
    public static readonly object PolicyInForce = new { kind = "endorsement-policy", policy = "OutOf(2, *)" };

    public string ResearchProjection { get; } = "spec-declared";
    public Guid LedgerEvent { get; private set; }
    public (long Earlier, long Later) SignedSizes { get; private set; }

    public async Task InitializeAsync()
    {
        Host = await ServiceHost.StartAsync();
        await SendOkAsync("researcher", new("POST", "/research/projections", new { name = ResearchProjection, groupBy = new[] { "sex" }, k = 2 }, null));
        LedgerEvent = (await Host.Services.GetRequiredService<IEventStore>().ReadStreamAsync($"patient-{AuthorizationTests.Alice}").FirstAsync()).EventId;
        var earlier = await SignedHeadCoveringAsync((await Host.CountsAsync()).Events);
        await NewPatientAsync(); // something new for a later head to sign
        var later = await SignedHeadCoveringAsync(earlier + 1);
        SignedSizes = (earlier, later);
    }

    public async Task DisposeAsync() => await Host.DisposeAsync();

    public async Task<Guid> NewPatientAsync() =>
        (await SendOkAsync("northside physician", new("POST", "/patients", new { homeHospital = "northside", birthYear = 1990, sex = "male", name = "Throwaway Patient" }, null)))
        .GetProperty("patientId").GetGuid();

    private readonly SemaphoreSlim _fhirOnce = new(1, 1);
    private Guid? _fhirPatient;

    /// <summary>A bundle of the patient northside imported (on first use) from FHIR, with a new Condition each time.</summary>
    public async Task<(Guid Patient, JsonElement Bundle)> FhirBundleAsync()
    {
        static JsonElement Bundle(Guid condition) => JsonDocument.Parse($$$$$$"""
            {"resourceType":"Bundle","type":"transaction","entry":[
              {"fullUrl":"urn:uuid:5bec0000-0000-4000-8000-000000000001","resource":{"resourceType":"Patient","identifier":[{"system":"urn:spec:mrn","value":"spec-fhir"}],
                "name":[{"family":"Spec","given":["Fhir"]}],"gender":"male","birthDate":"1970-01-01"},"request":{"method":"POST","url":"Patient"}},
              {"fullUrl":"urn:uuid:{{{{{{condition}}}}}}","resource":{"resourceType":"Condition","subject":{"reference":"urn:uuid:5bec0000-0000-4000-8000-000000000001"},
                "code":{"coding":[{"system":"http://snomed.info/sct","code":"38341003","display":"Hypertension"}]}},"request":{"method":"POST","url":"Condition"}}]}
            """).RootElement.Clone();
        await _fhirOnce.WaitAsync();
        try
        {
            _fhirPatient ??= HealthEvents.Api.Fhir.FhirImportSummary.Read(await SendOkAsync("northside physician", new("POST", "/fhir", Bundle(Guid.NewGuid()), null))).PatientId;
        }
        finally { _fhirOnce.Release(); }
        return (_fhirPatient.Value, Bundle(Guid.NewGuid()));
    }

    /// <summary>A fresh throwaway patient who enrolled a device key with their own token.</summary>
    public async Task<Guid> NewPatientWithDeviceKeyAsync()
    {
        var patient = await NewPatientAsync();
        using var key = new TestDeviceKey();
        using var response = await SendAsync(Host.Client(Host.Mint("northside", "alice", Role.Patient, patient)),
            new("POST", $"/patients/{patient}/device-key", key.Enrolment(patient), patient));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return patient;
    }

    public async Task<Guid> NewEntryAsync() =>
        (await SendOkAsync("northside physician", new("POST", $"/patients/{AuthorizationTests.Alice}/entries",
            new { category = "conditions", code = new { system = "http://hl7.org/fhir/sid/icd-10", code = "R51" }, text = "Headache." }, null)))
        .GetProperty("entryId").GetGuid();

    public async Task<Guid> NewConsentAsync() =>
        (await SendOkAsync("alice (patient)", new("POST", $"/patients/{AuthorizationTests.Alice}/consents", HarmlessConsent, null)))
        .GetProperty("consentId").GetGuid();

    public async Task<string> NewNorthsideNurseAsync()
    {
        var id = $"spec-nurse-{Guid.NewGuid().ToString("N")[..10]}";
        await SendOkAsync("northside admin", new("POST", "/network/practitioners", new { practitionerId = id, role = "nurse" }, null));
        return id;
    }

    public async Task<Guid> NewProposalByLakesideAsync() =>
        (await SendOkAsync("lakeside admin", new("POST", "/network/proposals", PolicyInForce, null))).GetProperty("proposalId").GetGuid();

    /// <summary>Set-up by a demo token that must succeed.</summary>
    public async Task<JsonElement> SendOkAsync(string tokenName, AuthorizationTests.Call call)
    {
        using var response = await SendAsync(Host.As(tokenName), call);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"set-up {call.Method} {call.Url} by {tokenName}: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    public static async Task<HttpResponseMessage> SendAsync(HttpClient client, AuthorizationTests.Call call)
    {
        using var request = new HttpRequestMessage(new HttpMethod(call.Method), call.Url);
        if (call.Body is not null) request.Content = JsonContent.Create(call.Body, options: Json.Options);
        return await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }

    private async Task<long> SignedHeadCoveringAsync(long size)
    {
        var client = Host.As("northside physician");
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            using var response = await client.GetAsync("/ledger/checkpoints/latest");
            if (response.StatusCode == HttpStatusCode.OK
                && (await response.JsonAsync()).GetProperty("treeSize").GetInt64() is var signed && signed >= size)
                return signed;
            Assert.True(DateTime.UtcNow < deadline, $"no tree head covering {size} leaves was signed");
            await Task.Delay(100);
        }
    }
}
