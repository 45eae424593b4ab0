#
# Module manifest for SQLBuild (source of truth; build.ps1 copies it into out/SQLBuild/).
#
@{
    RootModule           = 'SQLBuild.dll'
    ModuleVersion        = '0.1.0'
    GUID                 = 'e2222656-8118-4bd5-83b0-bac86082d464'
    Author               = 'SQLBuild contributors'
    CompanyName          = 'SQLBuild'
    Copyright            = '(c) SQLBuild contributors. All rights reserved.'
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
        'ConvertTo-SqbVirtualEnvironment'
        'ConvertFrom-SqbVirtualEnvironment'
        'Invoke-SqbJanitor'
        'Get-SqbReconcile'
        'Repair-SqbView'
        'Set-SqbModelRef'
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
            LicenseUri   = 'https://example.invalid/sqlbuild/LICENSE'
            ProjectUri   = 'https://example.invalid/sqlbuild'
            ReleaseNotes = 'First preview.'
        }
    }
}
