#Requires -Version 7.4
# The state-store lifecycle cmdlets (Update-SqbState, Get-SqbStateBackup, Restore-SqbState, Reset-SqbState)
# against the recovery page's "State corruption" table, one It per row, on DuckDB and PostgreSQL: the damage
# is done for real, the exact error is asserted, the page's recovery is run, and the store is proven whole
# again (migrate succeeds and a virtual build works).

BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'SQLBuild.TestHelpers.psm1') -Force
    $script:Engines = Get-SqbTestEngine
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'SQLBuild.TestHelpers.psm1') -Force
    Import-SqbTestModule

    function Get-TestCount([Parameter(Mandatory)] $Project, [Parameter(Mandatory)] [string] $Table, [string] $Schema) {
        if (-not $Schema) { $Schema = $Project.StateSchema }
        [long](Invoke-SqbTestSql $Project "SELECT COUNT(*) FROM `"$Schema`".`"$Table`"" -Scalar)
    }

    function Get-TestStateTables([Parameter(Mandatory)] $Project) {
        $sql = if ($Project.Engine -eq 'duckdb') {
            'SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = $1 ORDER BY table_name'
        } else {
            "SELECT c.relname::text FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = `$1 AND c.relkind = 'r' ORDER BY 1"
        }
        @(Invoke-SqbTestSql $Project $sql -Parameters @($Project.StateSchema) | ForEach-Object { [string]$_[0] })
    }

    function Initialize-TestStore($Project) {
        <# Init, a virtual build (every kind of state row), and a first good backup. #>
        $null = Initialize-SqbState -Path $Project.Path
        $build = Invoke-SqbBuild -Path $Project.Path
        $build.Failed | Should -Be 0
        Update-SqbState -Path $Project.Path
    }

    function Assert-StoreWhole($Project) {
        <# The store is whole: migrate succeeds (it validates every table, column, type and index) and a virtual build works. #>
        $backup = Update-SqbState -Path $Project.Path
        $backup.PSTypeNames | Should -Contain 'SQLBuild.SqbStateBackup'
        $backup.MissingTables | Should -BeNullOrEmpty
        $build = Invoke-SqbBuild -Path $Project.Path
        $build.Failed | Should -Be 0
        (Get-TestCount $Project 'virtual_environment_node_refs') | Should -BeGreaterThan 0
        Get-SqbEnvironment -Path $Project.Path | Where-Object Name -EQ 'dev' | ForEach-Object Status | Should -Be 'finalized'
    }

    function Assert-MigrateRefused($Project, [string] $ProblemLine) {
        $backups = @(Get-SqbStateBackup -Path $Project.Path).Count
        $events = Get-TestCount $Project 'state_migration_events'
        $err = { Update-SqbState -Path $Project.Path } | Should -Throw -PassThru
        $err.Exception.Message | Should -BeLike 'Cannot backup invalid state schema*'
        $err.Exception.Message.Split("`n").Trim() | Should -Contain $ProblemLine
        $err.FullyQualifiedErrorId | Should -BeLike 'E030.InvalidStateSchema*'
        $err.CategoryInfo.Category | Should -Be 'InvalidData'
        $err.TargetObject | Should -Be $Project.StateSchema
        $err.ErrorDetails.RecommendedAction | Should -BeLike '*Reset-SqbState -Force*Initialize-SqbState*'
        # Nothing written: no backup schema, no event.
        @(Get-SqbStateBackup -Path $Project.Path).Count | Should -Be $backups
        Get-TestCount $Project 'state_migration_events' | Should -Be $events
    }

    function Invoke-PageRecovery($Project) {
        <# The page: "sqb state reset --auto-approve then sqb state init". #>
        $reset = Reset-SqbState -Path $Project.Path -Force
        $reset.PSTypeNames | Should -Contain 'SQLBuild.SqbStateResetResult'
        $reset.Backups | Should -BeGreaterThan 0
        $null = Initialize-SqbState -Path $Project.Path
    }
}

