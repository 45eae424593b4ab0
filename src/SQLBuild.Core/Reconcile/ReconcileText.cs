using SQLBuild.Core.Adapters;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Project;
using SQLBuild.Core.State;

namespace SQLBuild.Core.Reconcile;

/// <summary>
/// The words of reconcile: finding messages as upstream's report lines (<c>missing ref: m</c>, seed
/// variants <c>missing seed ref: s</c>), repair refusals as upstream's C250-C252 messages, and the
/// cmdlet line that recovers each one.
/// </summary>
public static class ReconcileText
{
    /// <summary>Upstream's report line for a node problem.</summary>
    public static string FindingMessage(SqbFindingKind kind, NodeKey key)
    {
        var seed = key.NodeType == NodeTypes.Seed;
        var n = key.NodeName;
        return kind switch
        {
            SqbFindingKind.MissingRef => seed ? $"missing seed ref: {n}" : $"missing ref: {n}",
            SqbFindingKind.MissingTrackedPhysical => seed ? $"missing tracked physical seed relation: {n}" : $"missing tracked physical relation: {n}",
            SqbFindingKind.MissingPhysical => seed ? $"missing physical seed relation: {n}" : $"missing physical relation: {n}",
            SqbFindingKind.MissingView => seed ? $"missing logical seed target: {n}" : $"missing logical target: {n}",
            SqbFindingKind.LogicalIsTable => seed ? $"logical seed target is table: {n}" : $"logical target is table: {n}",
            SqbFindingKind.WrongViewTarget => seed ? $"wrong logical seed target: {n}" : $"wrong logical target: {n}",
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "not a node finding"),
        };
    }

    public static string Build(string environment, string node) => $"Invoke-SqbBuild -Environment {environment} -Select {node}";

    public static string RepairView(string environment, NodeKey key) =>
        $"Repair-SqbView -Environment {environment} -Name {key.NodeName}" + (key.NodeType == NodeTypes.Seed ? " -NodeType seed" : "");

    public static string DropTableThenRepair(string environment, NodeKey key, RelationName view) =>
        $"Drop the table {view} by hand (DROP TABLE, after saving any data you need), then run {RepairView(environment, key)}";

    public static string ReviewView(RelationName view) =>
        $"Review the view {view}; if nothing needs it, drop it by hand (DROP VIEW {view})";

    /// <summary>The recovery line of a node finding.</summary>
    public static string Recovery(SqbFindingKind kind, string environment, NodeKey key, RelationName view) => kind switch
    {
        SqbFindingKind.MissingRef or SqbFindingKind.MissingTrackedPhysical or SqbFindingKind.MissingPhysical => Build(environment, key.NodeName),
        SqbFindingKind.MissingView or SqbFindingKind.WrongViewTarget => RepairView(environment, key),
        SqbFindingKind.LogicalIsTable => DropTableThenRepair(environment, key, view),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "not a node finding"),
    };

    /// <summary>The cmdlet that retries a failed or interrupted operation, by its type.</summary>
    public static string OperationRecovery(SqbOperation op)
    {
        var env = op.Environment;
        var start = op.Events.FirstOrDefault(e => e.Action == "start")?.Message ?? "";
        switch (op.Type)
        {
            case "promote":
            {
                // Promotion's start event reads "promote from <src> to <dst>".
                var match = System.Text.RegularExpressions.Regex.Match(start, @"^promote from ([a-z][a-z0-9_]*) to ([a-z][a-z0-9_]*)$");
                return match.Success ? $"Publish-SqbEnvironment -From {match.Groups[1].Value} -To {match.Groups[2].Value}"
                    : $"Publish-SqbEnvironment -From <source> -To {env}";
            }
            case "rollback": return $"Restore-SqbCheckpoint -Environment {env}";
            case "build": return env is null ? "Invoke-SqbBuild" : $"Invoke-SqbBuild -Environment {env}";
            case "attach":
            {
                var match = System.Text.RegularExpressions.Regex.Match(start, @"^attach (\S+) to (\S+)$");
                return match.Success ? $"Set-SqbModelRef -Environment {env} -Model {match.Groups[1].Value} -PhysicalRelation {match.Groups[2].Value}"
                    : $"Set-SqbModelRef -Environment {env} -Model <model> -PhysicalRelation <relation>";
            }
            case "adopt": return "ConvertTo-SqbVirtualEnvironment";
            case "detach": return "ConvertFrom-SqbVirtualEnvironment";
            case "janitor": return "Invoke-SqbJanitor";
            case "init": return "Initialize-SqbState";
            case "migrate": return "Update-SqbState";
            default: return $"Get-SqbOperation -Id '{op.Id}' shows what it did; run its command again";
        }
    }

    // ------------------------------------------------------------------ repair refusals

    /// <summary>Why repair-view cannot recreate a node's view, as upstream's coded error (C250-C252) or ours (R001).</summary>
    public static SqbException RepairRefusal(SqbFindingKind kind, string environment, NodeKey key, RelationName view, object? target = null)
    {
        var seed = key.NodeType == NodeTypes.Seed;
        var n = key.NodeName;
        return kind switch
        {
            SqbFindingKind.MissingRef => new SqbException(ErrorCodes.MissingRef, "MissingRef",
                seed ? $"missing seed ref for '{n}'" : $"missing ref for '{n}'", SqbErrorKind.ObjectNotFound,
                target ?? view.ToString(), Build(environment, n)),
            SqbFindingKind.MissingTrackedPhysical => new SqbException(ErrorCodes.MissingTrackedPhysical, "MissingTrackedPhysical",
                seed ? $"missing tracked physical relation for seed '{n}'" : $"missing tracked physical relation for '{n}'",
                SqbErrorKind.ObjectNotFound, target ?? view.ToString(), Build(environment, n)),
            SqbFindingKind.MissingPhysical => new SqbException(ErrorCodes.MissingPhysical, "MissingPhysical",
                seed ? $"missing physical relation for seed '{n}'" : $"missing physical relation for '{n}'",
                SqbErrorKind.ObjectNotFound, target ?? view.ToString(), Build(environment, n)),
            SqbFindingKind.LogicalIsTable => new SqbException(ErrorCodes.LogicalIsTable, "LogicalIsTable",
                seed ? $"logical seed target for '{n}' is a table; repair-view will not overwrite it"
                     : $"logical target for '{n}' is a table; repair-view will not overwrite it",
                SqbErrorKind.InvalidOperation, target ?? view.ToString(), DropTableThenRepair(environment, key, view)),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "repair-view repairs this kind"),
        };
    }

    /// <summary>
    /// The non-terminating error <c>Repair-SqbView</c> writes for a view it cannot repair (a table in its place, a missing
    /// or untracked physical relation): the refusal with the finding's own recovery, the finding as target.
    /// </summary>
    public static SqbException PassThrough(SqbReconcileFinding f)
    {
        var seed = f.NodeType == NodeTypes.Seed;
        return f.Kind switch
        {
            SqbFindingKind.MissingTrackedPhysical or SqbFindingKind.MissingPhysical or SqbFindingKind.LogicalIsTable =>
                With(RepairRefusal(f.Kind, f.Environment, seed ? NodeKey.Seed(f.Name) : NodeKey.Model(f.Name),
                    ParseRelation(f.Relation) ?? new RelationName("", f.Name)), f),
            _ => throw new ArgumentOutOfRangeException(nameof(f), f.Kind, "not a view repair-view refuses"),
        };
    }

    /// <summary>Whether a finding is one <c>Repair-SqbView</c> passes over with a warning (<see cref="PassOver"/>): it is not about
    /// a view repair-view could write (a failed operation, an unexpected view, a missing ref), so another command handles it.</summary>
    public static bool IsPassedOver(SqbReconcileFinding f) =>
        f.Kind is SqbFindingKind.FailedOperation or SqbFindingKind.UnexpectedView or SqbFindingKind.MissingRef;

    /// <summary>The warning <c>Repair-SqbView</c> writes for a finding it passes over, naming what handles it.</summary>
    public static string PassOver(SqbReconcileFinding f) => f.Kind switch
    {
        SqbFindingKind.MissingRef => $"{f.Message}: repair-view recreates views from refs; build it with {f.Recovery}",
        SqbFindingKind.FailedOperation => $"{f.Message}: repair-view does not retry operations; retry it with {f.Recovery}",
        SqbFindingKind.UnexpectedView => $"{f.Message}: repair-view does not drop views. {f.Recovery}",
        _ => throw new ArgumentOutOfRangeException(nameof(f), f.Kind, "repair-view does not pass over this kind"),
    };

    private static SqbException With(SqbException e, SqbReconcileFinding f) =>
        new(e.Code, e.ErrorName, e.Message, e.Kind, f, f.Recovery);

    /// <summary><c>schema.name</c>, <c>"schema"."name"</c> or <c>name</c> (null schema) as a relation; null when empty.</summary>
    internal static RelationName? ParseRelation(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        var parts = new List<string>();
        var current = new System.Text.StringBuilder();
        var quoted = false;
        var t = text.Trim();
        for (var i = 0; i < t.Length; i++)
        {
            var c = t[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < t.Length && t[i + 1] == '"') { current.Append('"'); i++; }
                else if (c == '"') quoted = false;
                else current.Append(c);
            }
            else if (c is '"' or '[') quoted = c == '"' || Bracket(ref i, t, current);
            else if (c == '.') { parts.Add(current.ToString()); current.Clear(); }
            else current.Append(c);
        }
        parts.Add(current.ToString());
        return parts.Count switch
        {
            1 => new RelationName("", parts[0]),
            2 => new RelationName(parts[0], parts[1]),
            _ => new RelationName(parts[^2], parts[^1]),
        };
    }

    // [name] (SQL Server style): copy up to the closing bracket.
    private static bool Bracket(ref int i, string t, System.Text.StringBuilder current)
    {
        var end = t.IndexOf(']', i + 1);
        if (end < 0) { current.Append(t[(i + 1)..]); i = t.Length; return false; }
        current.Append(t[(i + 1)..end]);
        i = end;
        return false;
    }
}
