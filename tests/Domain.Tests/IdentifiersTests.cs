namespace HealthEvents.Domain.Tests;

public class IdentifiersTests
{
    [Theory]
    [InlineData("riverside")]
    [InlineData("northside-physician")]
    [InlineData("Lakeside University")]
    [InlineData("sjúkrahús")]
    [InlineData("больница")]                 // Cyrillic is a script, not a trick: it is simply another id
    public void Plain_ids_of_any_script_are_identifiers(string id) => Assert.Null(Identifiers.Problem(id));

    [Theory]
    [InlineData("")]
    [InlineData(" riverside")]
    [InlineData("riverside ")]
    [InlineData("river\u200Bside")]          // zero-width space (Cf)
    [InlineData("river\u200Dside")]          // zero-width joiner
    [InlineData("\u202Eediservir")]          // right-to-left override
    [InlineData("river\u2066side")]          // left-to-right isolate
    [InlineData("river\uFEFFside")]          // byte order mark
    [InlineData("river\u00A0side")]          // no-break space
    [InlineData("river\nside")]
    [InlineData("river\u0000side")]
    [InlineData("river\uE000side")]          // private use
    [InlineData("river\uD800side")]          // lone surrogate
    [InlineData("rive\u0301r")]              // decomposed: not NFC
    public void Invisible_control_and_direction_characters_are_refused(string id) => Assert.NotNull(Identifiers.Problem(id));

    [Fact]
    public void Ids_compare_exactly_after_normalisation_form_C()
    {
        var decomposed = "Jose\u0301";
        Assert.NotNull(Identifiers.Problem(decomposed));
        Assert.Equal("José", Identifiers.Normalize(decomposed));
        Assert.Null(Identifiers.Problem(Identifiers.Normalize(decomposed)));
        // A look-alike is another id: Cyrillic "а" is not Latin "a".
        Assert.NotEqual("riverside", Identifiers.Normalize("rivеrside"));
    }
}
