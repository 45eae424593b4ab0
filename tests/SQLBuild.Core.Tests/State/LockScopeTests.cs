using SQLBuild.Core.Errors;
using SQLBuild.Core.Logging;
using SQLBuild.Core.State;
using SQLBuild.Core.Tests.Support;
using Xunit;

namespace SQLBuild.Core.Tests.State;

/// <summary>Advisory locks belong to one state store: two projects in one PostgreSQL database each have their own 'dev'.</summary>
public class LockScopeTests
{
    private static LifecycleFixture StateOnly()
    {
        var f = new LifecycleFixture("postgres");
        f.SwitchToVirtual();
        new StateLifecycle(f.Store(), NullLog.Instance).Initialize();
        return f;
    }

    [SkippableFact]
    public void Two_state_stores_in_one_database_lock_their_own_environments_independently()
    {
        TestEngine.SkipUnlessAvailable("postgres");
        using var a = StateOnly();
        using var b = StateOnly();

        using var heldByA = new LockManager(a.Store(), NullLog.Instance).Acquire(LockManager.EnvironmentKey("dev"), "test:a");
        using var heldByB = new LockManager(b.Store(), NullLog.Instance).Acquire(LockManager.EnvironmentKey("dev"), "test:b");

        var ex = Assert.Throws<SqbException>(() => new LockManager(a.Store(), NullLog.Instance).Acquire(LockManager.EnvironmentKey("dev"), "test:c"));
        Assert.Equal("S014", ex.Code);
        Assert.StartsWith("virtual environment 'dev' is locked by test:a", ex.Message);
        Assert.False(new LockManager(a.Store(), NullLog.Instance).List().Single().IsOrphaned);
        Assert.False(new LockManager(b.Store(), NullLog.Instance).List().Single().IsOrphaned);
    }
}
