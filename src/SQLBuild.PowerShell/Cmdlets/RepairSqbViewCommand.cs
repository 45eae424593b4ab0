using System.Management.Automation;
using SQLBuild.PowerShell.Completion;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Reconcile;
using SQLBuild.Core.State;

namespace SQLBuild.PowerShell;

/// <summary>
/// Recreates logical views from state (upstream <c>sqb reconcile repair-view</c>). Pipeline input is
/// collected and repaired at the end: the VDE lock once per environment and all of its views in one
/// transaction. A finding about a view it cannot repair (a table in its place, a missing physical relation) passes
/// through as a non-terminating error; a finding that is not about a view (a failed operation, an unexpected view, a
/// missing ref) is passed over with a warning naming what handles it, so that under ErrorActionPreference Stop the
/// pipeline stops only on a view that really could not be repaired.
/// </summary>
[Cmdlet(VerbsDiagnostic.Repair, "SqbView", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(SqbRepairResult))]
public sealed class RepairSqbViewCommand : SqbCmdlet
{
    /// <summary>The virtual data environment (default: the target's name).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("VirtualEnv")]
    [ValidatePattern("^[a-z][a-z0-9_]*$")]
    [ArgumentCompleter(typeof(EnvironmentCompleter))]
    public string? Environment { get; set; }

    /// <summary>Models (or seeds) whose views to recreate.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Model")]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(ModelCompleter))]
    public string[] Name { get; set; } = Array.Empty<string>();

    /// <summary><c>model</c> or <c>seed</c> (default: whichever the VDE has a ref for, model first).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? NodeType { get; set; }

    /// <summary>A finding from Get-SqbReconcile (bound from the pipeline), so an error can name it.</summary>
    [Parameter(ValueFromPipeline = true, DontShow = true)]
    public SqbReconcileFinding? InputObject { get; set; }

    private readonly Dictionary<string, List<(ViewRepairRequest Request, SqbReconcileFinding? Finding)>> _pending = new(StringComparer.Ordinal);
    private Core.Project.CompiledProject? _project;

    protected override void ProcessSqbRecord()
    {
        var project = _project = CompileProject();
        ReconcileGuard.RequireVirtualMode(project);
        var finding = InputObject is { } f && Name.Length == 1 && Name[0] == f.Name ? f : null;
        if (finding is not null && ReconcileText.IsPassedOver(finding))
        {
            WriteSqbWarning(ReconcileText.PassOver(finding));
            return;
        }
        if (finding is not null && !finding.Repairable)
        {
            WriteSqbError(ReconcileText.PassThrough(finding));
            return;
        }
        var nodeType = NodeType?.ToLowerInvariant();
        if (nodeType is not (null or NodeTypes.Model or NodeTypes.Seed))
            throw new SqbException(ErrorCodes.ConfigInvalid, "InvalidNodeType", $"node type '{NodeType}' must be 'model' or 'seed'",
                SqbErrorKind.InvalidArgument, NodeType, "Use -NodeType model or -NodeType seed.");
        var env = Environment ?? project.Config.ActiveTarget.Name;
        var names = new Core.Identity.VirtualNames(project.Config, WarehouseDialect(project));
        names.ValidateEnvironment(env);
        foreach (var n in Name)
        {
            if (!ShouldProcess($"view {names.Logical(env, n)} of virtual environment '{env}'", "Repair view")) continue;
            if (!_pending.TryGetValue(env, out var list)) _pending[env] = list = new();
            list.Add((new ViewRepairRequest(n, nodeType), finding));
        }
    }

    protected override void EndSqbProcessing()
    {
        if (_project is not { } project) return;
        foreach (var (env, items) in _pending)
        {
            var outcomes = Run(log => new ViewRepair(StateStore.Open(project, log, "Reconcile commands"), log) { Cancellation = StopToken }
                .Repair(env, items.Select(i => i.Request).ToList()));
            WriteSqbErrors(outcomes.Select(outcome =>
            {
                if (outcome.Error is not { } error) return (outcome.Result, (SqbException?)null);
                var finding = items.FirstOrDefault(i => i.Request.Name == outcome.Result.Name && i.Finding is not null).Finding;
                return (outcome.Result, finding is null ? error
                    : new SqbException(error.Code, error.ErrorName, error.Message, error.Kind, finding, error.RecommendedAction));
            }).ToList(), WriteObject);
        }
    }

    private static Core.Adapters.SqlDialect WarehouseDialect(Core.Project.CompiledProject project) =>
        Core.Adapters.WarehouseFactory.Dialect(project.Config.ActiveTarget.Connection);
}
