using FluentValidation;
using HealthEvents.Application.Commands;
using HealthEvents.Application.Network;
using HealthEvents.Application.Ports;
using HealthEvents.Domain.Common;
using HealthEvents.Domain.Research;
using Mediator;

namespace HealthEvents.Application.Research;

public sealed record ResearchCodeInput(string System, string Code);

/// <summary>Which entries count. Categories: empty or absent means any (each entry still needs a research consent covering its category).</summary>
public sealed record ResearchFilterInput(
    IReadOnlyList<string>? Categories, IReadOnlyList<ResearchCodeInput>? Codes, DateTimeOffset? From, DateTimeOffset? To);

public sealed record DeclareResearchProjectionCommand(
    string Name, ResearchFilterInput? Filter, IReadOnlyList<string>? GroupBy, int? K, CommandContext Context)
    : IRequest<ResearchProjectionDeclaredResult>;

/// <param name="Projection">The projection's name in the runner and for <c>./run.sh rebuild</c>.</param>
public sealed record ResearchProjectionDeclaredResult(string Name, string Projection, Receipt Receipt);

public sealed class DeclareResearchProjectionValidator : AbstractValidator<DeclareResearchProjectionCommand>
{
    public DeclareResearchProjectionValidator()
    {
        RuleFor(c => c.Name).NotEmpty().Matches(ResearchDecider.NamePattern())
            .WithMessage("A name is 3 to 63 lowercase letters, digits or hyphens, starting with a letter.");
        RuleFor(c => c.K).InclusiveBetween(ResearchDecider.MinK, ResearchDecider.MaxK).When(c => c.K is not null);
        RuleForEach(c => c.GroupBy).OneOf<DeclareResearchProjectionCommand, ResearchDimension>().When(c => c.GroupBy is not null);
        RuleFor(c => c.GroupBy).Must(g => g!.Distinct(StringComparer.Ordinal).Count() == g!.Count)
            .WithMessage("Each dimension is named once.").When(c => c.GroupBy is not null);
        When(c => c.Filter is not null, () =>
        {
            RuleForEach(c => c.Filter!.Categories).OneOf<DeclareResearchProjectionCommand, Category>().When(c => c.Filter!.Categories is not null);
            RuleForEach(c => c.Filter!.Codes).ChildRules(code =>
            {
                code.RuleFor(x => x.System).ShortText(200);
                code.RuleFor(x => x.Code).ShortText(100);
            }).When(c => c.Filter!.Codes is not null);
            RuleFor(c => c.Filter!.Codes).Must(codes => codes!.Count <= 100).WithMessage("At most 100 codes.").When(c => c.Filter!.Codes is not null);
            RuleFor(c => c.Filter!.To).GreaterThan(c => c.Filter!.From).When(c => c.Filter!.From is not null && c.Filter!.To is not null)
                .WithMessage("to must be after from.");
        });
    }
}

public sealed class DeclareResearchProjectionHandler(ResearchStream research, NetworkDirectory directory)
    : IRequestHandler<DeclareResearchProjectionCommand, ResearchProjectionDeclaredResult>
{
    public async ValueTask<ResearchProjectionDeclaredResult> Handle(DeclareResearchProjectionCommand c, CancellationToken ct)
    {
        var actor = c.Context.Actor;
        var organisation = OrganisationOf(directory.Current, actor.Id) ?? OrganisationOf(await directory.RefreshAsync(ct), actor.Id);
        var filter = new ResearchFilter(
            ValidationRules.ParseAll<Category>(c.Filter?.Categories ?? []),
            (c.Filter?.Codes ?? []).Select(x => new ResearchCode(x.System.Trim(), x.Code.Trim())).Distinct().ToList(),
            c.Filter?.From, c.Filter?.To);
        var result = await research.ExecuteAsync(at => new DeclareResearchProjection(
            c.Name, filter, ValidationRules.ParseAll<ResearchDimension>(c.GroupBy ?? []), c.K ?? ResearchDecider.DefaultK,
            organisation, actor, at), c.Context, ct);
        return new(c.Name, ResearchProjectionNames.Of(c.Name), result.Receipt);
    }

    private static string? OrganisationOf(Domain.Network.NetworkState network, string researcherId) =>
        network.Researchers.TryGetValue(researcherId, out var r) ? r.Organisation : null;
}
