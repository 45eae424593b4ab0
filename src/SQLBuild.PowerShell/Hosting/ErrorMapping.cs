using System.Management.Automation;
using SQLBuild.Core.Errors;

namespace SQLBuild.PowerShell.Hosting;

/// <summary>SqbException -> ErrorRecord (SPEC §12): code-first ErrorId, category, target, recommended action.</summary>
internal static class ErrorMapping
{
    public static ErrorCategory Category(SqbErrorKind kind) => kind switch
    {
        SqbErrorKind.InvalidArgument => ErrorCategory.InvalidArgument,
        SqbErrorKind.InvalidData => ErrorCategory.InvalidData,
        SqbErrorKind.InvalidOperation => ErrorCategory.InvalidOperation,
        SqbErrorKind.ObjectNotFound => ErrorCategory.ObjectNotFound,
        SqbErrorKind.ResourceBusy => ErrorCategory.ResourceBusy,
        SqbErrorKind.ResourceUnavailable => ErrorCategory.ResourceUnavailable,
        SqbErrorKind.ConnectionError => ErrorCategory.ConnectionError,
        SqbErrorKind.ParserError => ErrorCategory.ParserError,
        SqbErrorKind.WriteError => ErrorCategory.WriteError,
        SqbErrorKind.OperationStopped => ErrorCategory.OperationStopped,
        _ => ErrorCategory.NotSpecified,
    };

    public static ErrorRecord ToRecord(SqbException ex)
    {
        var record = new ErrorRecord(ex, ex.ErrorId, Category(ex.Kind), ex.Target);
        record.ErrorDetails = new ErrorDetails(ex.Message) { RecommendedAction = ex.RecommendedAction ?? string.Empty };
        return record;
    }

    /// <summary>An unexpected exception: still no stack trace in the message, secrets redacted.</summary>
    public static ErrorRecord Unexpected(Exception ex, object? target)
    {
        var message = Redaction.Redact(ex.Message);
        var record = new ErrorRecord(new InvalidOperationException(message, ex), ErrorCodes.Unexpected + ".UnexpectedError", ErrorCategory.NotSpecified, target);
        record.ErrorDetails = new ErrorDetails(message);
        return record;
    }
}
