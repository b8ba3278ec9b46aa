using System.Text.Json;
using FluentValidation;
using HealthEvents.Application.Commands;
using HealthEvents.Application.Ports;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Patients;
using Mediator;

namespace HealthEvents.Application.Patients;

public sealed record AddRecordEntryCommand(
    Guid PatientId, Guid? EntryId, string Category, CodeInput Code, [Narrative] string Text, DateTimeOffset? RecordedAt, CommandContext Context)
    : IRequest<EntryAddedResult>;

public sealed record EntryAddedResult(Guid EntryId, Receipt Receipt);

public sealed class AddRecordEntryValidator : AbstractValidator<AddRecordEntryCommand>
{
    public AddRecordEntryValidator()
    {
        RuleFor(c => c.EntryId).NotEqual(Guid.Empty);
        RuleFor(c => c.Category).OneOf<AddRecordEntryCommand, Category>();
        RuleFor(c => c.Code).NotNull();
        RuleFor(c => c.Code.System).ShortText(200).When(c => c.Code is not null);
        RuleFor(c => c.Code.Code).ShortText(100).When(c => c.Code is not null);
        RuleFor(c => c.Code.Display).MaximumLength(500).When(c => c.Code is not null);
        RuleFor(c => c.Text).NotEmpty().MaximumLength(20_000);
    }
}

public sealed class AddRecordEntryHandler(PatientStream patients, IPatientCipher cipher)
    : IRequestHandler<AddRecordEntryCommand, EntryAddedResult>
{
    public async ValueTask<EntryAddedResult> Handle(AddRecordEntryCommand c, CancellationToken ct)
    {
        var entryId = c.EntryId ?? Guid.NewGuid();
        var result = await patients.ExecuteSealedAsync(c.PatientId,
            t => cipher.EncryptAsync(c.PatientId, JsonSerializer.Serialize(new EntryContent(c.Code.Display, c.Text)), t),
            (content, at) => new AddRecordEntry(
                entryId, ValidationRules.Parse<Category>(c.Category), c.Code.System, c.Code.Code, content,
                (c.RecordedAt ?? at).ToUniversalTime(), c.Context.Actor, at), c.Context, ct);
        return new(entryId, result.Receipt);
    }
}
