# SQLBuild.Init: a nested module of SQLBuild (see SQLBuild.psd1), so PowerShell loads it BEFORE the
# root module SQLBuild.dll. Import-Module reflects over SQLBuild.dll's types before it calls
# IModuleAssemblyInitializer.OnImport, and a cmdlet whose layout uses a type from SQLBuild.Core (an
# enum parameter, a Core base class) would fail to load at that point unless the private
# AssemblyLoadContext already serves SQLBuild.Core. This hooks it first; OnImport repeats it
# (idempotent) for anyone importing SQLBuild.dll without the manifest. Register() also adds the
# [SQLBuild.*] type accelerators.
#
# Then: completion by convention. Parameters named Environment, CheckpointId, Key, BackupId, Model,
# Select, Exclude or Target (by name or alias) that carry no [ArgumentCompleter] of their own get the
# module's completer for that name (CompleterRegistry), so every cmdlet completes alike. Exports nothing.
# A script block keeps the helper variables out of the module's scope (cheaper than Remove-Variable,
# whose errors for absent names cost tens of milliseconds at import).
& {
    $assembly = [System.Reflection.Assembly]::LoadFrom([System.IO.Path]::Combine($PSScriptRoot, 'SQLBuild.dll'))
    $assembly.GetType('SQLBuild.PowerShell.Module.ModuleInitializer', $true)::Register()

    $null = $assembly.GetType('SQLBuild.PowerShell.Completion.CompleterRegistry', $true)::Register($assembly)
}
Export-ModuleMember
