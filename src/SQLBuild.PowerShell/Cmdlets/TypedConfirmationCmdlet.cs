using System.Management.Automation;
using SQLBuild.PowerShell.Hosting;
using SQLBuild.Core.Errors;

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
