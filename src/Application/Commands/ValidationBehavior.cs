using FluentValidation;
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
