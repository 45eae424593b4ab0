# SQLBuild.Init: a nested module of SQLBuild (see SQLBuild.psd1), so PowerShell loads it BEFORE the
# root module SQLBuild.dll. Import-Module reflects over SQLBuild.dll's types before it calls
# IModuleAssemblyInitializer.OnImport, and a cmdlet whose layout uses a type from SQLBuild.Core (an
# enum parameter, a Core base class) would fail to load at that point unless the private
# AssemblyLoadContext already serves SQLBuild.Core. This hooks it first; OnImport repeats it
# (idempotent) for anyone importing SQLBuild.dll without the manifest. Register() also adds the
# [SQLBuild.*] type accelerators. Exports nothing.
#
# Completion needs nothing here: every parameter named Environment, CheckpointId, Key, BackupId,
# Model, Select, Exclude or Target carries its completer attribute (Completion.Tests.ps1 fails on one
# that does not), so importing pays for no reflection or Register-ArgumentCompleter calls.
[System.Reflection.Assembly]::LoadFrom([System.IO.Path]::Combine($PSScriptRoot, 'SQLBuild.dll')).GetType('SQLBuild.PowerShell.Module.ModuleInitializer', $true)::Register()
Export-ModuleMember