Describe 'State corruption on <Engine> (recovery page, one row each)' -ForEach $Engines {
    BeforeEach {
        if ($Skip) { Set-ItResult -Skipped -Because $SkipReason; return }
        $script:P = New-SqbTestTemplateProject -Engine $Engine -AllowReset
        $script:First = Initialize-TestStore $P
    }
    AfterEach { Remove-SqbTestProject $script:P }

    It 'Missing state table: migrate fails with "Cannot backup invalid state schema"; reset then init recovers' {
        Invoke-SqbTestSql $P "DROP TABLE `"$($P.StateSchema)`".`"reconcile_events`"" -NonQuery
        Assert-MigrateRefused $P 'Missing state table: reconcile_events'
        Invoke-PageRecovery $P
        Assert-StoreWhole $P
    }

    It 'Missing state column: same error naming the column; reset then init recovers' {
        Invoke-SqbTestSql $P "ALTER TABLE `"$($P.StateSchema)`".`"state_versions`" DROP COLUMN `"sqlbuild_version`"" -NonQuery
        Assert-MigrateRefused $P 'Missing state column: state_versions.sqlbuild_version'
        Invoke-PageRecovery $P
        Assert-StoreWhole $P
    }

    It 'Wrong state column type: same error with expected and actual type; reset then init recovers' {
        Invoke-SqbTestSql $P "ALTER TABLE `"$($P.StateSchema)`".`"state_versions`" ALTER COLUMN `"schema_version`" TYPE TEXT" -NonQuery
        $actual = if ($Engine -eq 'duckdb') { 'VARCHAR' } else { 'text' }
        Assert-MigrateRefused $P "Wrong state column type: state_versions.schema_version expected integer, got $actual"
        Invoke-PageRecovery $P
        Assert-StoreWhole $P
    }

    It 'Deleted backup schema (explicit id): rollback blocks with the backup-id error; a different backup recovers' {
        Invoke-SqbTestSql $P "DELETE FROM `"$($P.StateSchema)`".`"virtual_environment_node_refs`"" -NonQuery
        $deleted = Update-SqbState -Path $P.Path
        # Delete the backup schema for real: its tables, then the schema.
        foreach ($t in $deleted.TableRows.Keys) { Invoke-SqbTestSql $P "DROP TABLE `"$($deleted.Schema)`".`"$t`"" -NonQuery }
        Invoke-SqbTestSql $P "DROP SCHEMA `"$($deleted.Schema)`"" -NonQuery

        $err = { Restore-SqbState -Path $P.Path -BackupId $deleted.BackupId -Force } | Should -Throw -PassThru
        $err.Exception.Message | Should -BeExactly "State backup schema '$($P.StateSchema)__backup_$($deleted.BackupId)' does not exist"
        $err.FullyQualifiedErrorId | Should -BeLike 'E032.StateBackupNotFound*'
        $err.CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $err.ErrorDetails.RecommendedAction | Should -BeLike '*different backup*Get-SqbStateBackup*'
        Get-TestCount $P 'virtual_environment_node_refs' | Should -Be 0

        # Recovery: a different backup, chosen from the list and piped in (BackupId binds by property name).
        $backups = @(Get-SqbStateBackup -Path $P.Path)
        $backups.BackupId | Should -Be @($First.BackupId)
        $result = $backups | Select-Object -First 1 | Restore-SqbState -Path $P.Path -Force
        $result.PSTypeNames | Should -Contain 'SQLBuild.SqbStateRestoreResult'
        $result.BackupId | Should -Be $First.BackupId
        Get-TestCount $P 'virtual_environment_node_refs' | Should -BeGreaterThan 0
        Assert-StoreWhole $P
    }

    It 'All backups deleted: rollback fails with "No state backup is available for rollback"; reset then init recovers' {
        $null = Update-SqbState -Path $P.Path
        foreach ($b in @(Get-SqbStateBackup -Path $P.Path)) {
            foreach ($t in $b.TableRows.Keys) { Invoke-SqbTestSql $P "DROP TABLE `"$($b.Schema)`".`"$t`"" -NonQuery }
            Invoke-SqbTestSql $P "DROP SCHEMA `"$($b.Schema)`"" -NonQuery
        }
        @(Get-SqbStateBackup -Path $P.Path).Count | Should -Be 0

        $err = { Restore-SqbState -Path $P.Path -Force } | Should -Throw -PassThru
        $err.Exception.Message | Should -BeExactly 'No state backup is available for rollback'
        $err.FullyQualifiedErrorId | Should -BeLike 'E031.NoStateBackup*'
        $err.CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $err.ErrorDetails.RecommendedAction | Should -BeLike '*Reset-SqbState -Force*Initialize-SqbState*'

        $reset = Reset-SqbState -Path $P.Path -Force
        $reset.Backups | Should -Be 0
        $reset.DroppedTables.Count | Should -Be 15
        $null = Initialize-SqbState -Path $P.Path
        Assert-StoreWhole $P
    }
}

Describe 'State lifecycle cmdlets on <Engine>' -ForEach $Engines {
    BeforeEach {
        if ($Skip) { Set-ItResult -Skipped -Because $SkipReason; return }
        $script:P = New-SqbTestTemplateProject -Engine $Engine -AllowReset
        $script:First = Initialize-TestStore $P
    }
    AfterEach { Remove-SqbTestProject $script:P }

    It 'Update-SqbState emits the new backup; Get-SqbStateBackup lists backups newest first with exact counts' {
        $First.BackupId | Should -Match '^\d{8}T\d{12}Z$'
        $First.Schema | Should -Be "$($P.StateSchema)__backup_$($First.BackupId)"
        $First.Tables | Should -Be 15
        $First.CreatedAt.Kind | Should -Be 'Utc'
        $second = Update-SqbState -Path $P.Path
        $list = @(Get-SqbStateBackup -Path $P.Path)
        $list.BackupId | Should -Be @($second.BackupId, $First.BackupId)
        foreach ($b in $list) {
            $b.PSTypeNames | Should -Contain 'SQLBuild.SqbStateBackup'
            foreach ($t in $b.TableRows.Keys) { $b.TableRows[$t] | Should -Be (Get-TestCount $P $t $b.Schema) }
            $b.Rows | Should -Be ($b.TableRows.Values | Measure-Object -Sum).Sum
        }
        @(Get-SqbStateBackup -Path $P.Path -BackupId $First.BackupId).BackupId | Should -Be $First.BackupId
    }

    It 'Restore-SqbState without -BackupId restores the latest backup and keeps it' {
        $refs = Get-TestCount $P 'virtual_environment_node_refs'
        Invoke-SqbTestSql $P "DELETE FROM `"$($P.StateSchema)`".`"virtual_environment_node_refs`"" -NonQuery
        $result = Restore-SqbState -Path $P.Path -Force
        $result.BackupId | Should -Be $First.BackupId
        Get-TestCount $P 'virtual_environment_node_refs' | Should -Be $refs
        @(Get-SqbStateBackup -Path $P.Path).BackupId | Should -Be @($First.BackupId)
        Get-SqbOperation -Path $P.Path -Type state_rollback | ForEach-Object Status | Should -Be 'succeeded'
    }

    It 'a restore killed just before its commit changes nothing, is reported interrupted, and a retry works' {
        $refs = Get-TestCount $P 'virtual_environment_node_refs'
        Invoke-SqbTestSql $P "DELETE FROM `"$($P.StateSchema)`".`"virtual_environment_node_refs`"" -NonQuery
        $child = Invoke-SqbChildScript -ImportModule -Environment @{ SQB_TEST_KILL_AT = 'restore:replace:before-commit' } `
            -Script "`$ErrorActionPreference = 'Stop'; Restore-SqbState -Path '$($P.Path)' -Force"
        $child.ExitCode | Should -Not -Be 0
        # One transaction: the kill left the live tables exactly as they were.
        Get-TestCount $P 'virtual_environment_node_refs' | Should -Be 0
        @(Get-TestStateTables $P).Count | Should -Be 15
        $op = Get-SqbOperation -Path $P.Path -Type state_rollback
        $op.Status | Should -Be 'failed'
        $op.Reason | Should -Be 'interrupted'
        # The dead holder's state_migration lock does not block the retry.
        (Restore-SqbState -Path $P.Path -Force).BackupId | Should -Be $First.BackupId
        Get-TestCount $P 'virtual_environment_node_refs' | Should -Be $refs
    }

    It 'a migrate killed just before the backup commits leaves no backup, and a retry works' {
        $child = Invoke-SqbChildScript -ImportModule -Environment @{ SQB_TEST_KILL_AT = 'migrate:backup:before-commit' } `
            -Script "`$ErrorActionPreference = 'Stop'; Update-SqbState -Path '$($P.Path)'"
        $child.ExitCode | Should -Not -Be 0
        @(Get-SqbStateBackup -Path $P.Path).BackupId | Should -Be @($First.BackupId)
        (Get-SqbOperation -Path $P.Path -Type state_migrate | Where-Object Status -EQ 'failed').Reason | Should -Be 'interrupted'
        $retry = Update-SqbState -Path $P.Path
        @(Get-SqbStateBackup -Path $P.Path).BackupId | Should -Be @($retry.BackupId, $First.BackupId)
    }

    It 'Update-SqbState -WhatIf writes nothing' {
        $events = Get-TestCount $P 'state_migration_events'
        Update-SqbState -Path $P.Path -WhatIf | Should -BeNullOrEmpty
        @(Get-SqbStateBackup -Path $P.Path).Count | Should -Be 1
        Get-TestCount $P 'state_migration_events' | Should -Be $events
    }

    It 'Restore-SqbState -WhatIf changes nothing, even with -Force' {
        Invoke-SqbTestSql $P "DELETE FROM `"$($P.StateSchema)`".`"virtual_environment_node_refs`"" -NonQuery
        $events = Get-TestCount $P 'state_migration_events'
        Restore-SqbState -Path $P.Path -WhatIf | Should -BeNullOrEmpty
        Restore-SqbState -Path $P.Path -BackupId $First.BackupId -Force -WhatIf | Should -BeNullOrEmpty
        Get-TestCount $P 'virtual_environment_node_refs' | Should -Be 0
        Get-TestCount $P 'state_migration_events' | Should -Be $events
    }

    It 'Reset-SqbState -WhatIf drops nothing, even with -Force' {
        $tables = Get-TestStateTables $P
        $tables.Count | Should -Be 15
        Reset-SqbState -Path $P.Path -WhatIf | Should -BeNullOrEmpty
        Reset-SqbState -Path $P.Path -Force -WhatIf | Should -BeNullOrEmpty
        Get-TestStateTables $P | Should -Be $tables
    }

    It 'Reset-SqbState drops every state table and keeps the backups' {
        $reset = Reset-SqbState -Path $P.Path -Force
        $reset.DroppedTables.Count | Should -Be 15
        $reset.Backups | Should -Be 1
        Get-TestStateTables $P | Should -Be @('state_migration_events')
        @(Invoke-SqbTestSql $P "SELECT `"action`" FROM `"$($P.StateSchema)`".`"state_migration_events`"" | ForEach-Object { $_[0] }) | Should -Be @('reset')
        @(Get-SqbStateBackup -Path $P.Path).BackupId | Should -Be @($First.BackupId)
        $err = { Invoke-SqbBuild -Path $P.Path } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -BeLike 'E002.StateNotInitialized*'
    }

    It 'Migrate, restore and reset refuse while a virtual environment is locked' {
        $lease = Enter-SqbTestLock -Project $P -Owner 'build:pester-holder'
        try {
            foreach ($command in { Update-SqbState -Path $P.Path }, { Restore-SqbState -Path $P.Path -Force }, { Reset-SqbState -Path $P.Path -Force }) {
                $err = $command | Should -Throw -PassThru
                $err.Exception.Message | Should -BeLike "virtual environment 'dev' is locked by build:pester-holder*"
                $err.FullyQualifiedErrorId | Should -BeLike 'S014.EnvironmentLocked*'
                $err.CategoryInfo.Category | Should -Be 'ResourceBusy'
                $err.TargetObject | Should -Be 'virtual_env:dev'
            }
            @(Get-SqbStateBackup -Path $P.Path).Count | Should -Be 1
            (Get-TestStateTables $P).Count | Should -Be 15
            @(Get-SqbLock -Path $P.Path).Key | Should -Be @('virtual_env:dev')
        }
        finally { $lease.Dispose() }
        $null = Update-SqbState -Path $P.Path
    }
}

