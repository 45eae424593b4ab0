using System.Management.Automation;
using SQLBuild.PowerShell.Completion;
using SQLBuild.Core.Environments;
using SQLBuild.Core.Errors;
using SQLBuild.Core.State;

namespace SQLBuild.PowerShell;

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
    [ArgumentCompleter(typeof(EnvironmentCompleter))]
    public string? Environment { get; set; }

    protected override void ProcessSqbRecord()
    {
        var project = CompileProject();
        var target = project.Config.ActiveTarget.Name;
        if (Environment is not null && Environment != target)
            throw new SqbException(ErrorCodes.NotTargetEnvironment, "NotTargetEnvironment",
                $"state detach works on the target's own virtual environment '{target}', not '{Environment}'", SqbErrorKind.InvalidArgument,
                Environment, $"Run it with -Target {Environment} if '{Environment}' is a target, or detach '{target}'.");
        var (plan, expected) = Run(log =>
        {
            var detachment = new Detachment(StateStore.Open(project, log), log) { Cancellation = StopToken };
            return (detachment.Plan(AllowCopy), detachment.ConfirmationText);
        });
        if (WhatIfMode)
        {
            ListMoves(plan);
            return;
        }
        var confirmation = ReadConfirmation("detach", target, expected);
        WriteObject(Run(log => new Detachment(StateStore.Open(project, log), log) { Cancellation = StopToken }
            .Detach(new DetachOptions { AllowCopy = AllowCopy, Confirmation = confirmation })));
    }
}
