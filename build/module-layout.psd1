#
# The one description of the built module folder. build.ps1 -Task Build follows it; the module
# initializer (src/SQLBuild.PowerShell/Module/ModuleInitializer.cs) expects DependencyFolder.
#
#   out/SQLBuild/
#     SQLBuild.psd1              from the repository root, ReleaseNotes from CHANGELOG.md
#     SQLBuild.Init.psm1         nested module: hooks the private load context before SQLBuild.dll loads
#     SQLBuild.dll (+ .pdb)      the cmdlets, loaded by PowerShell into the default load context
#     SQLBuild.Format.ps1xml     (and SQLBuild.Types.ps1xml when it exists)
#     LICENSE, CHANGELOG.md      from the repository root
#     en-US/                     help (MAML, about_*.help.txt) when present
#     dependencies/              everything else dotnet publish produced for the current RID:
#       SQLBuild.Core.dll        the engine
#       Npgsql.dll, Microsoft.Data.SqlClient.dll, DuckDB.NET.*.dll, ...   drivers and their deps
#       libduckdb.so | libduckdb.dylib | duckdb.dll                      natives, flattened
#       <culture>/*.resources.dll                                         satellite assemblies
#
@{
    ModuleName       = 'SQLBuild'
    OutputRoot       = 'out'                              # the module lands in <OutputRoot>/<ModuleName>
    Project          = 'src/SQLBuild.PowerShell'          # dotnet publish this
    Configuration    = 'Release'
    DependencyFolder = 'dependencies'                     # = ModuleInitializer.DependencyFolderName

    # Published files that stay in the module root; every other published file goes to DependencyFolder.
    RootAssemblies   = @('SQLBuild.dll', 'SQLBuild.pdb')

    # Published files that are not shipped at all.
    Exclude          = @('SQLBuild.deps.json', '*.runtimeconfig.json')

    # Repository files copied into the module root (paths relative to the repository).
    RootFiles        = @(
        @{ Source = 'SQLBuild.psd1'; Required = $true }
        @{ Source = 'src/SQLBuild.PowerShell/Module/SQLBuild.Init.psm1'; Required = $true }
        @{ Source = 'src/SQLBuild.PowerShell/SQLBuild.Format.ps1xml'; Required = $true }
        @{ Source = 'src/SQLBuild.PowerShell/SQLBuild.Types.ps1xml'; Required = $false }
        @{ Source = 'LICENSE'; Required = $true }
        @{ Source = 'CHANGELOG.md'; Required = $true }
    )

    # The changelog whose section for the manifest's ModuleVersion becomes the built manifest's
    # PrivateData.PSData.ReleaseNotes (and so the package's release notes).
    ReleaseNotesFrom = 'CHANGELOG.md'

    # Repository folders copied as folders into the module root when they exist.
    RootFolders      = @('en-US')
}
