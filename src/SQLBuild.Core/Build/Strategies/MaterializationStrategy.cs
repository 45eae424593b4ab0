using SQLBuild.Core.Adapters;
using SQLBuild.Core.Build.Audits;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Logging;
using SQLBuild.Core.Project;

namespace SQLBuild.Core.Build.Strategies;

/// <summary>What one node's materialization needs: where, what SQL, what stands there now, its audits.</summary>
internal sealed class MaterializeRequest
{
    public required IWarehouseSession Session { get; init; }
    public required RelationName Target { get; init; }
    /// <summary>Replace: what the catalog showed at <see cref="Target"/> before the build (null: nothing).
    /// CreateVersion never gets one: a relation at a version's name is a finished version (see <see cref="MaterializationStrategy"/>).</summary>
    public CatalogRelation? Existing { get; init; }
    /// <summary>The model being built (null for a seed).</summary>
    public ModelNode? Model { get; init; }
    /// <summary>The seed being loaded (null for a model).</summary>
    public SeedNode? Seed { get; init; }
    /// <summary>The model's SQL with every reference resolved (models only).</summary>
    public string Sql { get; init; } = "";
    /// <summary>Runs the model's audits; null when audits are off (<c>-NoAudits</c>).</summary>
    public AuditRunner? Audits { get; init; }
    /// <summary>Direct mode <c>-FullRefresh</c>: rebuild an incremental model from scratch.</summary>
    public bool FullRefresh { get; init; }
    /// <summary>A refresh of a physical version: its definition is immutable, so new rows whose columns differ from the
    /// version's (a source that changed shape) fail the node instead of taking the version's place.</summary>
    public bool KeepShape { get; init; }
    /// <summary>A new incremental version starts as a copy of this prior version (null: from scratch).</summary>
    public RelationName? Prior { get; init; }
    /// <summary>Records the finished relation (its state rows), inside the transaction that makes it final: the one that gives
    /// a new version its name, or the one that swaps a refresh in. Returns the statements to send on the session in the batch
    /// of that transaction (where state shares the warehouse; with a separate state store it writes there itself, just
    /// before, and returns none). The flag says whether a new version was seeded from <see cref="Prior"/> (its ancestry).</summary>
    public Func<IWarehouseSession, bool, IReadOnlyList<SqlStatement>>? Complete { get; init; }

    /// <summary>The statements of <see cref="Complete"/> (none without one).</summary>
    public IReadOnlyList<SqlStatement> Records(bool seededFromPrior) =>
        Complete?.Invoke(Session, seededFromPrior) ?? Array.Empty<SqlStatement>();
    public required ISqbLog Log { get; init; }

    public string Name => Model?.Name ?? Seed!.Name;
    public SqlDialect Dialect => Session.Dialect;

    /// <summary>Whether a built relation is checked before it takes its place: an enforced contract, or audits to run.</summary>
    public bool Verifies => Model is { } model && (model.Config.Contract == ContractMode.Enforced || Audits is not null && model.Config.Audits.Count > 0);

    /// <summary>
    /// The gate a built relation (staging, pending, delta) passes before it takes its place: the model's enforced contract
    /// (a mismatch throws B005, failing the node), then its audits (a blocking one is in the outcome).
    /// </summary>
    public IReadOnlyList<SqbAuditResult> RunAudits(RelationName relation)
    {
        if (Model is not null) ContractCheck.Verify(Session, Model, relation);
        return Audits is not null && Model is { Config.Audits.Count: > 0 } ? Audits.Run(Session, Model, relation) : Array.Empty<SqbAuditResult>();
    }

    /// <summary>An incremental rebuilt whole: the model's own <c>full_refresh</c> when it sets one, else the command's.</summary>
    public bool RebuildsWhole => Model?.Config.FullRefresh ?? FullRefresh;
}

/// <summary>What a materialization did: <c>create | replace | incremental | full_refresh | load | build</c>, the rows it
/// wrote or counted, and the audits it ran (a blocking one means nothing reached <see cref="MaterializeRequest.Target"/>).</summary>
internal sealed record MaterializeOutcome(string Action, long? Rows, IReadOnlyList<SqbAuditResult> Audits)
{
    public bool Blocked => AuditRunner.FirstBlocking(Audits) is not null;
}

