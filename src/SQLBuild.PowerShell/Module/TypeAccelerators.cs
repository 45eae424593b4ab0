using System.Management.Automation;
using System.Reflection;

namespace SQLBuild.PowerShell.Module;

/// <summary>
/// Registers the public output types of SQLBuild.Core (namespace <c>SQLBuild</c>) as PowerShell type
/// accelerators under their full names, so <c>[SQLBuild.SqbBuildResult]</c> and
/// <c>[SQLBuild.SqbNodeStatus]::Failed</c> resolve in scripts although the assembly lives in the
/// private load context. Only names that are free (or already ours) are taken, and only those are
/// removed again on module removal.
/// </summary>
internal static class TypeAccelerators
{
    public const string Namespace = "SQLBuild";

    private static readonly object Gate = new();
    private static readonly List<string> s_registered = new();

    /// <summary>The accelerator table: System.Management.Automation.TypeAccelerators (public in effect, internal by name).</summary>
    private static readonly Type? Table = typeof(PSObject).Assembly.GetType("System.Management.Automation.TypeAccelerators");

    /// <summary>The public types of <paramref name="core"/> in the <c>SQLBuild</c> namespace.</summary>
    public static IEnumerable<Type> PublicTypes(Assembly core)
    {
        Type[] types;
        try { types = core.GetExportedTypes(); }
        catch (ReflectionTypeLoadException e) { types = e.Types.Where(t => t is not null).ToArray()!; }
        return types.Where(t => t.Namespace == Namespace && !t.IsNested);
    }

    public static void Register(Assembly core)
    {
        if (Table is null) return;
        var add = Table.GetMethod("Add", new[] { typeof(string), typeof(Type) });
        var get = Table.GetProperty("Get")?.GetValue(null) as IDictionary<string, Type>;
        if (add is null || get is null) return;
        lock (Gate)
        {
            foreach (var type in PublicTypes(core))
            {
                var name = type.FullName!;
                if (get.TryGetValue(name, out var existing) && existing != type) continue;   // someone else's: leave it
                add.Invoke(null, new object[] { name, type });
                if (!s_registered.Contains(name)) s_registered.Add(name);
            }
        }
    }

    public static void Unregister()
    {
        var remove = Table?.GetMethod("Remove", new[] { typeof(string) });
        if (remove is null) return;
        lock (Gate)
        {
            foreach (var name in s_registered) remove.Invoke(null, new object[] { name });
            s_registered.Clear();
        }
    }
}
