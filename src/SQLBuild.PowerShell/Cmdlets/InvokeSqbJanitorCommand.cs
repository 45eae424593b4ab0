using System.Management.Automation;
using SQLBuild.Core.Environments;
using SQLBuild.Core.State;

namespace SQLBuild.PowerShell;

/// <summary>
/// Removes what no environment needs any more: unreferenced physical versions no view reads, checkpoints beyond
/// max_checkpoints, expired environments, older state backups, expired locks and history older than history_days
/// (upstream <c>sqb janitor</c>). Refuses (J001) while an adopt, detach, promote or rollback is unfinished.
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "SqbJanitor", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(SqbJanitorItem))]
public sealed class InvokeSqbJanitorCommand : SqbCmdlet
{
    /// <summary>Overrides [janitor] retention_days: environments unchanged for this many days expire (0 = now).</summary>
    [Parameter]
    [ValidateRange(0, 36500)]
    public int? RetentionDays { get; set; }

    /// <summary>Overrides [janitor] max_checkpoints: checkpoints kept per environment (newest first).</summary>
    [Parameter]
    [ValidateRange(1, 100000)]
    public int? MaxCheckpoints { get; set; }

    /// <summary>Overrides [janitor] history_days: journal, ref event and reconcile rows older than this many days are pruned.</summary>
    [Parameter]
    [ValidateRange(1, 36500)]
    public int? HistoryDays { get; set; }

    /// <summary>Remove without asking (still honours -WhatIf).</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessSqbRecord()
    {
        var project = CompileProject();
        var options = new JanitorOptions { RetentionDays = RetentionDays, MaxCheckpoints = MaxCheckpoints, HistoryDays = HistoryDays };
        var plan = Run(log => new Janitor(StateStore.Open(project, log), log) { Cancellation = StopToken }.Plan(options));
        if (plan.Count == 0)
        {
            WriteVerbose("janitor: nothing to remove");
            return;
        }
        if (WhatIfMode)
        {
            foreach (var item in plan) ShouldProcess(item.Name, $"Remove {item.Kind} ({item.Reason})");
            return;
        }
        var summary = string.Join(", ", plan.GroupBy(i => i.Kind).Select(g => $"{g.Count()} {g.Key}"));
        if (!ShouldProcessUnlessForced(Force, $"target '{project.Config.ActiveTarget.Name}': {summary}", "Remove")) return;
        foreach (var item in Run(log => new Janitor(StateStore.Open(project, log), log) { Cancellation = StopToken }.Run(options)))
        {
            WriteObject(item);
        }
    }
}
