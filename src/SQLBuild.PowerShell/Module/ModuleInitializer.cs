using System.Management.Automation;
using System.Reflection;
using System.Runtime.Loader;

namespace SQLBuild.PowerShell.Module;

/// <summary>
/// Dependency isolation for the module (the "resolving assembly conflicts" pattern used by
/// PSResourceGet). The module folder holds only <c>SQLBuild.dll</c> (the cmdlets, loaded by
/// PowerShell into the default load context) and the manifest and formats; the engine
/// <c>SQLBuild.Core.dll</c>, the drivers (Npgsql, Microsoft.Data.SqlClient, DuckDB.NET) and their
/// native libraries live in <c>dependencies/</c> and load into a private
/// <see cref="AssemblyLoadContext"/> named "SQLBuild". A DBA's session can then hold other versions of
/// the same drivers (the SqlServer module, dbatools) without a clash.
/// </summary>
/// <remarks>
/// <para>Import order: the manifest's nested module <c>SQLBuild.Init.psm1</c> calls <see cref="Register"/>
/// before PowerShell reflects over SQLBuild.dll's types (it does that before running
/// <see cref="OnImport"/>, and a cmdlet with, say, a SQLBuild.Core enum parameter needs SQLBuild.Core
/// to load its type). <see cref="OnImport"/> calls it again; it is idempotent.</para>
/// <para>On import only the default context's <see cref="AssemblyLoadContext.Resolving"/> event is
/// hooked and <c>SQLBuild.Core</c> itself is loaded into the private context (a few milliseconds; it
/// does not pull in any driver). Drivers load on first use, when the JIT first needs one of their
/// types inside SQLBuild.Core, and then resolve through <see cref="DependencyLoadContext"/>.</para>
/// <para>The default context is only ever served <c>SQLBuild.Core</c>: a request from anywhere else for,
/// say, Npgsql is left alone, so this module never hands its private copy to another module.
/// Cmdlets must therefore reach drivers only through SQLBuild.Core, never reference them directly.</para>
/// <para>PowerShell's type-literal lookup skips assemblies in custom load contexts, so the public
/// output types (namespace <c>SQLBuild</c> in SQLBuild.Core) are registered as type accelerators under
/// their full names on import (<c>[SQLBuild.SqbBuildResult]</c> works in scripts) and unregistered on
/// removal. Format.ps1xml matches on the full type names in <c>PSTypeNames</c>.</para>
/// <para>The folder name <c>dependencies</c> must match <c>DependencyFolder</c> in
/// <c>build/module-layout.psd1</c>, which <c>build.ps1</c> follows.</para>
/// </remarks>
public sealed class ModuleInitializer : IModuleAssemblyInitializer, IModuleAssemblyCleanup
{
    /// <summary>Folder, relative to SQLBuild.dll, holding the isolated dependencies.</summary>
    public const string DependencyFolderName = "dependencies";

    /// <summary>Assemblies the default load context may be served from the private context.</summary>
    private static readonly HashSet<string> SharedWithDefaultContext =
        new(StringComparer.OrdinalIgnoreCase) { "SQLBuild.Core" };

    private static readonly object Gate = new();
    private static DependencyLoadContext? s_context;
    private static bool s_hooked;

    /// <summary>The private load context ("SQLBuild"); created on first import.</summary>
    public static AssemblyLoadContext? DependencyContext => s_context;

    /// <summary>Full path of the <c>dependencies</c> folder next to SQLBuild.dll.</summary>
    public static string DependencyDirectory { get; } = Path.Combine(
        Path.GetDirectoryName(typeof(ModuleInitializer).Assembly.Location) ?? AppContext.BaseDirectory,
        DependencyFolderName);

    public void OnImport() => Register();

    /// <summary>
    /// Creates the private context, hooks the default context's resolver and loads SQLBuild.Core.
    /// Idempotent. Called by <c>SQLBuild.Init.psm1</c> (a nested module, so it runs before
    /// PowerShell reflects over the cmdlet types) and again by <see cref="OnImport"/>.
    /// </summary>
    public static void Register()
    {
        lock (Gate)
        {
            s_context ??= new DependencyLoadContext(DependencyDirectory);
            if (!s_hooked)
            {
                AssemblyLoadContext.Default.Resolving += ResolveFromDefault;
                s_hooked = true;
            }
        }

        // Load the engine now (not its drivers) so that its types are resolvable and the
        // isolation is observable right after Import-Module. A missing dependencies/ folder
        // (a plain bin/ output instead of the laid-out module) is reported at first use instead.
        string corePath = Path.Combine(DependencyDirectory, "SQLBuild.Core.dll");
        if (File.Exists(corePath))
        {
            Assembly core = s_context!.LoadFromAssemblyName(new AssemblyName("SQLBuild.Core"));
            TypeAccelerators.Register(core);
        }
    }

    public void OnRemove(PSModuleInfo psModuleInfo)
    {
        // The context itself stays: it is not collectible, because the cmdlet assembly in the
        // default context keeps references to SQLBuild.Core's types. A re-import re-hooks.
        lock (Gate)
        {
            if (s_hooked)
            {
                AssemblyLoadContext.Default.Resolving -= ResolveFromDefault;
                s_hooked = false;
            }
        }

        TypeAccelerators.Unregister();
    }

    private static Assembly? ResolveFromDefault(AssemblyLoadContext defaultContext, AssemblyName name)
    {
        if (name.Name is null || !SharedWithDefaultContext.Contains(name.Name) || s_context is null)
        {
            return null;
        }

        return s_context.TryLoad(name);
    }
}
