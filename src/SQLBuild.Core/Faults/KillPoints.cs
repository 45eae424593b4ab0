using System.Diagnostics;

namespace SQLBuild.Core.Faults;

/// <summary>
/// Test-only fault injection, and the one registry of the places an operation can be killed.
/// <para>
/// Every journaled step of every operation is declared here (<see cref="Declared"/>) and the code hits it by that
/// constant (<see cref="Hit"/>). Between two steps, every statement boundary is a kill point too: the n-th statement
/// (or commit) a session runs after step <c>s</c> was hit is <c>s#n</c> (<see cref="Statement"/>).
/// </para>
/// <para>
/// When <c>SQB_TEST_KILL_AT</c> names a point, the process kills itself hard there (no finally blocks, no cleanup),
/// exactly like a crash or an operator's kill -9. When <c>SQB_TEST_KILL_TRACE</c> names a file, every point reached is
/// appended to it, one per line: the fault-matrix tests run each scenario once traced, then once killed at each
/// point of the trace, so the matrix is generated from the code, never hand-picked.
/// </para>
/// </summary>
public static class KillPoints
{
    public const string Variable = "SQB_TEST_KILL_AT";
    public const string TraceVariable = "SQB_TEST_KILL_TRACE";

    public static class Build
    {
        public const string Plan = "build:plan";
        public const string Physical = "build:physical";
        public const string Switch = "build:switch";
    }

    public static class Refresh
    {
        public const string Versions = "refresh:versions";
    }

    public static class Promote
    {
        public const string Switch = "promote:switch";
    }

    public static class Rollback
    {
        public const string Switch = "rollback:switch";
    }

    public static class Adopt
    {
        /// <summary>Followed by the node: <c>adopt:move:orders</c>.</summary>
        public const string Move = "adopt:move:";
        public const string View = "adopt:view:";
        public const string Finalize = "adopt:finalize";
    }

    public static class Detach
    {
        public const string Drop = "detach:drop:";
        public const string View = "detach:view:";
        public const string Move = "detach:move:";
        public const string Finalize = "detach:finalize";
    }

    public static class Repair
    {
        public const string Views = "repair:views";
    }

    public static class Attach
    {
        public const string Switch = "attach:switch";
    }

    public static class Janitor
    {
        public const string Environments = "janitor:environments";
        public const string Physical = "janitor:physical";
        public const string Backups = "janitor:backups";
        public const string State = "janitor:state";
    }

    public static class Migrate
    {
        public const string Backup = "migrate:backup";
        public const string Initialize = "migrate:initialize";
    }

    public static class Restore
    {
        public const string Replace = "restore:replace";
    }

    /// <summary>Every declared step, by operation; each operation also starts with <c>&lt;operation&gt;:start</c>
    /// (<see cref="Begin"/>), before its lock. A step ending in ':' is followed by a node name.</summary>
    public static readonly IReadOnlyDictionary<string, IReadOnlyList<string>> Declared = new Dictionary<string, IReadOnlyList<string>>
    {
        ["build"] = new[] { Build.Plan, Build.Physical, Build.Switch },
        ["refresh"] = new[] { Refresh.Versions },
        ["promote"] = new[] { Promote.Switch },
        ["rollback"] = new[] { Rollback.Switch },
        ["adopt"] = new[] { Adopt.Move, Adopt.View, Adopt.Finalize },
        ["detach"] = new[] { Detach.Drop, Detach.View, Detach.Move, Detach.Finalize },
        ["repair"] = new[] { Repair.Views },
        ["attach"] = new[] { Attach.Switch },
        ["janitor"] = new[] { Janitor.Environments, Janitor.Physical, Janitor.Backups, Janitor.State },
        ["migrate"] = new[] { Migrate.Backup, Migrate.Initialize },
        ["restore"] = new[] { Restore.Replace },
    }.ToDictionary(e => e.Key, e => (IReadOnlyList<string>)e.Value.Prepend(e.Key + ":start").ToList());

    /// <summary>An operation starts (before its lock and journal row): <c>&lt;operation&gt;:start</c>.</summary>
    public static void Begin(string operation) => Hit(operation + ":start");

    /// <summary>Named boundaries inside a step (<see cref="At"/>): <c>&lt;step&gt;:before-commit</c>, the moment before the step's
    /// transaction commits, and <c>&lt;step&gt;:view:&lt;n&gt;</c>, before its n-th view statement.</summary>
    public const string BeforeCommit = ":before-commit";
    public const string View = ":view:";

    /// <summary>Whether <paramref name="point"/> (a traced point) is a declared step, one of its named boundaries, or
    /// a statement boundary of either.</summary>
    public static bool IsDeclared(string point)
    {
        var step = point.Split('#')[0];
        if (step.EndsWith(BeforeCommit, StringComparison.Ordinal)) step = step[..^BeforeCommit.Length];
        else if (step.LastIndexOf(View, StringComparison.Ordinal) is var v and > 0 && int.TryParse(step[(v + View.Length)..], out _)) step = step[..v];
        return Declared.Values.SelectMany(s => s).Any(d => d.EndsWith(':') ? step.StartsWith(d, StringComparison.Ordinal) && step.Length > d.Length : step == d);
    }

    private static readonly object Gate = new();
    private static string? _step;
    private static int _statements;

    /// <summary>A journaled step starts: its statement boundaries count from here.</summary>
    public static void Hit(string step)
    {
        lock (Gate)
        {
            _step = step;
            _statements = 0;
        }
        Reach(step);
    }

    /// <summary>A named boundary inside the current step (<see cref="BeforeCommit"/>, <see cref="View"/>); statement
    /// boundaries keep counting from the step.</summary>
    public static void At(string point) => Reach(point);

    /// <summary>A statement (or commit) is about to run: the boundary <c>&lt;step&gt;#&lt;n&gt;</c> of the current step.</summary>
    public static void Statement()
    {
        if (!Active) return;
        string point;
        lock (Gate)
        {
            if (_step is null) return;
            point = $"{_step}#{++_statements}";
        }
        Reach(point);
    }

    /// <summary>Fault injection is on for this process (checked per call: cheap, and nothing to cache wrongly).</summary>
    private static bool Active =>
        !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(Variable)) || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(TraceVariable));

    private static void Reach(string point)
    {
        if (Environment.GetEnvironmentVariable(TraceVariable) is { Length: > 0 } trace)
            lock (Gate) File.AppendAllText(trace, point + "\n");
        var at = Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrEmpty(at) || !string.Equals(at, point, StringComparison.Ordinal)) return;
        Process.GetCurrentProcess().Kill();
        Thread.Sleep(Timeout.Infinite);
    }
}
