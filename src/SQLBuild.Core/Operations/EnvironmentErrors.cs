using SQLBuild.Core.Errors;

namespace SQLBuild.Core.Operations;

/// <summary>The refusals every operation on a named VDE shares: it does not exist (S020), it is detached (S028).</summary>
public static class EnvironmentErrors
{
    /// <summary>S020 <c>unknown virtual environment '&lt;vde&gt;'</c>; by default the fix is to build it.</summary>
    public static SqbException Unknown(string environment, string? recommendedAction = null) =>
        new(ErrorCodes.UnknownEnvironment, "UnknownEnvironment", $"unknown virtual environment '{environment}'", SqbErrorKind.ObjectNotFound,
            environment, recommendedAction ?? $"Build it first: Invoke-SqbBuild -Environment {environment}");

    /// <summary>S028: build, promote, rollback, repair and attach refuse a detached VDE.</summary>
    public static SqbException Detached(string environment) =>
        new(ErrorCodes.EnvironmentDetached, "EnvironmentDetached", $"virtual environment '{environment}' is detached", SqbErrorKind.InvalidOperation, environment,
            "Run ConvertTo-SqbVirtualEnvironment (adopt) again or choose a non-detached virtual environment.");
}
