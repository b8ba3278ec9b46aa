using HealthEvents.Domain.Patients;

namespace HealthEvents.Domain.Tests.Patients;

using static Actors;
using static PatientFixtures;
using static Times;

/// <summary>The patient's device key: enrolled by the patient, replaced only by the home hospital, and then required on every consent change and forgetting.</summary>
public sealed class DeviceKeyTests : IDisposable
{
    private readonly DeviceKeyFixture _device = new();
    private readonly DeviceKeyFixture _lost = new();

    public void Dispose()
    {
        _device.Dispose();
        _lost.Dispose();
    }

    private static GrantConsent Grant(Actor? actor = null, string grantee = Hospitals.Other) =>
        new(ConsentId, Grantee.Hospital(grantee), [Category.Allergies], [Purpose.Treatment], [AccessAction.Read], Now, Days(30), actor ?? Patient, Now);

    private static ConsentGranted Granted() =>
        new(ConsentId, Grantee.Hospital(Hospitals.Other), [Category.Allergies], [Purpose.Treatment], [AccessAction.Read], Now, Days(30));

    [Fact]
    public void The_patient_enrols_a_device_key_that_signs_its_own_enrolment()
    {
        var enrol = _device.Enrol(Patient);
        PatientSpec.Given(Registered).When(enrol)
            .Then(new DeviceKeyEnrolled(_device.KeyId, _device.PublicKey, Now, enrol.Proof.Signature));
    }

    [Fact]
    public void Only_the_patient_enrols_the_first_key()
    {
        PatientSpec.Given(Registered).When(_device.Enrol(Admin)).ThenFails(RejectionKind.Forbidden, "not-the-patient");
        PatientSpec.Given(Registered).When(_device.Enrol(Physician)).ThenFails(RejectionKind.Forbidden, "not-the-patient");
        PatientSpec.Given(Registered).When(_device.Enrol(OtherPatient)).ThenFails(RejectionKind.Forbidden, "not-the-patient");
    }

    [Fact]
    public void An_enrolment_proves_the_key_is_held_and_fresh()
    {
        // Signed by another key than the one enrolled.
        var enrol = _device.Enrol(Patient);
        PatientSpec.Given(Registered).When(enrol with { Proof = enrol.Proof with { Signature = _lost.Sign(PatientStatements.Enrolment(PatientId, _device.KeyId, Now, _device.PublicKey)) } })
            .ThenFails(RejectionKind.Forbidden, "patient-signature-invalid");
        PatientSpec.Given(Registered).When(_device.Enrol(Patient, signedAt: Now.AddHours(-1))).ThenFails(RejectionKind.Forbidden, "patient-signature-stale");
        PatientSpec.Given(Registered).When(enrol with { PublicKey = "bm90IGEga2V5" }).ThenFails(RejectionKind.Invalid, "device-key-invalid");
    }

    [Fact]
    public void A_patient_with_a_key_cannot_enrol_another_one_alone()
    {
        PatientSpec.Given(Registered, _lost.Enrolled()).When(_device.Enrol(Patient)).ThenFails(RejectionKind.Conflict, "device-key-enrolled");
    }

    [Fact]
    public void The_home_hospitals_admin_replaces_a_lost_key_with_a_reason()
    {
        var enrol = _device.Enrol(Admin, reason: "Phone lost; identity checked at the desk.");
        PatientSpec.Given(Registered, _lost.Enrolled()).When(enrol)
            .Then(new DeviceKeyReplaced(_device.KeyId, _device.PublicKey, Now, enrol.Proof.Signature, _lost.KeyId, "Phone lost; identity checked at the desk."));
        PatientSpec.Given(Registered, _lost.Enrolled()).When(_device.Enrol(Admin)).ThenFails(RejectionKind.Invalid, "reason-required");
        PatientSpec.Given(Registered, _lost.Enrolled()).When(_device.Enrol(OtherAdmin, "lost")).ThenFails(RejectionKind.Forbidden, "home-hospital-admin-required");
        PatientSpec.Given(Registered, _lost.Enrolled()).When(_device.Enrol(Physician, "lost")).ThenFails(RejectionKind.Forbidden, "home-hospital-admin-required");
        PatientSpec.Given(Registered, _lost.Enrolled()).When(_lost.Enrol(Admin, "again")).ThenFails(RejectionKind.Conflict, "device-key-same");
    }

