using SQLBuild.Core.Adapters;
using SQLBuild.Core.Tests.Support;
using Xunit;

namespace SQLBuild.Core.Tests.Adapters;

/// <summary>
/// A DuckDB file left with a write-ahead log by a killed process: after the replay (and the checkpoint of the
/// next clean close) unique indexes must still know every replayed row, or the state store's deletes miss rows
/// and its unique keys admit duplicates (seen after an interrupted adopt: "Failed to delete all rows from index").
/// </summary>
public class DuckDbCrashRecoveryTests
{
    private static SqlStatement S(string sql) => new("TEST", "wal", sql);

    [Fact]
    public void Unique_index_keeps_replayed_rows_after_a_crash()
    {
        using var live = TestDatabases.NewDuckDbFile("live.duckdb");
        using var crashed = TestDatabases.NewDuckDbFile("crashed.duckdb");
        using (var s = live.CreateWarehouse().OpenSession())
        {
            s.Execute(S("CREATE SCHEMA st"));
            s.Execute(S("CREATE TABLE st.locks (lock_key VARCHAR, owner_id VARCHAR)"));
            s.Execute(S("CREATE UNIQUE INDEX idx_sqb_locks_identity ON st.locks (lock_key)"));
        }
        // A process that committed a row and died before any checkpoint: copy the file and its log while open.
        var w = live.CreateWarehouse();
        using (var s = w.OpenSession())
        {
            s.Execute(S("INSERT INTO st.locks VALUES ('virtual_env:dev', 'adopt:dev')"));
            Assert.True(File.Exists(live.FullPath + ".wal"));
            File.Copy(live.FullPath, crashed.FullPath);
            File.Copy(live.FullPath + ".wal", crashed.FullPath + ".wal");
        }

        // First open replays the log; closing checkpoints it.
        using (var s = crashed.CreateWarehouse().OpenSession())
            Assert.Equal(1L, Convert.ToInt64(s.ExecuteScalar(S("SELECT COUNT(*) FROM st.locks"))));
        Assert.False(File.Exists(crashed.FullPath + ".wal"));

        using (var s = crashed.CreateWarehouse().OpenSession())
        {
            // The unique key still holds, and a delete by key finds the row.
            var dup = Assert.Throws<Core.Errors.SqbException>(() => s.Execute(S("INSERT INTO st.locks VALUES ('virtual_env:dev', 'other')")));
            Assert.True(WarehouseErrors.IsUniqueViolation(dup));
            Assert.Equal(1, s.Execute(S("DELETE FROM st.locks WHERE lock_key = 'virtual_env:dev' AND owner_id = 'adopt:dev'")));
            Assert.Equal(1, s.Execute(S("INSERT INTO st.locks VALUES ('virtual_env:dev', 'adopt:dev')")));
            Assert.Equal(1, s.Execute(S("DELETE FROM st.locks WHERE lock_key = 'virtual_env:dev'")));
            Assert.Equal(0L, Convert.ToInt64(s.ExecuteScalar(S("SELECT COUNT(*) FROM st.locks"))));
        }
    }
}
