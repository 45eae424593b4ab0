using SQLBuild.Core.Build;
using SQLBuild.Core.State;
using SQLBuild.Core.Tests.Support;
using Xunit;

namespace SQLBuild.Core.Tests.Build;

/// <summary>
/// New plain view versions are built per wave (issue 11): their DDL and their state rows go in one batch inside one
/// transaction, so the state statements of a build do not grow with the number of views, and a version still exists
/// exactly when it is recorded. A wave whose transaction fails is built node by node: each node gets its own outcome.
/// </summary>
public class WaveBuildTests
{
    private static SqbNodeResult Node(SqbBuildResult r, string name) => r.Nodes.Single(n => n.Name == name);

    /// <summary>Adds <paramref name="count"/> plain views reading stg_customers, and one reading each of them.</summary>
    private static void AddViews(VirtualFixture f, int count)
    {
        for (var i = 0; i < count; i++)
        {
            f.Write($"models/extra/x_{i:d3}.sql", $"MODEL (materialized view);\nSELECT customer_id, {i} AS k FROM __ref(\"stg_customers\")\n");
            f.Write($"models/extra/y_{i:d3}.sql", $"MODEL (materialized view);\nSELECT customer_id, k + 1 AS k FROM __ref(\"x_{i:d3}\")\n");
        }
    }

    private static int StateInserts(VirtualFixture f, string table) =>
        f.Log.Lines.Count(l => l == $"VERBOSE: INSERT {f.StateSchema}.{table}");

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void The_state_writes_of_a_build_do_not_grow_with_its_views_and_every_view_is_built_and_recorded(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        var inserts = new List<(int ModelVersions, int PhysicalRelations)>();
        foreach (var count in new[] { 3, 40 })
        {
            using var f = new VirtualFixture(engine);
            AddViews(f, count);
            f.Init();
            // One worker: the waves are the same from run to run (with more, which nodes share a wave depends on timing).
            var r = f.Build(new BuildOptions { Concurrency = 1 });
            Assert.Equal("succeeded", r.Status);
            for (var i = 0; i < count; i++)
            {
                foreach (var name in new[] { $"x_{i:d3}", $"y_{i:d3}" })
                {
                    Assert.Equal("build", Node(r, name).Action);
                    Assert.Equal(1, f.StateCount("physical_relations", "artifact_name = $1 AND version_hash = $2", name, f.Hash(name)));
                    Assert.Equal(1, f.StateCount("model_versions", "model_name = $1 AND version_hash = $2", name, f.Hash(name)));
                    f.AssertViewReads("dev", name, f.Physical(name));
                }
                Assert.Equal(i + 1, f.Long($"SELECT MAX(k) FROM {f.View("dev", $"y_{i:d3}")}"));
            }
            inserts.Add((StateInserts(f, "model_versions"), StateInserts(f, "physical_relations")));
        }
        Assert.Equal(inserts[0], inserts[1]);
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void A_broken_view_in_a_wave_fails_alone_and_the_rest_of_its_wave_is_built(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new VirtualFixture(engine);
        AddViews(f, 3);
        f.Write("models/extra/x_001.sql", "MODEL (materialized view);\nSELECT no_such_column FROM __ref(\"stg_customers\")\n");
        f.Init();
        var r = f.Build(new BuildOptions { Concurrency = 1 });

        Assert.Equal("failed", r.Status);
        Assert.Equal(SqbNodeStatus.Failed, Node(r, "x_001").Status);
        Assert.Contains("no_such_column", Node(r, "x_001").Error);
        Assert.Equal(SqbNodeStatus.Skipped, Node(r, "y_001").Status);
        Assert.Equal("x_001", Node(r, "y_001").SkippedBecause);
        // The broken version is neither in the warehouse nor in state; its wave-mates are in both.
        Assert.Null(f.Catalog(f.PhysicalSchema).Find(f.Physical("x_001")));
        Assert.Equal(0, f.StateCount("physical_relations", "artifact_name = $1", "x_001"));
        Assert.Equal(0, f.StateCount("model_versions", "model_name = $1", "x_001"));
        foreach (var name in new[] { "x_000", "x_002", "y_000", "y_002" })
        {
            Assert.Equal(SqbNodeStatus.Succeeded, Node(r, name).Status);
            Assert.NotNull(f.Catalog(f.PhysicalSchema).Find(f.Physical(name)));
            Assert.Equal(1, f.StateCount("physical_relations", "artifact_name = $1 AND version_hash = $2", name, f.Hash(name)));
            f.AssertViewReads("dev", name, f.Physical(name));
        }
        Assert.Contains(f.Log.Lines, l => l.Contains("did not commit", StringComparison.Ordinal) && l.Contains("building each alone", StringComparison.Ordinal));
    }
}
