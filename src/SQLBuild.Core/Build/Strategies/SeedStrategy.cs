using SQLBuild.Core.Adapters;
using SQLBuild.Core.Project;

namespace SQLBuild.Core.Build.Strategies;

/// <summary>Seeds: a table created with the inferred column types and loaded with the CSV rows, read from the file in batches.</summary>
internal sealed class SeedStrategy : MaterializationStrategy
{
    protected internal override MaterializeOutcome ReplaceCore(MaterializeRequest request)
    {
        var session = request.Session;
        var staging = StagingNames.Staging(request.Target);
        try
        {
            session.Execute(request.Dialect.DropTableIfExists(staging));
            Load(session, request.Seed!, staging);
            TableStrategy.SwapIn(session, staging, request.Target, request.Existing, request.Log);
            return new MaterializeOutcome("load", request.Seed!.RowCount, Array.Empty<SqbAuditResult>());
        }
        catch
        {
            TryDrop(request, staging, table: true);
            throw;
        }
    }

    /// <summary>The rows load into the pending table (in batches); only the publishing transaction gives it the version's name.</summary>
    protected internal override MaterializeOutcome CreateVersionCore(MaterializeRequest request)
    {
        var pending = ClearPending(request);
        try
        {
            Load(request.Session, request.Seed!, pending);
            Publish(request, pending, seededFromPrior: false);
            return new MaterializeOutcome("build", request.Seed!.RowCount, Array.Empty<SqbAuditResult>());
        }
        catch
        {
            TryDrop(request, pending, table: true);
            throw;
        }
    }

    /// <summary>Rows a load holds in memory at once: the file is read batch by batch as it is inserted.</summary>
    private const int LoadBatch = 10_000;

    private static void Load(IWarehouseSession session, SeedNode seed, RelationName table)
    {
        session.Execute(session.Dialect.CreateTable(table, seed.Columns));
        var columns = seed.Columns.Select(c => c.Name).ToList();
        foreach (var batch in seed.ReadRows().Chunk(LoadBatch)) session.InsertRows(table, columns, batch);
    }
}
