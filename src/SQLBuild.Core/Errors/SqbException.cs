namespace SQLBuild.Core.Errors;

/// <summary>
/// How a failure should be classified for the caller. The PowerShell layer maps each value to
/// an <c>ErrorCategory</c>; the core stays free of any PowerShell reference.
/// </summary>
public enum SqbErrorKind
{
    NotSpecified,
    InvalidArgument,
    InvalidData,
    InvalidOperation,
    ObjectNotFound,
    ResourceBusy,
    ResourceUnavailable,
    ConnectionError,
    ParserError,
    WriteError,
    OperationStopped,
}

/// <summary>
/// The one exception type of the core. <see cref="Code"/> is the stable code (upstream's
/// <c>S014</c>, <c>C242</c>, ... or our own <c>P0xx</c> project and <c>W0xx</c> warehouse codes),
/// <see cref="ErrorName"/> a short PascalCase name, so the ErrorId reads <c>S014.EnvironmentLocked</c>.
/// Messages are short, lowercase where upstream's are, and name the thing.
/// </summary>
public sealed class SqbException : Exception
{
    public SqbException(string code, string errorName, string message, SqbErrorKind kind = SqbErrorKind.NotSpecified,
        object? target = null, string? recommendedAction = null, Exception? inner = null)
        : base(message, inner)
    {
        Code = code;
        ErrorName = errorName;
        Kind = kind;
        Target = target;
        RecommendedAction = recommendedAction;
    }

    public string Code { get; }
    public string ErrorName { get; }
    public SqbErrorKind Kind { get; }
    public object? Target { get; }
    public string? RecommendedAction { get; }

    /// <summary>The ErrorId PowerShell shows: code first, then the short name.</summary>
    public string ErrorId => $"{Code}.{ErrorName}";
}
