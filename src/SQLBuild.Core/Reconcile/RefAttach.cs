using SQLBuild.Core.Adapters;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Identity;
using SQLBuild.Core.Logging;
using SQLBuild.Core.Operations;
using SQLBuild.Core.State;
using SQLBuild.Core.Faults;

namespace SQLBuild.Core.Reconcile;

/// <summary>
/// <c>Set-SqbModelRef</c> (upstream <c>sqb reconcile attach</c>): rebinds one model's ref to another
/// tracked version of that model and repoints its view. The typed confirmation is the caller's
/// (<see cref="ConfirmationText"/>). Under the VDE lock, everything is checked before anything
/// changes: the relation must be one of the model's tracked physical relations (C253) and exist in the
/// warehouse (C252), the logical target must not be a table (C250). Then the ref (with its ref event),
/// the view and the <c>attach</c> event change in ONE transaction when the state store shares the
/// warehouse. The VDE's status and checkpoints are not touched (as upstream).
/// </summary>
public sealed class RefAttach : EnvironmentOperation
{
    public RefAttach(StateStore store, ISqbLog log) : base(store, log) { }

    /// <summary>What the user must type: <c>attach &lt;model&gt;</c>.</summary>
    public static string ConfirmationText(string model) => $"attach {model}";

    /// <summary>Upstream's C262, when the typed text does not match.</summary>
    public static SqbException Cancelled(string environment, string model) =>
        new(ErrorCodes.AttachCancelled, "AttachCancelled", "reconcile attach cancelled", SqbErrorKind.OperationStopped, model,
            $"Type exactly '{ConfirmationText(model)}' (or pass -Confirmation '{ConfirmationText(model)}') to rebind the ref of '{model}' in '{environment}'.");

    public SqbRepairResult Attach(string? environment, string model, string physicalRelation)
    {
        var project = Store.Project;
        ReconcileGuard.RequireVirtualMode(project);
        var env = environment ?? Store.TargetName;
        Names.ValidateEnvironment(env);
        if (!project.Models.ContainsKey(model))
            throw new SqbException(ErrorCodes.UnknownReference, "UnknownModel", $"unknown model '{model}'", SqbErrorKind.ObjectNotFound, model,
                "Get-SqbModel lists the models of the project.");
        var wanted = ReconcileText.ParseRelation(physicalRelation)
                     ?? throw new SqbException(ErrorCodes.AttachArguments, "AttachArguments", "reconcile attach requires -Model and -PhysicalRelation",
                         SqbErrorKind.InvalidArgument, physicalRelation, $"Get-SqbReconcile -Environment {env} -Model {model} shows the expected relation.");

        return RunJournaled(new JournaledRun("attach", env, LockManager.EnvironmentKey(env), $"attach {model} to {physicalRelation}"),
            run => Attach(env, model, physicalRelation, wanted, run), result => result.Message);
    }

    private SqbRepairResult Attach(string env, string model, string asTyped, RelationName wanted, OperationContext run)
    {
        using var warehouse = Store.OpenWarehouseSession();
        using var separateState = Store.SharesWarehouse ? null : Store.OpenStateSession();
        var state = separateState ?? warehouse;
        Store.RequireInitialized(state);
        var repo = new StateRepository(state, Store.Sql);
        RequireLiveEnvironment(repo, env);
        var key = NodeKey.Model(model);

        // The relation must be a tracked version of this model (names compared as the engine folds them).
        var tracked = repo.PhysicalRelations().Where(p => p.Key == key).ToList();
        var target = tracked.FirstOrDefault(p => Same(p.Relation, wanted));
        if (target is null)
            throw new SqbException(ErrorCodes.UntrackedRelation, "UntrackedRelation",
                $"physical relation '{asTyped}' is not a tracked relation for '{model}'", SqbErrorKind.ObjectNotFound, asTyped,
                tracked.Count == 0
                    ? $"'{model}' has no tracked version yet: {ReconcileText.Build(env, model)}"
                    : $"Tracked relations of '{model}': {string.Join(", ", tracked.Select(t => t.Relation.ToString()).OrderBy(t => t, StringComparer.Ordinal))}");

        var view = Names.Logical(env, model);
        var catalog = ReconcileCatalog.Read(warehouse, view.Schema, Names.PhysicalSchema, new[] { target.Relation });
        var existing = catalog.Find(view);
        if (existing?.Kind == RelationKind.Table)
            throw ReconcileText.RepairRefusal(SqbFindingKind.LogicalIsTable, env, key, view);
        if (!catalog.Exists(target.Relation))
            throw ReconcileText.RepairRefusal(SqbFindingKind.MissingPhysical, env, key, view, target.Relation.ToString());

        var refs = repo.Refs(env);
        refs.TryGetValue(key, out var previous);
        var final = new Dictionary<NodeKey, string>(refs) { [key] = target.VersionHash };
        var writes = existing is not null && existing.Reads(target.Relation)
            ? Array.Empty<ViewWrite>()
            : LogicalViews.To(warehouse, new[] { (view, target.Relation, existing) });
        var message = $"attached {model} to {target.Relation}";
        run.Step(KillPoints.Attach.Switch, $"{model}: {previous ?? "<none>"} -> {target.VersionHash}");

        var locked = writes.Select(w => w.View).Append(target.Relation).ToList();
        IReadOnlyList<RelationName> touched = Store.SharesWarehouse ? locked : Array.Empty<RelationName>();   // a separate state store: state tables only
        var changes = SwitchTransaction.Run(state, run, fence: true, KillPoints.Attach.Switch, touched, () => Store.OpenStateSession(), Log, () =>
        {
            var refChanges = repo.ReplaceRefs(env, final, run.Id);
            repo.InsertReconcileEvent(env, "attach", "succeeded", message);
            if (Store.SharesWarehouse) LogicalViews.Write(warehouse, view.Schema, writes, KillPoints.Attach.Switch);
            return refChanges;
        });
        if (!Store.SharesWarehouse)
            SwitchTransaction.Run(warehouse, run, fence: false, KillPoints.Attach.Switch + ":views", locked, () => Store.OpenWarehouseSession(), Log, () =>
            {
                LogicalViews.Write(warehouse, view.Schema, writes, KillPoints.Attach.Switch);
                return 0;
            });
        Log.Verbose(message);
        return new SqbRepairResult
        {
            Environment = env, NodeType = NodeTypes.Model, Name = model, Relation = view.ToString(), PhysicalRelation = target.Relation.ToString(),
            Result = changes.Count > 0 ? SqbRepairResult.Attached : SqbRepairResult.Unchanged,
            Message = changes.Count > 0 || writes.Count > 0 ? message : $"{model} already attached to {target.Relation}",
            PreviousVersion = previous, Version = target.VersionHash, OperationId = run.Id,
        };
    }

    /// <summary>A bare name means the physical schema; names compare as the engine folds unquoted identifiers (case-insensitively).</summary>
    private bool Same(RelationName tracked, RelationName wanted) =>
        string.Equals(tracked.Name, wanted.Name, StringComparison.OrdinalIgnoreCase) &&
        string.Equals(tracked.Schema, wanted.Schema.Length == 0 ? Names.PhysicalSchema : wanted.Schema, StringComparison.OrdinalIgnoreCase);
}