Describe 'Reset-SqbState without allow_reset on <Engine>' -ForEach $Engines {
    BeforeEach {
        if ($Skip) { Set-ItResult -Skipped -Because $SkipReason; return }
        $script:P = New-SqbTestTemplateProject -Engine $Engine
        $null = Initialize-SqbState -Path $P.Path
    }
    AfterEach { Remove-SqbTestProject $script:P }

    It 'refuses with upstream''s message (adapted to -Force) and drops nothing' {
        $err = { Reset-SqbState -Path $P.Path -Force } | Should -Throw -PassThru
        $err.Exception.Message | Should -BeExactly ('state reset is disabled for this target. To allow it, set `allow_reset = true` under ' +
            '`[targets.<name>.state]` in sqlbuild_project.toml or sqlbuild_local.toml, then rerun with -Force.')
        $err.FullyQualifiedErrorId | Should -BeLike 'E033.StateResetDisabled*'
        $err.CategoryInfo.Category | Should -Be 'InvalidOperation'
        $err.ErrorDetails.RecommendedAction | Should -BeLike '*`[targets.dev.state`]*'
        (Get-TestStateTables $P).Count | Should -Be 15
        # -WhatIf is refused the same way: the setting is checked before anything else.
        { Reset-SqbState -Path $P.Path -WhatIf } | Should -Throw -ExpectedMessage 'state reset is disabled for this target.*'
    }

    It 'lets Restore-SqbState and Update-SqbState run (only reset is gated)' {
        $backup = Update-SqbState -Path $P.Path
        (Restore-SqbState -Path $P.Path -BackupId $backup.BackupId -Confirm:$false).BackupId | Should -Be $backup.BackupId
    }
}

Describe 'Lifecycle cmdlets in direct mode' {
    It 'are blocked by the mode guard before touching anything' {
        $dir = Join-Path (Get-PSDrive -Name TestDrive).Root ('direct_' + [Guid]::NewGuid().ToString('N').Substring(0, 8))
        $null = New-SqbProject -Path $dir -Template direct -Adapter duckdb
        foreach ($command in { Update-SqbState -Path $dir }, { Get-SqbStateBackup -Path $dir }, { Restore-SqbState -Path $dir -Force },
            { Reset-SqbState -Path $dir -Force }) {
            $err = $command | Should -Throw -PassThru
            $err.FullyQualifiedErrorId | Should -BeLike 'E001.StateRequiresVirtualMode*'
            $err.CategoryInfo.Category | Should -Be 'InvalidOperation'
        }
        Test-Path -LiteralPath (Join-Path $dir 'shop.duckdb') | Should -BeFalse
    }
}
