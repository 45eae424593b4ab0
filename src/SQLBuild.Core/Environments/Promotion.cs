using System.Diagnostics;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Identity;
using SQLBuild.Core.Logging;
using SQLBuild.Core.Project;
using SQLBuild.Core.State;

namespace SQLBuild.Core.Environments;

public sealed class PromoteOptions
{
    public required string From { get; init; }
    public required string To { get; init; }
    public IReadOnlyList<string>? Select { get; init; }
    public IReadOnlyList<string>? Exclude { get; init; }
    public bool AllowPartialPromotion { get; init; }
    public bool IncludeStaleUpstreams { get; init; }
}

/// <summary>
/// <c>Publish-SqbEnvironment</c> (SPEC §4.3, upstream <c>sqb promote</c>): copies the source's refs into
/// the target and swaps the target's views; nothing is rebuilt. Every physical relation is checked
/// before any ref or view changes, and the switch is one transaction.
/// </summary>
public sealed class Promotion
{
    private readonly StateStore _store;
    private readonly ISqbLog _log;
    private readonly VirtualNames _names;

    public Promotion(StateStore store, ISqbLog log)
    {
        _store = store;
        _log = log;
        _names = new VirtualNames(store.Project.Config, store.Warehouse.Dialect);
    }

    public SqbPromotionResult Promote(PromoteOptions o)
    {
        var clock = Stopwatch.StartNew();
        _names.ValidateEnvironment(o.From);
        _names.ValidateEnvironment(o.To);
        var project = _store.Project;
        _store.RequireInitialized();   // E002 "not initialized", not a failed insert into a missing journal table
        using var journal = OperationJournal.Start(_store, "promote", o.To, $"promote from {o.From} to {o.To}", _log);
        try
        {
            using var lease = new LockManager(_store, _log).Acquire(LockManager.EnvironmentKey(o.To), journal.Id);
            Dictionary<NodeKey, string> source, target;
            using (var s = _store.OpenStateSession())
            {
                _store.RequireInitialized(s);
                var repo = new StateRepository(s, _store.Sql);
                var srcRow = repo.Environment(o.From);
                source = repo.Refs(o.From);
                if (srcRow is null || !source.Keys.Any(k => k.NodeType == NodeTypes.Model))
                    throw new SqbException(ErrorCodes.UnknownSourceEnvironment, "UnknownSourceEnvironment", $"unknown source virtual environment '{o.From}'",
                        SqbErrorKind.ObjectNotFound, o.From, $"Build it first: Invoke-SqbBuild -Environment {o.From}");
                if (srcRow.Status == EnvironmentStatus.Detached)
                    throw new SqbException(ErrorCodes.EnvironmentDetached, "EnvironmentDetached", $"source virtual environment '{o.From}' is detached",
                        SqbErrorKind.InvalidOperation, o.From, "Choose a non-detached source virtual environment.");
                var dstRow = repo.Environment(o.To);
                if (dstRow?.Status == EnvironmentStatus.Detached)
                    throw new SqbException(ErrorCodes.EnvironmentDetached, "EnvironmentDetached", $"target virtual environment '{o.To}' is detached",
                        SqbErrorKind.InvalidOperation, o.To, "Run ConvertTo-SqbVirtualEnvironment (adopt) again to make it virtual.");
                target = repo.Refs(o.To);
                var whole = o.Select is null or { Count: 0 } && o.Exclude is null or { Count: 0 };
                if (whole && srcRow.Status != EnvironmentStatus.Finalized)
                    throw new SqbException(ErrorCodes.SourceNotFinalized, "SourceNotFinalized",
                        "whole-VDE promotion requires a finalized source virtual environment", SqbErrorKind.InvalidOperation, o.From,
                        "Use -Select for a coherent partial promotion from a working source VDE.");
            }

            // Expected versions matter only to a partial promotion (stale upstreams, what stays working).
            var lazyIds = new Lazy<IReadOnlyDictionary<string, NodeIdentity>>(() => IdentityCalculator.Compute(project));
            var isWhole = o.Select is null or { Count: 0 } && o.Exclude is null or { Count: 0 };
            var final = new Dictionary<NodeKey, string>(target);
            List<string> promoted;
            var stale = new List<string>();
            if (isWhole)
            {
                foreach (var (k, h) in source) final[k] = h;
                promoted = source.Keys.Where(k => k.NodeType == NodeTypes.Model).Select(k => k.NodeName).OrderBy(n => n, StringComparer.Ordinal).ToList();
            }
            else
            {
                var selected = Selector.Resolve(project, o.Select, o.Exclude);
                var models = selected.Where(project.Models.ContainsKey).ToHashSet(StringComparer.Ordinal);
                void Copy(IEnumerable<string> names, string what)
                {
                    var list = names.ToList();
                    var missing = list.Where(n => !source.ContainsKey(NodeKey.Of(project, n))).OrderBy(n => n, StringComparer.Ordinal).ToList();
                    if (missing.Count > 0)
                        throw new SqbException(ErrorCodes.MissingSourceRefs, "MissingSourceRefs", $"source virtual environment is missing selected {what}refs: {string.Join(", ", missing)}",
                            SqbErrorKind.ObjectNotFound, o.From, $"Build them in the source first: Invoke-SqbBuild -Environment {o.From} -Select {string.Join(" ", missing)}");
                    foreach (var n in list) final[NodeKey.Of(project, n)] = source[NodeKey.Of(project, n)];
                }
                Copy(models, "");
                var seeds = selected.Where(project.Seeds.ContainsKey).Concat(project.Ancestors(models).Where(project.Seeds.ContainsKey)).Distinct().ToList();
                Copy(seeds, "seed ");
                var staleUp = project.Ancestors(models).Where(a => project.Models.ContainsKey(a) && !models.Contains(a) &&
                                                                   (!final.TryGetValue(NodeKey.Model(a), out var h) || h != lazyIds.Value[a].VersionHash))
                    .OrderBy(a => a, StringComparer.Ordinal).ToList();
                if (staleUp.Count > 0)
                {
                    if (!o.IncludeStaleUpstreams)
                        throw new SqbException(ErrorCodes.PromotionStaleUpstreams, "StaleUpstreams",
                            $"selected promotion scope is missing stale required upstream models: {string.Join(", ", staleUp)}",
                            SqbErrorKind.InvalidOperation, o.To, "Re-run with -IncludeStaleUpstreams to add required upstream refs.");
                    Copy(staleUp, "");
                    foreach (var m in staleUp) models.Add(m);
                }
                promoted = models.OrderBy(n => n, StringComparer.Ordinal).ToList();
                stale = project.Models.Keys.Where(m => !final.TryGetValue(NodeKey.Model(m), out var h) || h != lazyIds.Value[m].VersionHash)
                    .OrderBy(m => m, StringComparer.Ordinal).ToList();
                if (stale.Count > 0 && !o.AllowPartialPromotion)
                    throw new SqbException(ErrorCodes.PromotionLeavesWorking, "PromotionLeavesWorking",
                        $"promotion would leave target virtual environment working; remaining stale models: {string.Join(", ", stale)}",
                        SqbErrorKind.InvalidOperation, o.To, "Re-run with -AllowPartialPromotion to accept a working target VDE.");
            }
            var status = stale.Count == 0 ? EnvironmentStatus.Finalized : EnvironmentStatus.Active;
            journal.Step("switch", $"{promoted.Count} model(s) from {o.From} to {o.To}");
            var result = new EnvironmentSwitch(_store, _names, _log).Apply(o.To, final, status, o.From, journal.Id, "promote", rebuildEnvironment: o.From);
            journal.Succeed($"promoted {promoted.Count} models");
            return new SqbPromotionResult
            {
                From = o.From, To = o.To, Status = EnvironmentStatus.Display(status), PromotedModels = promoted, RemainingStale = stale,
                RefChanges = result.Changes.Count, ViewsWritten = result.ViewsWritten, CheckpointId = result.CheckpointId,
                OperationId = journal.Id, Duration = clock.Elapsed,
            };
        }
        catch (Exception ex)
        {
            journal.Fail(ex.Message);
            throw;
        }
    }

}
