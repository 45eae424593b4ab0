using System.Management.Automation;
using SQLBuild.PowerShell.Hosting;

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

    /// <summary>One "What if:" line per relation that would change.</summary>
    protected void ListMoves(IReadOnlyList<SqbRelationMove> moves)
    {
        foreach (var move in moves)
        {
            if (move.Changes) ShouldProcess(move.From ?? move.Name, Describe(move));
            else WriteVerbose($"{move.Name}: {move.Action} ({move.Message})");
        }
    }

    private static string Describe(SqbRelationMove move)
    {
        var what = move.NodeType == "seed" ? $"seed '{move.Name}'" : $"{move.Materialized ?? "model"} model '{move.Name}'";
        return move.Action switch
        {
            "move" => $"Move {what} to {move.To}",
            "copy" => $"Copy {what} to {move.To}",
            "view" => $"Recreate {what} as view {move.To}",
            "finish" => $"Point the view of {what} at {move.To}",
            "drop" => $"Drop the physical view of {what}",
            _ => $"{move.Action} {what}",
        };
    }

    /// <summary>
    /// The typed confirmation: -Confirmation when given; otherwise read from the host after the prompt
    /// <c>Type 'adopt dev' to confirm: </c> (<see cref="TypedConfirmation"/>). A session that cannot ask
    /// (-NonInteractive, redirected input, Azure DevOps, a host without UI) is an error, never a hang.
    /// </summary>
    protected string ReadConfirmation(string command, string target, string expected) =>
        TypedConfirmation.Require(this, Confirmation, expected, target,
            $"state {command} needs a typed confirmation and this session cannot ask for one",
            $"Pass -Confirmation '{expected}' (scripts and pipelines), or run it in an interactive session and type '{expected}'.");
}
