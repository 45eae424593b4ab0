using System.Diagnostics;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Faults;
using SQLBuild.Core.Identity;
using SQLBuild.Core.Logging;
using SQLBuild.Core.Operations;
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
public sealed class Promotion : EnvironmentOperation
{
    public Promotion(StateStore store, ISqbLog log) : base(store, log) { }

    public SqbPromotionResult Promote(PromoteOptions options)
    {
        var clock = Stopwatch.StartNew();
        Names.ValidateEnvironment(options.From);
        Names.ValidateEnvironment(options.To);
        Store.RequireInitialized();   // E002 "not initialized", not a failed insert into a missing journal table
        return RunJournaled(new JournaledRun("promote", options.To, LockManager.EnvironmentKey(options.To), $"promote from {options.From} to {options.To}"),
            run => Promote(options, run, clock), result => $"promoted {result.PromotedModels.Count} models");
    }

    private SqbPromotionResult Promote(PromoteOptions options, OperationContext run, Stopwatch clock)
    {
        var project = Store.Project;
        var whole = options.Select is null or { Count: 0 } && options.Exclude is null or { Count: 0 };
        Dictionary<NodeKey, string> source, target;
        Dictionary<NodeKey, string?> sourceAudits;
        using (var session = Store.OpenStateSession())
        {
            Store.RequireInitialized(session);
            var repo = new StateRepository(session, Store.Sql);
            var srcRow = repo.Environment(options.From);
            source = repo.Refs(options.From);
            sourceAudits = repo.RefAudits(options.From);
            if (srcRow is null || !source.Keys.Any(k => k.NodeType == NodeTypes.Model))
                throw new SqbException(ErrorCodes.UnknownSourceEnvironment, "UnknownSourceEnvironment", $"unknown source virtual environment '{options.From}'",
                    SqbErrorKind.ObjectNotFound, options.From, $"Build it first: Invoke-SqbBuild -Environment {options.From}");
            if (srcRow.Status == EnvironmentStatus.Detached)
                throw new SqbException(ErrorCodes.EnvironmentDetached, "EnvironmentDetached", $"source virtual environment '{options.From}' is detached",
                    SqbErrorKind.InvalidOperation, options.From, "Choose a non-detached source virtual environment.");
            var dstRow = repo.Environment(options.To);
            if (dstRow?.Status == EnvironmentStatus.Detached)
                throw new SqbException(ErrorCodes.EnvironmentDetached, "EnvironmentDetached", $"target virtual environment '{options.To}' is detached",
                    SqbErrorKind.InvalidOperation, options.To, "Run ConvertTo-SqbVirtualEnvironment (adopt) again to make it virtual.");
            target = repo.Refs(options.To);
            if (whole && srcRow.Status != EnvironmentStatus.Finalized)
                throw new SqbException(ErrorCodes.SourceNotFinalized, "SourceNotFinalized",
                    "whole-VDE promotion requires a finalized source virtual environment", SqbErrorKind.InvalidOperation, options.From,
                    "Use -Select for a coherent partial promotion from a working source VDE.");
        }

        // Expected versions matter only to a partial promotion (stale upstreams, what stays working).
        var lazyIds = new Lazy<IReadOnlyDictionary<string, NodeIdentity>>(() => IdentityCalculator.Compute(project));
        var final = new Dictionary<NodeKey, string>(target);
        List<string> promoted;
        var stale = new List<string>();
        if (whole)
        {
            foreach (var (k, h) in source) final[k] = h;
            promoted = source.Keys.Where(k => k.NodeType == NodeTypes.Model).Select(k => k.NodeName).OrderBy(n => n, StringComparer.Ordinal).ToList();
        }
        else
        {
            var selected = Selector.Resolve(project, options.Select, options.Exclude);
            var models = selected.Where(project.Models.ContainsKey).ToHashSet(StringComparer.Ordinal);
            void Copy(IEnumerable<string> names, string what)
            {
                var list = names.ToList();
                var missing = list.Where(n => !source.ContainsKey(NodeKey.Of(project, n))).OrderBy(n => n, StringComparer.Ordinal).ToList();
                if (missing.Count > 0)
                    throw new SqbException(ErrorCodes.MissingSourceRefs, "MissingSourceRefs", $"source virtual environment is missing selected {what}refs: {string.Join(", ", missing)}",
                        SqbErrorKind.ObjectNotFound, options.From, $"Build them in the source first: Invoke-SqbBuild -Environment {options.From} -Select {string.Join(" ", missing)}");
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
                if (!options.IncludeStaleUpstreams)
                    throw new SqbException(ErrorCodes.PromotionStaleUpstreams, "StaleUpstreams",
                        $"selected promotion scope is missing stale required upstream models: {string.Join(", ", staleUp)}",
                        SqbErrorKind.InvalidOperation, options.To, "Re-run with -IncludeStaleUpstreams to add required upstream refs.");
                Copy(staleUp, "");
                foreach (var m in staleUp) models.Add(m);
            }
            promoted = models.OrderBy(n => n, StringComparer.Ordinal).ToList();
            stale = project.Models.Keys.Where(m => !final.TryGetValue(NodeKey.Model(m), out var h) || h != lazyIds.Value[m].VersionHash)
                .OrderBy(m => m, StringComparer.Ordinal).ToList();
            if (stale.Count > 0 && !options.AllowPartialPromotion)
                throw new SqbException(ErrorCodes.PromotionLeavesWorking, "PromotionLeavesWorking",
                    $"promotion would leave target virtual environment working; remaining stale models: {string.Join(", ", stale)}",
                    SqbErrorKind.InvalidOperation, options.To, "Re-run with -AllowPartialPromotion to accept a working target VDE.");
        }
        var status = stale.Count == 0 ? EnvironmentStatus.Finalized : EnvironmentStatus.Active;
        run.Step(KillPoints.Promote.Switch, $"{promoted.Count} model(s) from {options.From} to {options.To}");
        // Promoted refs carry the audit signatures their versions passed in the source.
        var audits = final.Keys.Where(k => source.TryGetValue(k, out var hash) && hash == final[k] && sourceAudits.ContainsKey(k))
            .ToDictionary(k => k, k => sourceAudits[k]);
        var switched = new EnvironmentSwitch(Store, Names, Log).Apply(options.To, final, status, options.From, run, KillPoints.Promote.Switch,
            rebuildEnvironment: options.From, audits: audits);
        return new SqbPromotionResult
        {
            From = options.From, To = options.To, Status = EnvironmentStatus.Display(status), PromotedModels = promoted, RemainingStale = stale,
            RefChanges = switched.Changes.Count, ViewsWritten = switched.ViewsWritten, CheckpointId = switched.CheckpointId,
            OperationId = run.Id, Duration = clock.Elapsed,
        };
    }
}
