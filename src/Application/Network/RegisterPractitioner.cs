using FluentValidation;
using HealthEvents.Application.Commands;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Network;
using Mediator;

namespace HealthEvents.Application.Network;

/// <summary>A hospital's admin registers a practitioner of their own hospital.</summary>
public sealed record RegisterPractitionerCommand(string PractitionerId, string Role, CommandContext Context)
    : IRequest<PractitionerRegisteredResult>;

public sealed record PractitionerRegisteredResult(string PractitionerId, string HospitalId, Receipt Receipt);

public sealed class RegisterPractitionerValidator : AbstractValidator<RegisterPractitionerCommand>
{
    public RegisterPractitionerValidator()
    {
        RuleFor(c => c.PractitionerId).SubjectId();
        RuleFor(c => c.Role).Must(r => r is not null && KebabCase.TryParse<Role>(r, out var role) && role.IsPractitionerRole())
            .WithMessage((_, r) => $"'{r}' is not one of: {string.Join(", ", PractitionerRoles)}.");
    }

    private static IEnumerable<string> PractitionerRoles => Enum.GetValues<Role>().Where(r => r.IsPractitionerRole()).Select(KebabCase.Of);
}

public sealed class RegisterPractitionerHandler(NetworkStream network)
    : IRequestHandler<RegisterPractitionerCommand, PractitionerRegisteredResult>
{
    public async ValueTask<PractitionerRegisteredResult> Handle(RegisterPractitionerCommand c, CancellationToken ct)
    {
        var hospital = c.Context.Actor.Hospital;
        var result = await network.ExecuteAsync(at => new RegisterPractitioner(
            hospital, c.PractitionerId, ValidationRules.Parse<Role>(c.Role), c.Context.Actor, at), c.Context, ct);
        return new(c.PractitionerId, hospital, result.Receipt);
    }
}

/// <summary>Field rules for the ids of people and hospitals in the network.</summary>
public static class NetworkValidationRules
{
    /// <summary>Ids appear in tokens and URLs: short, no spaces, no control characters.</summary>
    public static IRuleBuilderOptions<T, string?> SubjectId<T>(this IRuleBuilder<T, string?> rule) =>
        rule.NotEmpty().MaximumLength(100).Matches("^[A-Za-z0-9][A-Za-z0-9._@-]*$")
            .WithMessage("An id is letters, digits, '.', '_', '@' or '-', starting with a letter or digit.");
}
