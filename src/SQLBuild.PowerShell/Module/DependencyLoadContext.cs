using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Loader;

namespace SQLBuild.PowerShell.Module;

/// <summary>
/// Loads managed assemblies and native libraries from the dependencies folder. Anything the
/// runtime or PowerShell already provides at an equal or newer version (System.*, for
/// example) is left to the default context, so framework types stay shared.
/// </summary>
internal sealed class DependencyLoadContext : AssemblyLoadContext
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