    [Fact]
    public void Before_any_enrolment_consent_changes_go_unsigned_and_a_signature_cannot_be_checked()
    {
        PatientSpec.Given(Registered).When(Grant()).Then(Granted());
        PatientSpec.Given(Registered).When(_device.Signed(Grant())).ThenFails(RejectionKind.Conflict, "no-device-key");
    }

    [Fact]
    public void A_signed_grant_records_the_patients_signature_after_the_consent()
    {
        var signed = _device.Signed(Grant());
        PatientSpec.Given(Registered, _device.Enrolled()).When(signed)
            .Then(Granted(), new SignedByPatient(PatientStatements.GrantConsentAction, _device.KeyId, Now, signed.Signature!.Signature));
    }

    [Fact]
    public void Signed_revocations_and_forgetting_record_the_signature_too()
    {
        var revoke = _device.Signed(new RevokeConsent(ConsentId, Patient, Now));
        PatientSpec.Given(Registered, _device.Enrolled(), Granted()).When(revoke)
            .Then(new ConsentRevoked(ConsentId), new SignedByPatient(PatientStatements.RevokeConsentAction, _device.KeyId, Now, revoke.Signature!.Signature));
        var forget = _device.Signed(new ForgetPatient(Patient, Now));
        PatientSpec.Given(Registered, _device.Enrolled()).When(forget)
            .Then(new PatientForgotten(Now), new SignedByPatient(PatientStatements.ForgetAction, _device.KeyId, Now, forget.Signature!.Signature));
    }

    [Fact]
    public void Once_enrolled_every_consent_change_and_forgetting_needs_the_signature()
    {
        var given = PatientSpec.Given(Registered, _device.Enrolled(), Granted());
        given.When(Grant() with { ConsentId = Ids.Of(99) }).ThenFails(RejectionKind.Forbidden, "patient-signature-required");
        given.When(new RevokeConsent(ConsentId, Patient, Now)).ThenFails(RejectionKind.Forbidden, "patient-signature-required");
        given.When(new ForgetPatient(Patient, Now)).ThenFails(RejectionKind.Forbidden, "patient-signature-required");
    }

    [Fact]
    public void A_signature_of_another_command_or_by_another_key_does_not_count()
    {
        var given = PatientSpec.Given(Registered, _device.Enrolled());
        // The home hospital's node changes the grantee of a grant the patient signed.
        var signed = _device.Signed(Grant());
        given.When(signed with { Grantee = Grantee.Hospital(Hospitals.Third) }).ThenFails(RejectionKind.Forbidden, "patient-signature-invalid");
        // ... or signs with a key of its own under the patient's key id.
        given.When(_lost.Signed(Grant(), keyId: _device.KeyId)).ThenFails(RejectionKind.Forbidden, "patient-signature-invalid");
        given.When(signed with { Signature = signed.Signature! with { Signature = "not base64!" } }).ThenFails(RejectionKind.Forbidden, "patient-signature-invalid");
    }

    [Fact]
    public void A_replaced_key_and_an_old_signature_sign_nothing()
    {
        var replaced = (DeviceKeyReplaced)PatientDecider.Decide(_device.Enrol(Admin, "lost"), PatientSpec.Fold(Registered, _lost.Enrolled()))[0];
        PatientSpec.Given(Registered, _lost.Enrolled(), replaced).When(_lost.Signed(Grant())).ThenFails(RejectionKind.Forbidden, "patient-signature-wrong-key");
        var signed = _device.Signed(Grant());
        PatientSpec.Given(Registered, _lost.Enrolled(), replaced).When(signed).Then(Granted(),
            new SignedByPatient(PatientStatements.GrantConsentAction, _device.KeyId, Now, signed.Signature!.Signature));

        var given = PatientSpec.Given(Registered, _device.Enrolled());
        given.When(_device.Signed(Grant(), signedAt: Now - PatientStatements.MaxAge - TimeSpan.FromSeconds(1))).ThenFails(RejectionKind.Forbidden, "patient-signature-stale");
        given.When(_device.Signed(Grant(), signedAt: Now + PatientStatements.MaxAhead + TimeSpan.FromSeconds(1))).ThenFails(RejectionKind.Forbidden, "patient-signature-stale");
    }

