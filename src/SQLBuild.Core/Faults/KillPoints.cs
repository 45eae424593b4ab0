using System.Diagnostics;

namespace SQLBuild.Core.Faults;

/// <summary>
/// Test-only fault injection: when <c>SQB_TEST_KILL_AT</c> names a step, the process kills itself hard
/// there (no finally blocks, no cleanup), exactly like a crash or an operator's kill -9. Recovery tests
/// use it to interrupt promote, adopt and detach for real.
/// </summary>
public static class KillPoints
{
    public const string Variable = "SQB_TEST_KILL_AT";

    public static void Hit(string step)
    {
        var at = Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrEmpty(at) || !string.Equals(at, step, StringComparison.Ordinal)) return;
        Process.GetCurrentProcess().Kill();
        Thread.Sleep(Timeout.Infinite);
    }
}
