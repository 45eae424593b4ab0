using SQLBuild.Core.Errors;

namespace SQLBuild;

/// <summary>
/// Why a build node failed, typed: the code, short error name and kind that its error record carries.
/// <see cref="SqbNodeResult.ErrorCode"/> shows it as one ErrorId such as <c>B002.AuditFailed</c>.
/// </summary>
public sealed record SqbNodeError(string Code, string ErrorName, SqbErrorKind Kind)
{
    /// <summary>The node could not be built (the default when no code was recorded).</summary>
    public static readonly SqbNodeError NodeFailed = new(ErrorCodes.BuildFailed, "NodeFailed", SqbErrorKind.WriteError);

    /// <summary>An error-severity audit failed: the data is wrong, so nothing was swapped in.</summary>
    public static readonly SqbNodeError AuditFailed = new(ErrorCodes.AuditFailed, "AuditFailed", SqbErrorKind.InvalidData);

    /// <summary>A data test returned failing rows.</summary>
    public static readonly SqbNodeError TestFailed = new(ErrorCodes.TestFailed, "TestFailed", SqbErrorKind.InvalidData);

    /// <summary>An enforced contract was not met: the output's columns or types differ from the declared ones.</summary>
    public static readonly SqbNodeError ContractViolated = new(ErrorCodes.ContractViolated, "ContractViolated", SqbErrorKind.InvalidData);

    private static readonly SqbNodeError[] DataFailures = { AuditFailed, TestFailed, ContractViolated };

    /// <summary>Code first, then the short name: <c>B002.AuditFailed</c>.</summary>
    public string ErrorId => $"{Code}.{ErrorName}";

    /// <summary>
    /// The typed error behind a recorded ErrorId. The build pipelines record a failed node's error as its ErrorId
    /// string (<see cref="AuditFailed"/>, <see cref="TestFailed"/>, or the ErrorId of the exception that stopped the
    /// node); this is the one place that reads such a string back. A failure that is not about the data is a write
    /// error, whatever its code.
    /// </summary>
    public static SqbNodeError FromErrorId(string? errorId)
    {
        if (errorId is null) return NodeFailed;
        var known = Array.Find(DataFailures, f => f.ErrorId == errorId);
        if (known is not null) return known;
        var dot = errorId.IndexOf('.');
        return dot > 0
            ? new SqbNodeError(errorId[..dot], errorId[(dot + 1)..], SqbErrorKind.WriteError)
            : new SqbNodeError(errorId, NodeFailed.ErrorName, SqbErrorKind.WriteError);
    }
}
