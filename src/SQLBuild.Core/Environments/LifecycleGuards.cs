using SQLBuild.Core.Adapters;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Project;
using SQLBuild.Core.State;

namespace SQLBuild.Core.Environments;

/// <summary>
/// What adopt and detach share (SPEC §8, upstream's <c>interactive_operation.py</c>): the
/// <c>unsuffixed_virtual_env</c> guard, the typed confirmation, the copy guard and reference rendering.
/// Every guard runs before anything is written, so a refusal leaves the warehouse and the state as they were.
/// </summary>
internal static class LifecycleGuards
{
    /// <summary>C256: the target's own VDE must be the unsuffixed one, so its views land at the original names.</summary>
    public static void RequireUnsuffixed(StateStore store, string command)
    {
        var target = store.TargetName;
        if (store.Settings.UnsuffixedVirtualEnv == target) return;
        throw new SqbException(ErrorCodes.UnsuffixedEnvironmentRequired, "UnsuffixedEnvironmentRequired",
            $"state {command} requires [targets.{target}.state] unsuffixed_virtual_env = '{target}'",
            SqbErrorKind.InvalidOperation, target,
            $"Add unsuffixed_virtual_env = \"{target}\" under [targets.{target}.state] in sqlbuild_project.toml " +
            $"(or sqlbuild_local.toml), so the views of virtual environment '{target}' keep the original names in schema '{store.Project.Config.ActiveTarget.Schema}'.");
    }

    /// <summary>The exact text the operator types: <c>adopt dev</c> / <c>detach dev</c>.</summary>
    public static string ConfirmationText(string command, string target) => $"{command} {target}";

    /// <summary>C258 <c>state adopt cancelled</c> unless <paramref name="confirmation"/> is exactly the expected text.</summary>
    public static void RequireConfirmation(string command, string target, string? confirmation)
    {
        var expected = ConfirmationText(command, target);
        if (string.Equals(confirmation, expected, StringComparison.Ordinal)) return;
        throw new SqbException(ErrorCodes.LifecycleCancelled, "Cancelled", $"state {command} cancelled", SqbErrorKind.OperationStopped, target,
            $"Nothing was changed. To go ahead, type exactly '{expected}' at the prompt, or pass -Confirmation '{expected}'.");
    }

    /// <summary>C284: a copy is needed (the engine cannot move, or the version is shared) and -AllowCopy was not given.</summary>
    public static SqbException CopyRequired(string command, string target, SqlDialect dialect, IReadOnlyList<string> names, string why) =>
        new(ErrorCodes.CopyRequired, "CopyRequired",
            $"state {command} requires -AllowCopy: {why}; {names.Count} table(s) would be copied ({string.Join(", ", names)})",
            SqbErrorKind.InvalidOperation, target,
            $"Re-run with -AllowCopy to copy the data ({dialect.Kind} {(dialect.SupportsMoveTable ? "moves tables natively, but these must stay where they are" : "cannot move a table to another schema")}).");

    /// <summary>Renders a model's SQL with each reference resolved by <paramref name="resolve"/>; sources go to their declared table.</summary>
    public static string Render(CompiledProject project, SqlDialect dialect, string sql, IReadOnlyList<Reference> refs,
        Func<string, RelationName> resolve) =>
        ReferenceRenderer.Render(sql, refs, r => dialect.Qualify(r.Kind == ReferenceKind.Source
            ? project.Sources.TryGetValue(r.Name, out var src)
                ? new RelationName(src.Schema, src.Table)
                : throw new SqbException(ErrorCodes.UnknownReference, "UnknownSource", $"unknown source '{r.Name}'", SqbErrorKind.ObjectNotFound, r.Name)
            : resolve(r.Name)));

    /// <summary>The references of SQL text that is not a project file (a stored model version).</summary>
    public static IReadOnlyList<Reference> Scan(string sql, string what) => ReferenceScanner.Scan(sql, what, new LineMap(sql));

    public static string? Materialized(CompiledProject project, NodeKey key) =>
        key.NodeType == NodeTypes.Model && project.Models.TryGetValue(key.NodeName, out var m)
            ? EnumNames.Snake(m.Config.Materialized) : null;
}
