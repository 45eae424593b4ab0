using SQLBuild.Core.Adapters;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Identity;
using SQLBuild.Core.Logging;
using SQLBuild.Core.Operations;
using SQLBuild.Core.State;

namespace SQLBuild.Core.Environments;

/// <summary>Read-only views of environments, checkpoints and their differences. Every read is set-based.</summary>
public sealed class Inspection : EnvironmentOperation
{
    public Inspection(StateStore store, ISqbLog log) : base(store, log) { }

    public IReadOnlyList<SqbEnvironment> Environments(string? name = null)
    {
        using var session = Store.OpenStateSession();
        Store.RequireInitialized(session);
        var repo = new StateRepository(session, Store.Sql);
        var refs = repo.AllRefs();
        var checkpoints = repo.Checkpoints().GroupBy(c => c.Environment).ToDictionary(g => g.Key, g => g.Count());
        return repo.Environments(name).Select(e => new SqbEnvironment
        {
            Name = e.Name, Status = EnvironmentStatus.Display(e.Status), Baseline = e.Baseline, Target = Store.TargetName,
            LogicalSchema = Names.LogicalSchema(e.Name),
            ModelCount = refs.GetValueOrDefault(e.Name)?.Count(r => r.Key.NodeType == NodeTypes.Model) ?? 0,
            SeedCount = refs.GetValueOrDefault(e.Name)?.Count(r => r.Key.NodeType == NodeTypes.Seed) ?? 0,
            CheckpointCount = checkpoints.GetValueOrDefault(e.Name),
            CreatedAt = e.CreatedAt, UpdatedAt = e.UpdatedAt, FinalizedAt = e.FinalizedAt,
        }).ToList();
    }

    public IReadOnlyList<SqbCheckpoint> Checkpoints(string? environment, string? id, bool includeRefs)
    {
        using var session = Store.OpenStateSession();
        Store.RequireInitialized(session);
        var repo = new StateRepository(session, Store.Sql);
        var list = repo.Checkpoints(id is null ? environment : null).Where(c => id is null || c.Id == id).ToList();
        if (id is not null && list.Count == 0)
            throw new SqbException(ErrorCodes.CheckpointNotFound, "UnknownCheckpoint", $"unknown checkpoint '{id}'", SqbErrorKind.ObjectNotFound, id,
                "Get-SqbCheckpoint lists the checkpoints of the active target's environments.");
        var refs = repo.CheckpointRefs(list.Select(c => c.Id).ToList());
        return list.Select(c => new SqbCheckpoint
        {
            Id = c.Id, Environment = c.Environment, CreatedAt = c.CreatedAt, RefCount = refs[c.Id].Count,
            Refs = includeRefs || id is not null ? ToRefs(refs[c.Id]) : null,
        }).ToList();
    }

    /// <summary>Differences between two VDEs' refs, with column-level changes of changed relations.</summary>
    public IReadOnlyList<SqbRefDifference> CompareEnvironments(string reference, string difference)
    {
        using var session = Store.OpenStateSession();
        Store.RequireInitialized(session);
        var repo = new StateRepository(session, Store.Sql);
        foreach (var e in new[] { reference, difference })
            if (repo.Environment(e) is null)
                throw EnvironmentErrors.Unknown(e, "Get-SqbEnvironment lists the virtual environments of this target.");
        return Diff(reference, repo.Refs(reference), difference, repo.Refs(difference), repo);
    }

    /// <summary>Differences between a checkpoint (reference) and its environment's current refs (difference).</summary>
    public IReadOnlyList<SqbRefDifference> CompareCheckpoint(string checkpointId)
    {
        using var session = Store.OpenStateSession();
        Store.RequireInitialized(session);
        var repo = new StateRepository(session, Store.Sql);
        var checkpoint = repo.Checkpoints().FirstOrDefault(c => c.Id == checkpointId)
                 ?? throw new SqbException(ErrorCodes.CheckpointNotFound, "UnknownCheckpoint", $"unknown checkpoint '{checkpointId}'", SqbErrorKind.ObjectNotFound,
                     checkpointId, "Get-SqbCheckpoint lists the checkpoints.");
        var refs = repo.CheckpointRefs(new[] { checkpointId })[checkpointId];
        return Diff(checkpointId, refs, checkpoint.Environment, repo.Refs(checkpoint.Environment), repo);
    }

    private IReadOnlyList<SqbRefDifference> Diff(string refName, Dictionary<NodeKey, string> reference, string diffName, Dictionary<NodeKey, string> difference,
        StateRepository repo)
    {
        var physical = repo.PhysicalRelationIndex();
        CatalogSnapshot? catalog = null;
        var result = new List<SqbRefDifference>();
        foreach (var key in reference.Keys.Union(difference.Keys).OrderBy(k => k.NodeType).ThenBy(k => k.NodeName, StringComparer.Ordinal))
        {
            reference.TryGetValue(key, out var x);
            difference.TryGetValue(key, out var y);
            if (x == y) continue;
            var columns = new List<string>();
            if (x is not null && y is not null && physical.TryGetValue((key, x), out var px) && physical.TryGetValue((key, y), out var py))
            {
                catalog ??= ReadWarehouseCatalog(repo.Session, new[] { Names.PhysicalSchema }, includeColumns: true);
                columns = ColumnChanges(catalog.ColumnsOf(px.Relation), catalog.ColumnsOf(py.Relation));
            }
            result.Add(new SqbRefDifference
            {
                Reference = refName, Difference = diffName, NodeType = key.NodeType, Name = key.NodeName,
                Change = x is null ? "only_in_difference" : y is null ? "only_in_reference" : "changed",
                ReferenceVersion = x, DifferenceVersion = y, ColumnChanges = columns,
            });
        }
        return result;
    }

    internal static List<string> ColumnChanges(IReadOnlyList<CatalogColumn> before, IReadOnlyList<CatalogColumn> after)
    {
        var changes = new List<string>();
        var typesBefore = before.ToDictionary(c => c.Name, c => c.DataType, StringComparer.OrdinalIgnoreCase);
        var typesAfter = after.ToDictionary(c => c.Name, c => c.DataType, StringComparer.OrdinalIgnoreCase);
        foreach (var c in before) if (!typesAfter.ContainsKey(c.Name)) changes.Add($"-{c.Name} {c.DataType}");
        foreach (var c in after)
            if (!typesBefore.TryGetValue(c.Name, out var t)) changes.Add($"+{c.Name} {c.DataType}");
            else if (!string.Equals(t, c.DataType, StringComparison.OrdinalIgnoreCase)) changes.Add($"~{c.Name} {t} -> {c.DataType}");
        return changes;
    }

    public static IReadOnlyList<SqbRef> ToRefs(Dictionary<NodeKey, string> refs) =>
        refs.OrderBy(r => r.Key.NodeType).ThenBy(r => r.Key.NodeName, StringComparer.Ordinal)
            .Select(r => new SqbRef { NodeType = r.Key.NodeType, Name = r.Key.NodeName, VersionHash = r.Value }).ToList();
}