/// <summary>
/// One strategy per kind of node (view, table, incremental, seed), shared by both modes (sqlmesh's
/// <c>_evaluation_strategy()</c>):
/// <list type="bullet">
/// <item><see cref="Replace"/>: bring the relation at a name up to date in place, so that a failing audit leaves what
/// stands there untouched (direct mode, and the refresh of a virtual version).</item>
/// <item><see cref="CreateVersion"/>: make a new, immutable physical version at its versioned name (virtual mode).
/// Complete or absent: the version is built and audited under a temporary name (<see cref="StagingNames.Pending"/>), then
/// renamed into its version name and recorded in state in ONE transaction (a view, cheap to make, is created and
/// recorded in that transaction directly). A killed build leaves at most a pending relation, which the next build of the
/// version drops; whatever stands at a version's name is a finished version.</item>
/// </list>
/// Both run the model's hooks (<see cref="ModelHooks"/>): pre-hooks before anything is built; post-hooks after the
/// relation passed its contract and audits: on the replaced relation, or on a new version's pending relation before it
/// is published (a view version: inside the transaction that creates it), so a failing hook publishes nothing.
/// Stateless; safe to use from several workers at once, each with its own session.
/// </summary>
internal abstract class MaterializationStrategy
{
    public static readonly MaterializationStrategy View = new ViewStrategy();
    public static readonly MaterializationStrategy Table = new TableStrategy();
    public static readonly MaterializationStrategy Incremental = new IncrementalTableStrategy();
    public static readonly MaterializationStrategy Seed = new SeedStrategy();

    public static MaterializationStrategy For(ModelNode model) => model.Config.Materialized switch
    {
        Materialization.View => View,
        Materialization.Table => Table,
        _ => Incremental,
    };

    public MaterializeOutcome Replace(MaterializeRequest request)
    {
        ModelHooks.RunPre(request, request.Target);
        var outcome = ReplaceCore(request);
        if (!outcome.Blocked) ModelHooks.RunPost(request, request.Target);
        return outcome;
    }

    public MaterializeOutcome CreateVersion(MaterializeRequest request)
    {
        ModelHooks.RunPre(request, request.Target);
        return CreateVersionCore(request);
    }

    /// <summary><see cref="Replace"/> without the hooks.</summary>
    protected internal abstract MaterializeOutcome ReplaceCore(MaterializeRequest request);

    /// <summary><see cref="CreateVersion"/> without the pre-hooks; it runs the post-hooks where it publishes.</summary>
    protected internal abstract MaterializeOutcome CreateVersionCore(MaterializeRequest request);

    /// <summary>
    /// The last step of every new version: the post-hooks on the pending relation, then in one transaction (one batch, then the
    /// commit) the pending relation takes the version's name and the version is recorded (<see cref="MaterializeRequest.Complete"/>).
    /// Nothing before this makes the version exist. The commit is a statement of its own (not an atomic batch's implicit
    /// commit): a client that dies after sending the batch leaves the server to roll the version back, so a builder that takes
    /// the version's latch next never finds its name taken by a version it did not see recorded.
    /// </summary>
    protected static void Publish(MaterializeRequest request, RelationName pending, bool seededFromPrior)
    {
        ModelHooks.RunPost(request, pending);
        var session = request.Session;
        using var tx = session.BeginTransaction();
        session.ExecuteBatch(new[] { request.Dialect.RenameTable(pending, request.Target.Name) }.Concat(request.Records(seededFromPrior)).ToList());
        tx.Commit();
    }

