using System.Diagnostics;
using SQLBuild.Core.Adapters;
using SQLBuild.Core.Project;

namespace SQLBuild.Core.Build.Audits;

/// <summary>Runs a data test (<c>tests/*.sql</c>: a query that returns the failing rows) in either mode.</summary>
internal static class DataTestRunner
{
    /// <param name="render">Resolves the test's references to the relations of the caller's mode.</param>
    public static SqbNodeResult Run(IWarehouseSession session, DataTestNode test, Func<string> render)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            var failing = Convert.ToInt64(session.ExecuteScalar(session.Dialect.CountQuery("TEST", test.Name, render())) ?? 0L);
            return new SqbNodeResult
            {
                Name = test.Name, NodeType = "test", Relation = test.RelativePath, Duration = clock.Elapsed, Rows = failing,
                Action = "test", Status = failing == 0 ? SqbNodeStatus.Succeeded : SqbNodeStatus.Failed,
                Error = failing == 0 ? null : $"test '{test.Name}' returned {failing} failing row(s)",
                ErrorCode = failing == 0 ? null : NodeOutcome.TestFailedCode,
            };
        }
        catch (Exception ex)
        {
            return NodeOutcome.Failure(test.Name, NodeKind.Test, null, ex, clock.Elapsed);
        }
    }
}
