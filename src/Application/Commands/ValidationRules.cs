using FluentValidation;
using HealthEvents.Domain.Common;

namespace HealthEvents.Application.Commands;

/// <summary>Field rules shared by the command validators.</summary>
public static class ValidationRules
{
    public static IRuleBuilderOptions<T, string?> OneOf<T, TEnum>(this IRuleBuilder<T, string?> rule)
        where TEnum : struct, Enum =>
        rule.Must(v => v is not null && KebabCase.TryParse<TEnum>(v, out _))
            .WithMessage((_, v) => $"'{v}' is not one of: {string.Join(", ", Enum.GetValues<TEnum>().Select(KebabCase.Of))}.");

    public static IRuleBuilderOptions<T, IReadOnlyList<string>?> NonEmptyListOf<T, TEnum>(this IRuleBuilder<T, IReadOnlyList<string>?> rule, params string[] alsoAllowed)
        where TEnum : struct, Enum =>
        rule.NotEmpty().WithMessage("At least one value is required.")
            .Must(values => values is null || values.All(v => v is not null && (alsoAllowed.Contains(v) || KebabCase.TryParse<TEnum>(v, out _))))
            .WithMessage(_ => $"Each value must be one of: {string.Join(", ", alsoAllowed.Concat(Enum.GetValues<TEnum>().Select(KebabCase.Of)))}.");

    public static IRuleBuilderOptions<T, string?> ShortText<T>(this IRuleBuilder<T, string?> rule, int max = 200) =>
        rule.NotEmpty().MaximumLength(max);

    public static TEnum Parse<TEnum>(string value) where TEnum : struct, Enum =>
        KebabCase.TryParse<TEnum>(value, out var parsed) ? parsed : throw new ArgumentException("Unvalidated enum value.");

    public static IReadOnlyList<TEnum> ParseAll<TEnum>(IEnumerable<string> values) where TEnum : struct, Enum =>
        values.Select(Parse<TEnum>).Distinct().ToList();
}