    /// <summary>A refresh keeps its version's shape (<see cref="MaterializeRequest.KeepShape"/>): the new rows' columns, names
    /// and types, must be the version's; otherwise the refresh fails and the version keeps its data. Returns the columns it
    /// read (of the target, then of the fresh rows), so a swap that follows need not read them again; null when not a refresh.</summary>
    protected static (IReadOnlyList<CatalogColumn> Target, IReadOnlyList<CatalogColumn> Fresh)? RequireSameShape(MaterializeRequest request, RelationName fresh,
        (IReadOnlyList<CatalogColumn> Target, IReadOnlyList<CatalogColumn> Fresh)? read = null)
    {
        if (!request.KeepShape) return null;
        var (target, columns) = read ?? request.Session.ColumnsOf(request.Target, fresh);
        var was = target.Select(c => $"{c.Name} {c.DataType}").ToList();
        var now = columns.Select(c => $"{c.Name} {c.DataType}").ToList();
        // Names compare as the engine compares them: on PostgreSQL "Kind" is another column than kind (a swap would put it
        // in the version); type names come from the same catalog function on both sides.
        var names = request.Dialect.CatalogNameComparer;
        if (target.Count == columns.Count && target.Zip(columns).All(p => names.Equals(p.First.Name, p.Second.Name) &&
                string.Equals(p.First.DataType, p.Second.DataType, StringComparison.OrdinalIgnoreCase)))
            return (target, columns);
        throw new SqbException(ErrorCodes.RefreshChangesShape, "RefreshChangesShape",
            $"refreshing {request.Target} would change its columns ({string.Join(", ", was)} -> {string.Join(", ", now)}); the version keeps its data",
            SqbErrorKind.InvalidData, request.Target.ToString(),
            $"A physical version never changes shape. If a source's columns changed, change the model (its SQL or config) so it gets a new version, then run Invoke-SqbBuild -Select {request.Name}.");
    }

    /// <summary>Drops what a killed build of this version may have left under the pending name.</summary>
    protected static RelationName ClearPending(MaterializeRequest request)
    {
        var pending = StagingNames.Pending(request.Target);
        request.Session.Execute(request.Dialect.DropTableIfExists(pending));
        return pending;
    }

    protected static long CountRows(IWarehouseSession session, RelationName relation) =>
        Convert.ToInt64(session.ExecuteScalar(session.Dialect.CountRows(relation)) ?? 0L);

    /// <summary>
    /// Creates <paramref name="table"/> from <paramref name="sql"/> after dropping what a killed build left there, in one round
    /// trip where the engine takes a batch, and returns its rows: as the engine reported them
    /// (<see cref="SqlDialect.CreateTableAsCountsRows"/>), else counted.
    /// </summary>
    protected static long CreateTableAs(IWarehouseSession session, RelationName table, string sql) => CreateTableAs(session, table, sql, null).Rows;

    /// <summary><see cref="CreateTableAs(IWarehouseSession, RelationName, string)"/>, and with <paramref name="alongside"/> the columns
    /// of that relation and of the new table, read in the same round trip (for a swap that compares them).</summary>
    protected static (long Rows, (IReadOnlyList<CatalogColumn> Other, IReadOnlyList<CatalogColumn> Created)? Columns) CreateTableAs(
        IWarehouseSession session, RelationName table, string sql, RelationName? alongside)
    {
        var dialect = session.Dialect;
        var statements = new[] { dialect.DropTableIfExists(table), dialect.CreateTableAs(table, sql) };
        (IReadOnlyList<CatalogColumn>, IReadOnlyList<CatalogColumn>)? columns = null;
        IReadOnlyList<int> affected;
        if (alongside is null) affected = session.ExecuteBatch(statements);
        else
        {
            var (done, read) = session.ExecuteBatchThenColumnsOf(statements, new[] { alongside, table });
            (affected, columns) = (done, (read[0], read[1]));
        }
        return (dialect.CreateTableAsCountsRows ? affected[1] : CountRows(session, table), columns);
    }

    /// <summary>Drops a relation the build made, when what it was made for failed; a failed drop is only reported.</summary>
    protected static void TryDrop(MaterializeRequest request, RelationName relation, bool table)
    {
        var session = request.Session;
        try { session.Execute(table ? session.Dialect.DropTableIfExists(relation) : session.Dialect.DropViewIfExists(relation)); }
        catch (Exception ex) { request.Log.Warning($"could not drop '{relation}': {Redaction.Redact(ex.Message)}"); }
    }
}

/// <summary>The helper relations a build makes beside its target, named after it.</summary>
internal static class StagingNames
{
    public static RelationName Staging(RelationName target) => new(target.Schema, target.Name + "__sqb_staging");
    public static RelationName Delta(RelationName target) => new(target.Schema, target.Name + "__sqb_delta");
    /// <summary>Where a new version is built before it takes its name: <c>&lt;version&gt;__sqb_tmp</c>.</summary>
    public static RelationName Pending(RelationName version) => new(version.Schema, version.Name + "__sqb_tmp");
    public const string PendingSuffix = "__sqb_tmp";
}