    [Fact]
    public void A_narrowing_is_signed_as_the_consent_it_leaves()
    {
        var narrow = new NarrowConsent(ConsentId, null, null, null, Days(10), Patient, Now);
        var narrowed = PatientDecider.Decide(narrow, PatientSpec.Fold(Registered, Granted()));
        var statement = PatientStatements.Of(narrow, PatientId, _device.KeyId, Now, narrowed);
        var signature = new PatientSignature(_device.KeyId, Now, _device.Sign(statement));
        var given = PatientSpec.Given(Registered, _device.Enrolled(), Granted());

        given.When(narrow with { Signature = signature })
            .Then([.. narrowed, new SignedByPatient(PatientStatements.NarrowConsentAction, _device.KeyId, Now, signature.Signature)]);
        given.When(narrow).ThenFails(RejectionKind.Forbidden, "patient-signature-required");
        // The same signature does not carry a narrowing to another end.
        given.When(narrow with { ValidUntil = Days(5), Signature = signature }).ThenFails(RejectionKind.Forbidden, "patient-signature-invalid");
    }

    /// <summary>What a verifier of the stored stream relies on: the events a signed command decides rebuild the very bytes the patient signed.</summary>
    [Fact]
    public void The_decided_events_rebuild_the_statement_the_patient_signed()
    {
        var narrow = new NarrowConsent(ConsentId, [Category.Allergies], null, null, Days(10), Patient, Now);
        var withGrant = PatientSpec.Fold(Registered, _device.Enrolled(), Granted());
        var decisions = new (IPatientSigned Command, PatientState State)[]
        {
            (Grant(), PatientSpec.Fold(Registered, _device.Enrolled())),
            (narrow, withGrant),
            (new RevokeConsent(ConsentId, Patient, Now), withGrant),
            (new ForgetPatient(Patient, Now), withGrant),
        };
        foreach (var (command, state) in decisions)
        {
            // A narrowing is signed as the consent it leaves: the page decides it first, as the unsigned decision here.
            var signed = command switch
            {
                NarrowConsent n => n with
                {
                    Signature = new PatientSignature(_device.KeyId, Now, _device.Sign(
                        PatientStatements.Of(n, PatientId, _device.KeyId, Now, PatientDecider.Decide(n, PatientSpec.Fold(Registered, Granted()))))),
                },
                _ => _device.Signed(command),
            };
            var events = PatientDecider.Decide(signed, state);
            var signature = Assert.IsType<SignedByPatient>(events[^1]);

            Assert.Equal(PatientStatements.ActionOf(command), PatientStatements.ActionOf(events[0]));
            Assert.Equal(PatientStatements.Of(command, PatientId, signature.KeyId, signature.SignedAt, events),
                PatientStatements.OfDecided(events[0], PatientId, signature.KeyId, signature.SignedAt));
        }
        Assert.Null(PatientStatements.ActionOf(new SignedByPatient(PatientStatements.GrantConsentAction, _device.KeyId, Now, "")));
    }

    [Fact]
    public void The_commands_own_rules_come_before_the_signature() =>
        PatientSpec.Given(Registered, _device.Enrolled()).When(Grant(Physician)).ThenFails(RejectionKind.Forbidden, "not-the-patient");

