#
# Module manifest for SQLBuild (source of truth; build.ps1 copies it into out/SQLBuild/).
#
@{
    RootModule           = 'SQLBuild.dll'
    ModuleVersion        = '0.1.0'
    GUID                 = 'e2222656-8118-4bd5-83b0-bac86082d464'
    Author               = 'SQLBuild contributors'
    CompanyName          = 'SQLBuild'
    Copyright            = '(c) 2026 SQLBuild for PowerShell contributors. MIT License.'
    Description          = 'Builds SQL models into DuckDB, PostgreSQL and SQL Server, with virtual data environments, a state store, promote, rollback and reconcile.'
    CompatiblePSEditions = @('Core')
    PowerShellVersion    = '7.4'

    # Explicit lists: a command is exported only when it is named here.
    CmdletsToExport      = @(
        'New-SqbProject'
        'Get-SqbModel'
        'Get-SqbPlan'
        'Invoke-SqbBuild'
        'Get-SqbEnvironment'
        'Publish-SqbEnvironment'
        'Restore-SqbCheckpoint'
        'Compare-SqbEnvironment'
        'Get-SqbCheckpoint'
        'Compare-SqbCheckpoint'
        'Initialize-SqbState'
        'Get-SqbLock'
        'Clear-SqbLock'
        'Get-SqbOperation'
        'Update-SqbState'
        'Get-SqbStateBackup'
        'Restore-SqbState'
        'Reset-SqbState'
        'Get-SqbReconcile'
        'Repair-SqbView'
        'Set-SqbModelRef'
        'ConvertTo-SqbVirtualEnvironment'
        'ConvertFrom-SqbVirtualEnvironment'
        'Invoke-SqbJanitor'
    )
    FunctionsToExport    = @()
    AliasesToExport      = @()
    VariablesToExport    = @()

    NestedModules        = @('SQLBuild.Init.psm1')
    FormatsToProcess     = @('SQLBuild.Format.ps1xml')
    TypesToProcess       = @('SQLBuild.Types.ps1xml')

    PrivateData          = @{
        PSData = @{
            Tags         = @('SQL', 'DuckDB', 'PostgreSQL', 'SQLServer', 'DataEngineering', 'ELT', 'PSEdition_Core', 'Windows', 'Linux', 'MacOS')
            # MIT: the LICENSE file beside this manifest (and in the package) holds the full text.
            LicenseUri   = 'https://opensource.org/license/mit'
            # build.ps1 -Task Build replaces this with the CHANGELOG.md section of ModuleVersion.
            ReleaseNotes = 'See CHANGELOG.md.'
        }
    }
}
