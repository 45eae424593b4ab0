using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Reflection;

namespace SQLBuild.PowerShell.Completion;

/// <summary>One parameter that completes through a registered (not attributed) completer.</summary>
public sealed record CompleterRegistration(string Command, string Parameter, Type Completer);

/// <summary>
/// The parameter-name convention behind completion: a parameter whose name or alias is listed here completes through
/// that completer. This module's cmdlets carry it as an <c>[ArgumentCompleter]</c> attribute (Completion.Tests.ps1
/// fails on a conventional parameter without one, so importing spends nothing on it); <see cref="Register"/> applies
/// the convention at run time to another assembly's cmdlets that lack the attributes.
/// </summary>
public static class CompleterRegistry
{
    /// <summary>Parameter name (or alias) -> completer; the first match in a parameter's name, then its aliases, wins.</summary>
    public static IReadOnlyDictionary<string, Type> ByParameterName { get; } = new Dictionary<string, Type>(StringComparer.OrdinalIgnoreCase)
    {
        ["Environment"] = typeof(EnvironmentCompleter),
        ["VirtualEnv"] = typeof(EnvironmentCompleter),
        ["CheckpointId"] = typeof(CheckpointCompleter),
        ["Key"] = typeof(LockKeyCompleter),
        ["BackupId"] = typeof(BackupIdCompleter),
        ["Model"] = typeof(ModelCompleter),
        ["Select"] = typeof(SelectorCompleter),
        ["Exclude"] = typeof(SelectorCompleter),
        ["Target"] = typeof(TargetCompleter),
    };

    /// <summary>The parameters of the cmdlets in <paramref name="assembly"/> that follow the convention but carry no completer attribute.</summary>
    public static IReadOnlyList<CompleterRegistration> Unattributed(Assembly assembly)
    {
        var result = new List<CompleterRegistration>();
        foreach (var type in SafeTypes(assembly))
        {
            if (type.IsAbstract || !typeof(Cmdlet).IsAssignableFrom(type)) continue;
            var cmdlet = type.GetCustomAttribute<CmdletAttribute>();
            if (cmdlet is null) continue;
            var command = $"{cmdlet.VerbName}-{cmdlet.NounName}";
            foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
            {
                if (!property.IsDefined(typeof(ParameterAttribute), true) || property.IsDefined(typeof(ArgumentCompleterAttribute), true)) continue;
                var names = new[] { property.Name }.Concat(property.GetCustomAttributes<AliasAttribute>(true).SelectMany(a => a.AliasNames));
                foreach (var name in names)
                {
                    if (!ByParameterName.TryGetValue(name, out var completer)) continue;
                    result.Add(new CompleterRegistration(command, property.Name, completer));
                    break;
                }
            }
        }
        return result;
    }

    /// <summary>
    /// Registers (Register-ArgumentCompleter, in the calling runspace) the conventional completer of
    /// every <see cref="Unattributed"/> parameter of <paramref name="assembly"/>'s cmdlets. Call it
    /// from the pipeline thread (a module's script, say). Returns how many parameters it registered.
    /// </summary>
    public static int Register(Assembly assembly)
    {
        var registrations = Unattributed(assembly);
        if (registrations.Count == 0) return 0;
        using var ps = System.Management.Automation.PowerShell.Create(RunspaceMode.CurrentRunspace);
        foreach (var registration in registrations)
        {
            var completer = ScriptBlock.Create(
                "param($commandName, $parameterName, $wordToComplete, $commandAst, $fakeBoundParameters) " +
                $"[{registration.Completer.FullName}]::new().CompleteArgument($commandName, $parameterName, $wordToComplete, $commandAst, $fakeBoundParameters)");
            ps.AddCommand("Microsoft.PowerShell.Core\\Register-ArgumentCompleter")
                .AddParameter("CommandName", registration.Command)
                .AddParameter("ParameterName", registration.Parameter)
                .AddParameter("ScriptBlock", completer)
                .AddStatement();
        }
        ps.Invoke();
        return registrations.Count;
    }

    private static IEnumerable<Type> SafeTypes(Assembly assembly)
    {
        try { return assembly.GetExportedTypes(); }
        catch (ReflectionTypeLoadException e) { return e.Types.Where(t => t is not null)!; }
    }
}