    [Fact]
    public void With_a_device_key_a_consent_is_not_narrowed_unsigned_even_by_the_patient_s_own_token()
    {
        var consent = Consent(Grantee.Hospital(Hospitals.Other), [Category.Allergies, Category.Medications], until: Days(30));
        var narrow = new NarrowConsent(ConsentId, [Category.Allergies], null, null, null, Patient, Now);
        PatientSpec.Given(Registered, consent).When(narrow)
            .Then(new ConsentNarrowed(ConsentId, Grantee.Hospital(Hospitals.Other), [Category.Allergies], [Purpose.Treatment], [AccessAction.Read], Days(30)));
        PatientSpec.Given(Registered, consent, _device.Enrolled()).When(narrow)
            .ThenFails(RejectionKind.Forbidden, "patient-signature-required");
    }

    [Fact]
    public void Every_signed_command_has_a_statement()
    {
        // The one rule covers every IPatientSigned command: each must have a statement for the patient to sign.
        var signedTypes = typeof(IPatientSigned).Assembly.GetTypes().Where(t => t.IsClass && typeof(IPatientSigned).IsAssignableFrom(t)).ToList();
        Assert.NotEmpty(signedTypes);
        foreach (var type in signedTypes)
            Assert.Contains(EveryCommand.Values, c => c.GetType() == type
                && PatientStatements.Of((IPatientSigned)c, PatientId, "k", Now, PatientDecider.Decide(c, PatientSpec.Fold(Registered, Granted()))).Length > 0);
    }
}

/// <summary>The statement bytes, spelt out field by field as README and statement.js describe them: stored signatures depend on them never changing.</summary>
public sealed class PatientStatementTests
{
    private static byte[] Field(byte[] bytes) => [.. System.BitConverter.GetBytes(bytes.Length).Reverse(), .. bytes];

    private static byte[] Text(string text) => Field(System.Text.Encoding.UTF8.GetBytes(text));

    private static byte[] Ticks(DateTimeOffset t) => Field([.. System.BitConverter.GetBytes(t.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks).Reverse()]);

    [Fact]
    public void A_revocation_signs_tag_stream_action_key_time_and_consent()
    {
        var consent = Guid.Parse("0f8fad5b-d9cb-469f-a165-70867728950e");
        var expected = System.Text.Encoding.ASCII.GetBytes("healthevents/patient-statement/v1")
            .Concat(Text($"patient-{Actors.PatientId}")).Concat(Text("revoke-consent")).Concat(Text("0123456789abcdef"))
            .Concat(Ticks(Times.Now)).Concat(Text("0f8fad5b-d9cb-469f-a165-70867728950e")).ToArray();

        Assert.Equal(expected, PatientStatements.Of(new RevokeConsent(consent, Actors.Patient, Times.Now), Actors.PatientId, "0123456789abcdef", Times.Now));
    }

    [Fact]
    public void A_grant_signs_its_lists_as_one_field_each_and_an_open_end_as_an_empty_field()
    {
        var grant = new GrantConsent(Ids.Of(5), Grantee.OfRole(Role.HomeCare), [Category.LabResults, Category.MentalHealth], [Purpose.Treatment],
            [AccessAction.Read, AccessAction.Write], Times.Now, null, Actors.Patient, Times.Now);
        byte[] List(params string[] items) => Field([.. items.SelectMany(Text)]);
        var expected = System.Text.Encoding.ASCII.GetBytes("healthevents/patient-statement/v1")
            .Concat(Text($"patient-{Actors.PatientId}")).Concat(Text("grant-consent")).Concat(Text("k")).Concat(Ticks(Times.Now))
            .Concat(Text(Ids.Of(5).ToString())).Concat(Text("role")).Concat(Text("home-care"))
            .Concat(List("lab-results", "mental-health")).Concat(List("treatment")).Concat(List("read", "write"))
            .Concat(Ticks(Times.Now)).Concat(Field([])).ToArray();

        Assert.Equal(expected, PatientStatements.Of(grant, Actors.PatientId, "k", Times.Now));
        // Every tick counts: two times a tick apart are two statements.
        Assert.NotEqual(expected, PatientStatements.Of(grant with { ValidFrom = Times.Now.AddTicks(1) }, Actors.PatientId, "k", Times.Now));
    }
}
