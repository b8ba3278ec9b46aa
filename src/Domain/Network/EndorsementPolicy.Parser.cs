using System.Collections.Immutable;
using System.Globalization;

namespace HealthEvents.Domain.Network;

public sealed partial class EndorsementPolicy
{
    /// <summary>Policies are short; the limits keep a hostile one from costing anything.</summary>
    public const int MaxLength = 2000;

    private const int MaxDepth = 16;

    /// <summary>Reads a policy. Throws <see cref="FormatException"/> saying what is wrong and where.</summary>
    public static EndorsementPolicy Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (string.IsNullOrWhiteSpace(text)) throw new FormatException("The endorsement policy is empty.");
        if (text.Length > MaxLength) throw new FormatException($"The endorsement policy is longer than {MaxLength} characters.");
        return new EndorsementPolicy(new Parser(text).ParseWhole());
    }

    public static bool TryParse(string? text, out EndorsementPolicy? policy, out string? error)
    {
        try
        {
            policy = Parse(text ?? "");
            error = null;
            return true;
        }
        catch (FormatException e)
        {
            policy = null;
            error = e.Message;
            return false;
        }
    }

    private sealed class Parser(string text)
    {
        private int _at;

        public Node ParseWhole()
        {
            var root = ParseNode(depth: 0);
            if (root is AllMembers)
                throw Error(0, "'*' stands for alternatives and belongs inside a gate, as in OutOf(2, *)");
            SkipSpace();
            if (_at < text.Length) throw Error(_at, $"unexpected '{text[_at]}' after the end of the policy");
            return root;
        }

        private Node ParseNode(int depth)
        {
            if (depth > MaxDepth) throw Error(_at, $"gates nest deeper than {MaxDepth}");
            SkipSpace();
            if (_at >= text.Length) throw Error(_at, "a principal or a gate is missing");
            if (text[_at] == '*')
            {
                _at++;
                return new AllMembers();
            }

            var start = _at;
            var word = ReadWord();
            if (word.Length == 0) throw Error(start, $"unexpected '{text[start]}': expected a hospital id, 'home', '*' or a gate");
            SkipSpace();
            if (_at < text.Length && text[_at] == '(')
            {
                _at++;
                return ParseGate(word, start, depth);
            }
            return string.Equals(word, "home", StringComparison.OrdinalIgnoreCase) ? new HomePrincipal() : new HospitalPrincipal(word);
        }

        private Gate ParseGate(string keyword, int start, int depth)
        {
            var kind = keyword.ToUpperInvariant() switch
            {
                "AND" => GateKind.And,
                "OR" => GateKind.Or,
                "OUTOF" => GateKind.OutOf,
                "MAJORITY" => GateKind.Majority,
                _ => throw Error(start, $"unknown gate '{keyword}' (gates are AND, OR, OutOf and Majority)"),
            };

            var threshold = 0;
            if (kind == GateKind.OutOf)
            {
                SkipSpace();
                var numberAt = _at;
                var number = ReadWord();
                if (number.Length == 0 || !number.All(char.IsAsciiDigit)
                    || !int.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out threshold))
                    throw Error(numberAt, "OutOf needs a count first, as in OutOf(2, a, b, c)");
                if (threshold < 1) throw Error(numberAt, "OutOf needs a count of at least 1");
                Expect(',', "a ',' after the count of OutOf");
            }

            var children = ImmutableArray.CreateBuilder<Node>();
            var argumentsAt = _at;
            SkipSpace();
            if (_at < text.Length && text[_at] == ')')
                throw Error(_at, $"{Name(kind)} needs at least one principal or gate");
            while (true)
            {
                var childAt = _at;
                var child = ParseNode(depth + 1);
                if (child is not Gate && children.Contains(child))
                    throw Error(childAt, $"{Name(kind)} names '{child}' twice");
                children.Add(child);
                SkipSpace();
                if (_at >= text.Length) throw Error(_at, $"')' is missing to close {Name(kind)}");
                if (text[_at] == ',')
                {
                    _at++;
                    continue;
                }
                if (text[_at] == ')')
                {
                    _at++;
                    break;
                }
                throw Error(_at, $"unexpected '{text[_at]}' in {Name(kind)}: expected ',' or ')'");
            }

            // With '*' the number of alternatives is only known against the members of the day.
            if (kind == GateKind.OutOf && !children.Any(c => c is AllMembers) && threshold > children.Count)
                throw Error(argumentsAt, $"OutOf({threshold}, ...) has only {children.Count} alternative{(children.Count == 1 ? "" : "s")}");
            return new Gate(kind, threshold, children.ToImmutable());
        }

        private string ReadWord()
        {
            var start = _at;
            while (_at < text.Length && (char.IsAsciiLetterOrDigit(text[_at]) || text[_at] is '-' or '_')) _at++;
            return text[start.._at];
        }

        private void Expect(char c, string what)
        {
            SkipSpace();
            if (_at >= text.Length || text[_at] != c) throw Error(_at, $"expected {what}");
            _at++;
        }

        private void SkipSpace()
        {
            while (_at < text.Length && char.IsWhiteSpace(text[_at])) _at++;
        }

        private static string Name(GateKind kind) => kind switch
        {
            GateKind.And => "AND",
            GateKind.Or => "OR",
            GateKind.Majority => "Majority",
            _ => "OutOf",
        };

        private FormatException Error(int position, string message) =>
            new($"Endorsement policy '{text}' is not valid at position {position + 1}: {message}.");
    }
}
