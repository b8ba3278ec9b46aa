using System.Text.Json;
using FluentValidation;
using HealthEvents.Application.Commands;
using HealthEvents.Application.Ports;
using HealthEvents.Domain.Common;

namespace HealthEvents.Application.Patients;

/// <summary>Demographics as they are sealed into events: encrypted as one JSON document under the patient's key.</summary>
public sealed record Demographics(string Name)
{
    // Encrypt before deciding: nonces are random, and endorsers must see the same bytes.
    public Task<string> SealAsync(IPatientCipher cipher, Guid patientId, CancellationToken ct) =>
        cipher.EncryptAsync(patientId, JsonSerializer.Serialize(this), ct);
}

/// <summary>The demographic fields a command carries, validated alike wherever they appear.</summary>
public interface IDemographicsInput
{
    int BirthYear { get; }
    string Sex { get; }
    string Name { get; }
}

public sealed class DemographicsValidator : AbstractValidator<IDemographicsInput>
{
    public DemographicsValidator()
    {
        RuleFor(c => c.BirthYear).InclusiveBetween(1900, DateTime.UtcNow.Year);
        RuleFor(c => c.Sex).OneOf<IDemographicsInput, Sex>();
        RuleFor(c => c.Name).ShortText(300);
    }
}
