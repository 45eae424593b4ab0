using SQLBuild.Core.Adapters;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Logging;
using SQLBuild.Core.Operations;
using SQLBuild.Core.Project;
using SQLBuild.Core.State;

namespace SQLBuild.Core.Environments;

/// <summary>
/// What adopt and detach share (SPEC §8, upstream's <c>interactive_operation.py</c>): they work on the target's own
/// VDE, after the <c>unsuffixed_virtual_env</c>
/// guard, the typed confirmation and the copy guard; and they render model SQL against relations of their choosing.
/// Every guard runs before anything is written, so a refusal leaves the warehouse and the state as they were.
/// </summary>
public abstract class LifecycleOperation : EnvironmentOperation
{
    private protected LifecycleOperation(StateStore store, ISqbLog log, string command) : base(store, log) => Command = command;

    /// <summary><c>adopt</c> or <c>detach</c>: the journal's operation type and the word of its messages.</summary>
    protected string Command { get; }

    public string Target => Store.TargetName;

    /// <summary>The exact text the operator types: <c>adopt dev</c> / <c>detach dev</c>.</summary>
    public string ConfirmationText => $"{Command} {Target}";

    protected CompiledProject Project => Store.Project;
    protected SqlDialect Dialect => Store.Warehouse.Dialect;

    /// <summary>A journaled run on the target's VDE. Each run has an id of its own (its lock owner, unique per run); a retry
    /// continues from what the catalog and the state show, not from the interrupted run's id.</summary>
    protected JournaledRun Run() =>
        new(Command, Target, LockManager.EnvironmentKey(Target), $"starting {Command}");

    /// <summary>C256: the target's own VDE must be the unsuffixed one, so its views land at the original names.</summary>
    protected void RequireUnsuffixed()
    {
        if (Store.Settings.UnsuffixedVirtualEnv == Target) return;
        throw new SqbException(ErrorCodes.UnsuffixedEnvironmentRequired, "UnsuffixedEnvironmentRequired",
            $"state {Command} requires [targets.{Target}.state] unsuffixed_virtual_env = '{Target}'",
            SqbErrorKind.InvalidOperation, Target,
            $"Add unsuffixed_virtual_env = \"{Target}\" under [targets.{Target}.state] in sqlbuild_project.toml " +
            $"(or sqlbuild_local.toml), so the views of virtual environment '{Target}' keep the original names in schema '{Project.Config.ActiveTarget.Schema}'.");
    }

    /// <summary>C258 <c>state adopt cancelled</c> unless <paramref name="confirmation"/> is exactly <see cref="ConfirmationText"/>.</summary>
    protected void RequireConfirmation(string? confirmation)
    {
        if (string.Equals(confirmation, ConfirmationText, StringComparison.Ordinal)) return;
        throw new SqbException(ErrorCodes.LifecycleCancelled, "Cancelled", $"state {Command} cancelled", SqbErrorKind.OperationStopped, Target,
            $"Nothing was changed. To go ahead, type exactly '{ConfirmationText}' at the prompt, or pass -Confirmation '{ConfirmationText}'.");
    }

    /// <summary>C284: a copy is needed (the engine cannot move, or the version is shared) and -AllowCopy was not given.</summary>
    protected SqbException CopyRequired(IReadOnlyList<string> names, string why) =>
        new(ErrorCodes.CopyRequired, "CopyRequired",
            $"state {Command} requires -AllowCopy: {why}; {names.Count} table(s) would be copied ({string.Join(", ", names)})",
            SqbErrorKind.InvalidOperation, Target,
            $"Re-run with -AllowCopy to copy the data ({Dialect.Kind} {(Dialect.SupportsMoveTable ? "moves tables natively, but these must stay where they are" : "cannot move a table to another schema")}).");

    /// <summary>Renders a model's SQL with each reference resolved by <paramref name="resolve"/>; sources go to their declared table.</summary>
    protected string Render(string sql, IReadOnlyList<Reference> refs, Func<string, RelationName> resolve) =>
        ReferenceRenderer.Render(sql, refs, r => Dialect.Qualify(r.Kind == ReferenceKind.Source
            ? Project.Sources.TryGetValue(r.Name, out var source)
                ? new RelationName(source.Schema, source.Table)
                : throw new SqbException(ErrorCodes.UnknownReference, "UnknownSource", $"unknown source '{r.Name}'", SqbErrorKind.ObjectNotFound, r.Name)
            : resolve(r.Name)));

    /// <summary>The references of SQL text that is not a project file (a stored model version).</summary>
    protected static IReadOnlyList<Reference> Scan(string sql, string what) => ReferenceScanner.Scan(sql, what, new LineMap(sql));

    /// <summary>A relation move of this operation, as the cmdlets report it.</summary>
    protected SqbRelationMove Move(NodeKey key, string action, string? from, string? to, string versionHash, string message) => new()
    {
        Operation = Command, Environment = Target, Name = key.NodeName, NodeType = key.NodeType,
        Materialized = key.NodeType == NodeTypes.Model && Project.Models.TryGetValue(key.NodeName, out var model)
            ? EnumNames.Snake(model.Config.Materialized) : null,
        Action = action, From = from, To = to, VersionHash = versionHash, Message = message,
    };
}
