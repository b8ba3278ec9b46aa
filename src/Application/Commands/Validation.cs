using System.Collections;
using System.Collections.Concurrent;
using System.Reflection;
using FluentValidation;
using FluentValidation.Results;
using HealthEvents.Domain.Common;
using Mediator;

namespace HealthEvents.Application.Commands;

/// <summary>
/// The one validation step of the pipeline: the text rule over every string (<see cref="TextRules"/>), then the
/// command's own validators; an invalid command fails with field errors before anything is loaded or appended.
/// </summary>
public sealed class ValidationBehavior<TMessage, TResponse>(IEnumerable<IValidator<TMessage>> validators)
    : IPipelineBehavior<TMessage, TResponse>
    where TMessage : notnull, IMessage
{
    public async ValueTask<TResponse> Handle(TMessage message, MessageHandlerDelegate<TMessage, TResponse> next, CancellationToken cancellationToken)
    {
        var failures = new List<FluentValidation.Results.ValidationFailure>(TextRules.Check(message));
        foreach (var validator in validators)
            failures.AddRange((await validator.ValidateAsync(message, cancellationToken)).Errors);
        if (failures.Count > 0) throw new ValidationException(failures);
        return await next(message, cancellationToken);
    }
}

/// <summary>Marks narrative text (an entry's text, a reason): the one kind of field where tab, CR and LF are allowed.</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter)]
public sealed class NarrativeAttribute : Attribute;

/// <summary>
/// The one text rule, for every string of every command (and, through the API, every query parameter): no control
/// character (Unicode category Cc — U+0000 above all, which PostgreSQL cannot store in jsonb and which once stalled
/// every view), no bidirectional embedding, override or isolate (U+202A–U+202E, U+2066–U+2069: they reorder how the
/// text around them is displayed, so a reason could show the patient other words than it holds — "Trojan Source",
/// CVE-2021-42574), and no ill-formed UTF-16 (a lone surrogate). Narrative fields (<see cref="NarrativeAttribute"/>)
/// may hold tab, CR and LF; identifiers, codes, systems and names none at all. Mixed left-to-right and right-to-left
/// text needs none of the refused characters (the Unicode Bidirectional Algorithm, UAX #9, orders it by itself; the
/// marks U+200E, U+200F and U+061C stay allowed for the rare neutral character). Applied by the validation step to the
/// whole command, nested inputs and lists included, so a field added later is covered without anyone remembering to.
/// </summary>
public static class TextRules
{
    private static readonly ConcurrentDictionary<Type, (PropertyInfo Property, bool Narrative)[]> Shapes = new();

    /// <summary>Why <paramref name="text"/> is refused, or null. Null text is another rule's business.</summary>
    public static string? Problem(string? text, bool narrative)
    {
        if (text is null) return null;
        if (!Utf16.IsWellFormed(text)) return "Contains an invalid character (a lone UTF-16 surrogate).";
        foreach (var c in text)
        {
            if (char.IsControl(c) && !(narrative && c is '\t' or '\r' or '\n'))
                return narrative
                    ? "Contains a control character; only tab, carriage return and line feed are allowed in text."
                    : "Contains a control character; none is allowed here.";
            if (IsBidiControl(c))
                return "Contains a bidirectional embedding, override or isolate character (U+202A-U+202E, U+2066-U+2069); none is allowed.";
        }
        return null;
    }

    /// <summary>The explicit directional formatting characters of UAX #9 §2.1–2.4 (embeddings, overrides, isolates and their terminators).</summary>
    public static bool IsBidiControl(char c) => c is >= '\u202A' and <= '\u202E' or >= '\u2066' and <= '\u2069';

    /// <summary>Every refused string of <paramref name="message"/>, by its property path (as the field errors name them).</summary>
    public static IEnumerable<ValidationFailure> Check(object message) => Walk(message, "", depth: 0);

    private static IEnumerable<ValidationFailure> Walk(object value, string prefix, int depth)
    {
        if (depth > 4) yield break; // command shapes are shallow; this only guards against cycles
        foreach (var (property, narrative) in Shape(value.GetType()))
        {
            var path = prefix + property.Name;
            switch (property.GetValue(value))
            {
                case string text when Problem(text, narrative) is { } problem:
                    yield return new ValidationFailure(path, problem);
                    break;
                case string:
                    break;
                case IEnumerable items:
                    var index = 0;
                    foreach (var item in items)
                    {
                        var itemPath = $"{path}[{index++}]";
                        if (item is string s && Problem(s, narrative) is { } itemProblem) yield return new ValidationFailure(itemPath, itemProblem);
                        else if (item is not null and not string && IsInput(item.GetType()))
                            foreach (var failure in Walk(item, itemPath + ".", depth + 1)) yield return failure;
                    }
                    break;
                case { } nested when IsInput(nested.GetType()):
                    foreach (var failure in Walk(nested, path + ".", depth + 1)) yield return failure;
                    break;
            }
        }
    }

    /// <summary>Our own input records (nested in commands); the command context is the caller's, already checked.</summary>
    private static bool IsInput(Type type) =>
        type.Namespace?.StartsWith("HealthEvents.", StringComparison.Ordinal) == true && type.IsClass && type != typeof(CommandContext);

    private static (PropertyInfo, bool)[] Shape(Type type) => Shapes.GetOrAdd(type, t =>
    {
        // Positional records put the attribute on the constructor parameter; look there as well as on the property.
        var parameters = t.GetConstructors().SelectMany(c => c.GetParameters())
            .Where(p => p.GetCustomAttribute<NarrativeAttribute>() is not null).Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        return [.. t.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetIndexParameters().Length == 0 && p.PropertyType != typeof(CommandContext))
            .Select(p => (p, p.GetCustomAttribute<NarrativeAttribute>() is not null || parameters.Contains(p.Name)))];
    });
}

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

    /// <summary>Shorthand for every category that is not sensitive: a general consent or access never names the sensitive ones.</summary>
    public const string AllGeneral = "all";

    /// <summary>A non-empty list of categories (kebab-case), <see cref="AllGeneral"/> allowed.</summary>
    public static IRuleBuilderOptions<T, IReadOnlyList<string>?> Categories<T>(this IRuleBuilder<T, IReadOnlyList<string>?> rule) =>
        rule.NonEmptyListOf<T, Category>(AllGeneral);

    /// <summary>The categories a validated list names, <see cref="AllGeneral"/> expanded, each once, in order.</summary>
    public static IReadOnlyList<Category> ParseCategories(IEnumerable<string> categories) =>
        categories.SelectMany(c => c == AllGeneral
                ? Domain.Common.Categories.All.Where(x => !x.IsSensitive())
                : [Parse<Category>(c)])
            .Distinct()
            .ToList();

    public static IRuleBuilderOptions<T, string?> ShortText<T>(this IRuleBuilder<T, string?> rule, int max = 200) =>
        rule.NotEmpty().MaximumLength(max);

    public static TEnum Parse<TEnum>(string value) where TEnum : struct, Enum =>
        KebabCase.TryParse<TEnum>(value, out var parsed) ? parsed : throw new ArgumentException("Unvalidated enum value.");

    public static IReadOnlyList<TEnum> ParseAll<TEnum>(IEnumerable<string> values) where TEnum : struct, Enum =>
        values.Select(Parse<TEnum>).Distinct().ToList();
}
