using System.Management.Automation;
using SQLBuild.PowerShell.Completion;
using SQLBuild.Core.Reconcile;
using SQLBuild.Core.State;
using SQLBuild.PowerShell.Hosting;

namespace SQLBuild.PowerShell;

/// <summary>
/// Rebinds a model's ref to another tracked version and repoints its view, after a typed confirmation
/// (upstream <c>sqb reconcile attach</c>).
/// </summary>
[Cmdlet(VerbsCommon.Set, "SqbModelRef", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(SqbRepairResult))]
public sealed class SetSqbModelRefCommand : SqbCmdlet
{
    /// <summary>The virtual data environment (default: the target's name).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("VirtualEnv")]
    [ValidatePattern("^[a-z][a-z0-9_]*$")]
    [ArgumentCompleter(typeof(EnvironmentCompleter))]
    public string? Environment { get; set; }

    /// <summary>The model whose ref to move.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Name")]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(ModelCompleter))]
    public string Model { get; set; } = "";

    /// <summary>One of the model's tracked physical relations: <c>schema.name</c> (or the bare name in the physical schema).</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNullOrEmpty]
    public string PhysicalRelation { get; set; } = "";

    /// <summary>The typed confirmation, exactly <c>attach &lt;model&gt;</c>, for scripts (interactive sessions are asked).</summary>
    [Parameter]
    public string? Confirmation { get; set; }

    protected override void ProcessSqbRecord()
    {
        var project = CompileProject();
        ReconcileGuard.RequireVirtualMode(project);
        var env = Environment ?? project.Config.ActiveTarget.Name;
        var expected = RefAttach.ConfirmationText(Model);
        if (WhatIfRequested)
        {
            ShouldProcess($"ref of '{Model}' in virtual environment '{env}'", $"Attach to {PhysicalRelation}");
            return;
        }
        // The typed confirmation replaces the ShouldProcess prompt; -WhatIf is handled above.
        var typed = TypedConfirmation.Require(this, Confirmation, expected, Model,
            $"reconcile attach requires the typed confirmation '{expected}', and this session cannot prompt",
            $"Pass -Confirmation '{expected}'.");
        if (!string.Equals(typed.Trim(), expected, StringComparison.Ordinal))
            throw RefAttach.Cancelled(env, Model);
        WriteObject(Run(log => new RefAttach(StateStore.Open(project, log, "Reconcile commands"), log) { Cancellation = StopToken }.Attach(env, Model, PhysicalRelation)));
    }
}
