using System.Management.Automation;
using SQLBuild.Core.Environments;
using SQLBuild.Core.State;

namespace SQLBuild.PowerShell;

/// <summary>
/// Turns the relations of a direct-mode build into the target's virtual data environment: versioned physical
/// relations with views at the original names (upstream <c>sqb state adopt</c>).
/// </summary>
[Cmdlet(VerbsData.ConvertTo, "SqbVirtualEnvironment", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(SqbAdoptionResult))]
public sealed class ConvertToSqbVirtualEnvironmentCommand : TypedConfirmationCmdlet
{
    /// <summary>True: adoption records every seed's version and content hash.</summary>
    protected override bool ReadsSeeds => true;

    protected override void ProcessSqbRecord()
    {
        var project = CompileProject();
        var (plan, target, expected) = Run(log =>
        {
            var adoption = new Adoption(StateStore.Open(project, log), log) { Cancellation = StopToken };
            return (adoption.Plan(AllowCopy), adoption.Target, adoption.ConfirmationText);
        });
        if (WhatIfMode)
        {
            ListMoves(plan);
            return;
        }
        var confirmation = ReadConfirmation("adopt", target, expected);
        WriteObject(Run(log => new Adoption(StateStore.Open(project, log), log) { Cancellation = StopToken }
            .Adopt(new AdoptOptions { AllowCopy = AllowCopy, Confirmation = confirmation })));
    }
}
