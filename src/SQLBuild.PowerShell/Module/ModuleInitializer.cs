using System.Management.Automation;
using System.Reflection;
using System.Runtime.InteropServices;
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

    /// <summary>
    /// Loads managed assemblies and native libraries from the dependencies folder. Anything the
    /// runtime or PowerShell already provides at an equal or newer version (System.*, for
    /// example) is left to the default context, so framework types stay shared.
    /// </summary>
    private sealed class DependencyLoadContext : AssemblyLoadContext
    {
        private readonly string _directory;
        private readonly Lazy<Dictionary<string, string>> _platformAssemblies =
            new(ReadPlatformAssemblyPaths, LazyThreadSafetyMode.ExecutionAndPublication);

        public DependencyLoadContext(string directory) : base("SQLBuild", isCollectible: false)
        {
            _directory = directory;
        }

        public Assembly? TryLoad(AssemblyName name)
        {
            try
            {
                return LoadFromAssemblyName(name);
            }
            catch (FileNotFoundException)
            {
                return null;
            }
        }

        protected override Assembly? Load(AssemblyName assemblyName)
        {
            if (assemblyName.Name is null)
            {
                return null;
            }

            string path = string.IsNullOrEmpty(assemblyName.CultureName)
                ? Path.Combine(_directory, assemblyName.Name + ".dll")
                : Path.Combine(_directory, assemblyName.CultureName, assemblyName.Name + ".dll");
            if (!File.Exists(path))
            {
                return null; // fall back to the default context (framework, PowerShell)
            }

            if (string.IsNullOrEmpty(assemblyName.CultureName) && PlatformSatisfies(assemblyName))
            {
                return null; // the runtime's or PowerShell's copy is as new: share it
            }

            return LoadFromAssemblyPath(path);
        }

        protected override IntPtr LoadUnmanagedDll(string unmanagedDllName)
        {
            foreach (string candidate in NativeFileNames(unmanagedDllName))
            {
                string path = Path.Combine(_directory, candidate);
                if (File.Exists(path))
                {
                    return LoadUnmanagedDllFromPath(path);
                }
            }

            return IntPtr.Zero; // default probing
        }

        /// <summary>"duckdb" -> duckdb, libduckdb.so, duckdb.dll, libduckdb.dylib, ... in order.</summary>
        private static IEnumerable<string> NativeFileNames(string name)
        {
            string file = Path.GetFileName(name);
            yield return file;
            string prefix = file.StartsWith("lib", StringComparison.Ordinal) ? string.Empty : "lib";
            if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows))
            {
                yield return file + ".dll";
            }
            else if (RuntimeInformation.IsOSPlatform(OSPlatform.OSX))
            {
                yield return prefix + file + ".dylib";
                yield return file + ".dylib";
            }
            else
            {
                yield return prefix + file + ".so";
                yield return file + ".so";
            }
        }

        private bool PlatformSatisfies(AssemblyName requested)
        {
            if (!_platformAssemblies.Value.TryGetValue(requested.Name!, out string? platformPath))
            {
                return false;
            }

            try
            {
                Version? platformVersion = AssemblyName.GetAssemblyName(platformPath).Version;
                return platformVersion is not null && platformVersion >= (requested.Version ?? new Version(0, 0));
            }
            catch (Exception e) when (e is BadImageFormatException or IOException or ArgumentException)
            {
                return false;
            }
        }

        /// <summary>Simple name -> path of every assembly on the host's trusted platform list.</summary>
        private static Dictionary<string, string> ReadPlatformAssemblyPaths()
        {
            var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            if (AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") is string list)
            {
                foreach (string path in list.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
                {
                    result.TryAdd(Path.GetFileNameWithoutExtension(path), path);
                }
            }

            return result;
        }
    }
}
