using System.Management.Automation;
using SQLBuild.PowerShell.Completion;
using SQLBuild.Core.Reconcile;
using SQLBuild.Core.State;

namespace SQLBuild.PowerShell;

/// <summary>Reports drift between a VDE's state and the warehouse, read-only (upstream <c>sqb reconcile</c>).</summary>
[Cmdlet(VerbsCommon.Get, "SqbReconcile")]
[OutputType(typeof(SqbReconcileFinding))]
public sealed class GetSqbReconcileCommand : SqbCmdlet
{
    /// <summary>The virtual data environment (default: the target's name).</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("VirtualEnv")]
    [ValidatePattern("^[a-z][a-z0-9_]*$")]
    [ArgumentCompleter(typeof(EnvironmentCompleter))]
    public string? Environment { get; set; }

    /// <summary>Check only this model (or seed); operations and unexpected views are then not checked.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(ModelCompleter))]
    public string? Model { get; set; }

    protected override void ProcessSqbRecord()
    {
        var project = CompileProject();
        ReconcileGuard.RequireVirtualMode(project);
        var findings = Run(log => new Reconciler(StateStore.Open(project, log, "Reconcile commands"), log).Report(Environment, Model));
        WriteObject(findings, enumerateCollection: true);
    }
}
