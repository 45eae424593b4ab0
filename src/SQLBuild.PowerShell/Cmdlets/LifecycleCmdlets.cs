using System.Management.Automation;
using SQLBuild.Core.Environments;
using SQLBuild.PowerShell.Hosting;
using SQLBuild.Core.Errors;
using SQLBuild.Core.State;

namespace SQLBuild.PowerShell;

/// <summary>What adopt and detach share: -AllowCopy, the typed confirmation and the -WhatIf listing.</summary>
public abstract class TypedConfirmationCmdlet : SqbCmdlet
{
    /// <summary>Copy tables where they cannot be moved (DuckDB; on detach also versions other environments share).</summary>
    [Parameter]
    public SwitchParameter AllowCopy { get; set; }

    /// <summary>The typed confirmation for scripts: exactly 'adopt &lt;target&gt;' / 'detach &lt;target&gt;'. Without it the
    /// cmdlet asks for it on the host, and fails in a non-interactive session.</summary>
    [Parameter]
    [AllowEmptyString]
    public string? Confirmation { get; set; }

    /// <summary>-WhatIf, given or through $WhatIfPreference.</summary>
    protected bool WhatIfMode =>
        WhatIfRequested || GetVariableValue("WhatIfPreference") is true or SwitchParameter { IsPresent: true };

    /// <summary>One "What if:" line per relation that would change.</summary>
    protected void ListMoves(IReadOnlyList<SqbRelationMove> moves)
    {
        foreach (var m in moves)
        {
            if (m.Changes) ShouldProcess(m.From ?? m.Name, Describe(m));
            else WriteVerbose($"{m.Name}: {m.Action} ({m.Message})");
        }
    }

    private static string Describe(SqbRelationMove m)
    {
        var what = m.NodeType == "seed" ? $"seed '{m.Name}'" : $"{m.Materialized ?? "model"} model '{m.Name}'";
        return m.Action switch
        {
            "move" => $"Move {what} to {m.To}",
            "copy" => $"Copy {what} to {m.To}",
            "view" => $"Recreate {what} as view {m.To}",
            "finish" => $"Point the view of {what} at {m.To}",
            "drop" => $"Drop the physical view of {what}",
            _ => $"{m.Action} {what}",
        };
    }

    /// <summary>
    /// The typed confirmation: -Confirmation when given; otherwise read from the host after the prompt
    /// <c>Type 'adopt dev' to confirm: </c> (<see cref="TypedConfirmation"/>). A session that cannot ask
    /// (-NonInteractive, redirected input, Azure DevOps, a host without UI) is an error, never a hang.
    /// </summary>
    protected string ReadConfirmation(string command, string target, string expected) =>
        Confirmation ?? TypedConfirmation.Read(this, expected)
        ?? throw new SqbException(ErrorCodes.ConfirmationRequired, "ConfirmationRequired",
            $"state {command} needs a typed confirmation and this session cannot ask for one", SqbErrorKind.InvalidOperation, target,
            $"Pass -Confirmation '{expected}' (scripts and pipelines), or run it in an interactive session and type '{expected}'.");
}

/// <summary>
/// Turns the relations of a direct-mode build into the target's virtual data environment: versioned physical
/// relations with views at the original names (upstream <c>sqb state adopt</c>).
/// </summary>
[Cmdlet(VerbsData.ConvertTo, "SqbVirtualEnvironment", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(SqbAdoptionResult))]
public sealed class ConvertToSqbVirtualEnvironmentCommand : TypedConfirmationCmdlet
{
    protected override void ProcessSqbRecord()
    {
        var project = CompileProject();
        var (plan, target, expected) = Run(log =>
        {
            var adoption = new Adoption(StateStore.Open(project, log), log);
            return (adoption.Plan(AllowCopy), adoption.Target, adoption.ConfirmationText);
        });
        if (WhatIfMode)
        {
            ListMoves(plan);
            return;
        }
        var confirmation = ReadConfirmation("adopt", target, expected);
        WriteObject(Run(log => new Adoption(StateStore.Open(project, log), log)
            .Adopt(new AdoptOptions { AllowCopy = AllowCopy, Confirmation = confirmation })));
    }
}

/// <summary>
/// Collapses the target's finalized virtual data environment back into plain relations at the logical names and
/// marks it detached, keeping its refs (upstream <c>sqb state detach</c>).
/// </summary>
[Cmdlet(VerbsData.ConvertFrom, "SqbVirtualEnvironment", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(SqbDetachResult))]
public sealed class ConvertFromSqbVirtualEnvironmentCommand : TypedConfirmationCmdlet
{
    /// <summary>The environment to detach: always the target's own (named after it); binds from Get-SqbEnvironment.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("VirtualEnv", "Name")]
    [ValidatePattern("^[a-z][a-z0-9_]*$")]
    public string? Environment { get; set; }

    protected override void ProcessSqbRecord()
    {
        var project = CompileProject();
        var target = project.Config.ActiveTarget.Name;
        if (Environment is not null && Environment != target)
            throw new SqbException("C285", "NotTargetEnvironment",
                $"state detach works on the target's own virtual environment '{target}', not '{Environment}'", SqbErrorKind.InvalidArgument,
                Environment, $"Run it with -Target {Environment} if '{Environment}' is a target, or detach '{target}'.");
        var (plan, expected) = Run(log =>
        {
            var detachment = new Detachment(StateStore.Open(project, log), log);
            return (detachment.Plan(AllowCopy), detachment.ConfirmationText);
        });
        if (WhatIfMode)
        {
            ListMoves(plan);
            return;
        }
        var confirmation = ReadConfirmation("detach", target, expected);
        WriteObject(Run(log => new Detachment(StateStore.Open(project, log), log)
            .Detach(new DetachOptions { AllowCopy = AllowCopy, Confirmation = confirmation })));
    }
}

/// <summary>
/// Removes what no environment needs any more: unreferenced physical versions, checkpoints beyond max_checkpoints,
/// expired environments, older state backups and expired locks (upstream <c>sqb janitor</c>).
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

    /// <summary>Remove without asking (still honours -WhatIf).</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessSqbRecord()
    {
        var project = CompileProject();
        var options = new JanitorOptions { RetentionDays = RetentionDays, MaxCheckpoints = MaxCheckpoints };
        var plan = Run(log => new Janitor(StateStore.Open(project, log), log).Plan(options));
        if (plan.Count == 0)
        {
            WriteVerbose("janitor: nothing to remove");
            return;
        }
        var whatIf = WhatIfRequested || GetVariableValue("WhatIfPreference") is true or SwitchParameter { IsPresent: true };
        if (whatIf)
        {
            foreach (var item in plan) ShouldProcess(item.Name, $"Remove {item.Kind} ({item.Reason})");
            return;
        }
        var summary = string.Join(", ", plan.GroupBy(i => i.Kind).Select(g => $"{g.Count()} {g.Key}"));
        if (!ShouldProcessUnlessForced(Force, $"target '{project.Config.ActiveTarget.Name}': {summary}", "Remove")) return;
        foreach (var item in Run(log => new Janitor(StateStore.Open(project, log), log).Run(options)))
        {
            WriteObject(item);
        }
    }
}
