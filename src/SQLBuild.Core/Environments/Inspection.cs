using SQLBuild.Core.Adapters;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Identity;
using SQLBuild.Core.Logging;
using SQLBuild.Core.State;

namespace SQLBuild.Core.Environments;

/// <summary>Read-only views of environments, checkpoints and their differences. Every read is set-based.</summary>
public sealed class Inspection
{
    private readonly StateStore _store;
    private readonly VirtualNames _names;

    public Inspection(StateStore store, ISqbLog log)
    {
        _store = store;
        _names = new VirtualNames(store.Project.Config, store.Warehouse.Dialect);
    }

    public IReadOnlyList<SqbEnvironment> Environments(string? name = null)
    {
        using var s = _store.OpenStateSession();
        _store.RequireInitialized(s);
        var repo = new StateRepository(s, _store.Sql);
        var refs = repo.AllRefs();
        var checkpoints = repo.Checkpoints().GroupBy(c => c.Environment).ToDictionary(g => g.Key, g => g.Count());
        return repo.Environments(name).Select(e => new SqbEnvironment
        {
            Name = e.Name, Status = EnvironmentStatus.Display(e.Status), Baseline = e.Baseline, Target = _store.TargetName,
            LogicalSchema = _names.LogicalSchema(e.Name),
            ModelCount = refs.GetValueOrDefault(e.Name)?.Count(r => r.Key.NodeType == NodeTypes.Model) ?? 0,
            SeedCount = refs.GetValueOrDefault(e.Name)?.Count(r => r.Key.NodeType == NodeTypes.Seed) ?? 0,
            CheckpointCount = checkpoints.GetValueOrDefault(e.Name),
            CreatedAt = e.CreatedAt, UpdatedAt = e.UpdatedAt, FinalizedAt = e.FinalizedAt,
        }).ToList();
    }

    public IReadOnlyList<SqbCheckpoint> Checkpoints(string? environment, string? id, bool includeRefs)
    {
        using var s = _store.OpenStateSession();
        _store.RequireInitialized(s);
        var repo = new StateRepository(s, _store.Sql);
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
        using var s = _store.OpenStateSession();
        _store.RequireInitialized(s);
        var repo = new StateRepository(s, _store.Sql);
        foreach (var e in new[] { reference, difference })
            if (repo.Environment(e) is null)
                throw new SqbException(ErrorCodes.UnknownEnvironment, "UnknownEnvironment", $"unknown virtual environment '{e}'", SqbErrorKind.ObjectNotFound, e,
                    "Get-SqbEnvironment lists the virtual environments of this target.");
        return Diff(reference, repo.Refs(reference), difference, repo.Refs(difference), repo);
    }

    /// <summary>Differences between a checkpoint (reference) and its environment's current refs (difference).</summary>
    public IReadOnlyList<SqbRefDifference> CompareCheckpoint(string checkpointId)
    {
        using var s = _store.OpenStateSession();
        _store.RequireInitialized(s);
        var repo = new StateRepository(s, _store.Sql);
        var cp = repo.Checkpoints().FirstOrDefault(c => c.Id == checkpointId)
                 ?? throw new SqbException(ErrorCodes.CheckpointNotFound, "UnknownCheckpoint", $"unknown checkpoint '{checkpointId}'", SqbErrorKind.ObjectNotFound,
                     checkpointId, "Get-SqbCheckpoint lists the checkpoints.");
        var refs = repo.CheckpointRefs(new[] { checkpointId })[checkpointId];
        return Diff(checkpointId, refs, cp.Environment, repo.Refs(cp.Environment), repo);
    }

    private IReadOnlyList<SqbRefDifference> Diff(string refName, Dictionary<NodeKey, string> a, string diffName, Dictionary<NodeKey, string> b,
        StateRepository repo)
    {
        var physical = repo.PhysicalRelationIndex();
        CatalogSnapshot? catalog = null;
        var result = new List<SqbRefDifference>();
        foreach (var key in a.Keys.Union(b.Keys).OrderBy(k => k.NodeType).ThenBy(k => k.NodeName, StringComparer.Ordinal))
        {
            a.TryGetValue(key, out var x);
            b.TryGetValue(key, out var y);
            if (x == y) continue;
            var columns = new List<string>();
            if (x is not null && y is not null && physical.TryGetValue((key, x), out var px) && physical.TryGetValue((key, y), out var py))
            {
                if (catalog is null)
                {
                    using var w = _store.SharesWarehouse ? null : _store.Warehouse.OpenSession();
                    catalog = (w ?? repo.Session).ReadCatalog(new[] { _names.PhysicalSchema }, includeColumns: true);
                }
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
        var b = before.ToDictionary(c => c.Name, c => c.DataType, StringComparer.OrdinalIgnoreCase);
        var a = after.ToDictionary(c => c.Name, c => c.DataType, StringComparer.OrdinalIgnoreCase);
        foreach (var c in before) if (!a.ContainsKey(c.Name)) changes.Add($"-{c.Name} {c.DataType}");
        foreach (var c in after)
            if (!b.TryGetValue(c.Name, out var t)) changes.Add($"+{c.Name} {c.DataType}");
            else if (!string.Equals(t, c.DataType, StringComparison.OrdinalIgnoreCase)) changes.Add($"~{c.Name} {t} -> {c.DataType}");
        return changes;
    }

    public static IReadOnlyList<SqbRef> ToRefs(Dictionary<NodeKey, string> refs) =>
        refs.OrderBy(r => r.Key.NodeType).ThenBy(r => r.Key.NodeName, StringComparer.Ordinal)
            .Select(r => new SqbRef { NodeType = r.Key.NodeType, Name = r.Key.NodeName, VersionHash = r.Value }).ToList();
}
