namespace HealthEvents.Domain.Common;

public enum RejectionKind
{
    /// <summary>The command breaks a rule about its own content.</summary>
    Invalid,
    /// <summary>The actor may not do this (role, hospital or consent).</summary>
    Forbidden,
    /// <summary>The thing the command refers to does not exist.</summary>
    NotFound,
    /// <summary>The command contradicts the current state (already exists, already revoked).</summary>
    Conflict,
}

/// <summary>Why a command was refused. Codes are stable and machine-readable; messages carry no personal data.</summary>
public sealed record Rejection(RejectionKind Kind, string Code, string Message);

public sealed class RejectedException(Rejection rejection) : Exception(rejection.Message)
{
    public Rejection Rejection { get; } = rejection;

    public static RejectedException Invalid(string code, string message) => new(new(RejectionKind.Invalid, code, message));
    public static RejectedException Forbidden(string code, string message) => new(new(RejectionKind.Forbidden, code, message));
    public static RejectedException NotFound(string code, string message) => new(new(RejectionKind.NotFound, code, message));
    public static RejectedException Conflict(string code, string message) => new(new(RejectionKind.Conflict, code, message));
}
