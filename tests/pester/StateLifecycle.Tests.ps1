#Requires -Version 7.4
# The state-store lifecycle cmdlets (Update-SqbState, Get-SqbStateBackup, Restore-SqbState, Reset-SqbState)
# against the recovery page's "State corruption" table, one It per row, on DuckDB and PostgreSQL: the damage
# is done for real, the exact error is asserted, the page's recovery is run, and the store is proven whole
# again (migrate succeeds and a virtual build works).

BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:Pg = Get-SqbTestPostgres
    $script:Engines = @(
        @{ Engine = 'duckdb'; Skip = $false; SkipReason = $null }
        @{ Engine = 'postgres'; Skip = (-not $Pg.Available); SkipReason = $Pg.SkipReason }
    )
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-SqbTestModule

    function New-LifecycleProject {
        <# The virtual template, with its state in the warehouse; on PostgreSQL a unique target AND state schema. #>
        param([Parameter(Mandatory)] [string] $Engine, [switch] $AllowReset)
        $suffix = [Guid]::NewGuid().ToString('N').Substring(0, 10)
        $dir = Join-Path (Get-PSDrive -Name TestDrive).Root "lc_$suffix"
        $null = New-SqbProject -Path $dir -Template virtual -Adapter $Engine
        $schema = if ($Engine -eq 'duckdb') { 'dev' } else { "t_$suffix" }
        $state = if ($Engine -eq 'duckdb') { 'sqlbuild_state' } else { "st_$suffix" }
        $connection = if ($Engine -eq 'duckdb') { 'database = "shop.duckdb"' } else {
            @"
host = "`${ENV:SQB_TEST_PG_HOST}"
port = $($env:SQB_TEST_PG_PORT)
user = "`${ENV:SQB_TEST_PG_USER}"
password = "`${ENV:SQB_TEST_PG_PASSWORD}"
dbname = "`${ENV:SQB_TEST_PG_DATABASE}"
"@
        }
        $toml = @"
name = "shop"
adapter = "$Engine"
default_target = "dev"

[settings]
virtual_environments = true
concurrency = 1

[connections.local]
$connection

[targets.dev]
connection = "local"
schema = "$schema"

[targets.dev.state]
backend = "$Engine"
schema = "$state"
allow_reset = $(if ($AllowReset) { 'true' } else { 'false' })
unsuffixed_virtual_env = "dev"
"@
        [IO.File]::WriteAllText((Join-Path $dir 'sqlbuild_project.toml'), $toml, [Text.UTF8Encoding]::new($false))
        [pscustomobject]@{ Path = $dir; Engine = $Engine; Schema = $schema; State = $state; Suffix = $suffix }
    }

    function Invoke-TestSql {
        <# Raw SQL on the project's warehouse, through the module's own adapter: only to damage the store and read it back. #>
        param([Parameter(Mandatory)] $Project, [Parameter(Mandatory)] [string] $Sql, [object[]] $Parameters)
        $compiled = (Get-SqbType 'SQLBuild.Core.Project.ProjectCompiler')::Compile($Project.Path, [NullString]::Value, $null)
        $log = (Get-SqbType 'SQLBuild.Core.Logging.NullLog')::Instance
        $warehouse = (Get-SqbType 'SQLBuild.Core.Adapters.WarehouseFactory')::Create($compiled.Config.ActiveTarget.Connection, $log)
        $session = $warehouse.OpenSession()
        try {
            $statement = (Get-SqbType 'SQLBuild.Core.Adapters.SqlStatement')::new('TEST', 'lifecycle', $Sql, $Parameters)
            # One row = one pipeline object (a row is an object[]: the comma keeps it from being unrolled).
            if ($Sql -match '^\s*SELECT') { foreach ($row in $session.Query($statement)) { , $row } } else { $null = $session.Execute($statement) }
        }
        finally { $session.Dispose() }
    }

    function Get-TestCount([Parameter(Mandatory)] $Project, [Parameter(Mandatory)] [string] $Table, [string] $Schema) {
        if (-not $Schema) { $Schema = $Project.State }
        [long]@(Invoke-TestSql $Project "SELECT COUNT(*) FROM `"$Schema`".`"$Table`"")[0][0]
    }

    function Get-TestStateTables([Parameter(Mandatory)] $Project) {
        $sql = if ($Project.Engine -eq 'duckdb') {
            'SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = $1 ORDER BY table_name'
        } else {
            "SELECT c.relname::text FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = `$1 AND c.relkind = 'r' ORDER BY 1"
        }
        @(Invoke-TestSql $Project $sql @($Project.State) | ForEach-Object { [string]$_[0] })
    }

    function Remove-TestProject($Project) {
        if (-not $Project -or $Project.Engine -ne 'postgres') { return }
        try {
            $relations = "SELECT n.nspname::text, c.relname::text, c.relkind::text FROM pg_catalog.pg_class c " +
                "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE strpos(n.nspname, `$1) > 0 AND c.relkind IN ('v', 'r')"
            for ($round = 0; $round -lt 5; $round++) {
                $views = @(Invoke-TestSql $Project $relations @($Project.Suffix) | Where-Object { $_[2] -eq 'v' })
                if ($views.Count -eq 0) { break }
                foreach ($v in $views) { try { Invoke-TestSql $Project "DROP VIEW IF EXISTS `"$($v[0])`".`"$($v[1])`"" } catch { } }
            }
            foreach ($t in @(Invoke-TestSql $Project $relations @($Project.Suffix))) {
                Invoke-TestSql $Project "DROP TABLE IF EXISTS `"$($t[0])`".`"$($t[1])`""
            }
            foreach ($s in @(Invoke-TestSql $Project 'SELECT nspname::text FROM pg_catalog.pg_namespace WHERE strpos(nspname, $1) > 0' @($Project.Suffix))) {
                Invoke-TestSql $Project "DROP SCHEMA IF EXISTS `"$($s[0])`""
            }
        }
        catch { Write-Warning "cleanup of $($Project.Suffix): $_" }
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
        $err.TargetObject | Should -Be $Project.State
        $err.ErrorDetails.RecommendedAction | Should -BeLike '*Reset-SqbState -Force*Initialize-SqbState*'
        # Nothing written: no backup schema, no event.
        @(Get-SqbStateBackup -Path $Project.Path).Count | Should -Be $backups
        Get-TestCount $Project 'state_migration_events' | Should -Be $events
    }

    function Invoke-KilledChild([Parameter(Mandatory)] [string] $KillAt, [Parameter(Mandatory)] [string] $Command) {
        <# Runs a command in a fresh pwsh that kills itself hard at the named step (SQB_TEST_KILL_AT); returns its exit code. #>
        $process = [Environment]::ProcessPath
        $prefix = @()
        if ([IO.Path]::GetFileNameWithoutExtension($process) -ne 'pwsh') {
            $dll = Join-Path $PSHOME 'pwsh.dll'
            if (Test-Path -LiteralPath $dll) { $prefix = @($dll) } else { $process = Join-Path $PSHOME ($IsWindows ? 'pwsh.exe' : 'pwsh') }
        }
        $script = "`$ErrorActionPreference = 'Stop'; Import-Module '$(Get-SqbModuleManifestPath)'; $Command"
        $encoded = [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes($script))
        $env:SQB_TEST_KILL_AT = $KillAt
        try { $null = & $process @prefix -NoProfile -NonInteractive -EncodedCommand $encoded 2>&1 }
        finally { Remove-Item Env:SQB_TEST_KILL_AT }
        $LASTEXITCODE
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
        $script:P = New-LifecycleProject -Engine $Engine -AllowReset
        $script:First = Initialize-TestStore $P
    }
    AfterEach { Remove-TestProject $script:P }

    It 'Missing state table: migrate fails with "Cannot backup invalid state schema"; reset then init recovers' {
        Invoke-TestSql $P "DROP TABLE `"$($P.State)`".`"reconcile_events`""
        Assert-MigrateRefused $P 'Missing state table: reconcile_events'
        Invoke-PageRecovery $P
        Assert-StoreWhole $P
    }

    It 'Missing state column: same error naming the column; reset then init recovers' {
        Invoke-TestSql $P "ALTER TABLE `"$($P.State)`".`"state_versions`" DROP COLUMN `"sqlbuild_version`""
        Assert-MigrateRefused $P 'Missing state column: state_versions.sqlbuild_version'
        Invoke-PageRecovery $P
        Assert-StoreWhole $P
    }

    It 'Wrong state column type: same error with expected and actual type; reset then init recovers' {
        Invoke-TestSql $P "ALTER TABLE `"$($P.State)`".`"state_versions`" ALTER COLUMN `"schema_version`" TYPE TEXT"
        $actual = if ($Engine -eq 'duckdb') { 'VARCHAR' } else { 'text' }
        Assert-MigrateRefused $P "Wrong state column type: state_versions.schema_version expected integer, got $actual"
        Invoke-PageRecovery $P
        Assert-StoreWhole $P
    }

    It 'Deleted backup schema (explicit id): rollback blocks with the backup-id error; a different backup recovers' {
        Invoke-TestSql $P "DELETE FROM `"$($P.State)`".`"virtual_environment_node_refs`""
        $deleted = Update-SqbState -Path $P.Path
        # Delete the backup schema for real: its tables, then the schema.
        foreach ($t in $deleted.TableRows.Keys) { Invoke-TestSql $P "DROP TABLE `"$($deleted.Schema)`".`"$t`"" }
        Invoke-TestSql $P "DROP SCHEMA `"$($deleted.Schema)`""

        $err = { Restore-SqbState -Path $P.Path -BackupId $deleted.BackupId -Force } | Should -Throw -PassThru
        $err.Exception.Message | Should -BeExactly "State backup schema '$($P.State)__backup_$($deleted.BackupId)' does not exist"
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
            foreach ($t in $b.TableRows.Keys) { Invoke-TestSql $P "DROP TABLE `"$($b.Schema)`".`"$t`"" }
            Invoke-TestSql $P "DROP SCHEMA `"$($b.Schema)`""
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
        $script:P = New-LifecycleProject -Engine $Engine -AllowReset
        $script:First = Initialize-TestStore $P
    }
    AfterEach { Remove-TestProject $script:P }

    It 'Update-SqbState emits the new backup; Get-SqbStateBackup lists backups newest first with exact counts' {
        $First.BackupId | Should -Match '^\d{8}T\d{12}Z$'
        $First.Schema | Should -Be "$($P.State)__backup_$($First.BackupId)"
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
        Invoke-TestSql $P "DELETE FROM `"$($P.State)`".`"virtual_environment_node_refs`""
        $result = Restore-SqbState -Path $P.Path -Force
        $result.BackupId | Should -Be $First.BackupId
        Get-TestCount $P 'virtual_environment_node_refs' | Should -Be $refs
        @(Get-SqbStateBackup -Path $P.Path).BackupId | Should -Be @($First.BackupId)
        Get-SqbOperation -Path $P.Path -Type state_rollback | ForEach-Object Status | Should -Be 'succeeded'
    }

    It 'a restore killed just before its commit changes nothing, is reported interrupted, and a retry works' {
        $refs = Get-TestCount $P 'virtual_environment_node_refs'
        Invoke-TestSql $P "DELETE FROM `"$($P.State)`".`"virtual_environment_node_refs`""
        $code = Invoke-KilledChild 'rollback:before-commit' "Restore-SqbState -Path '$($P.Path)' -Force"
        $code | Should -Not -Be 0
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
        $code = Invoke-KilledChild 'backup:before-commit' "Update-SqbState -Path '$($P.Path)'"
        $code | Should -Not -Be 0
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
        Invoke-TestSql $P "DELETE FROM `"$($P.State)`".`"virtual_environment_node_refs`""
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
        @(Invoke-TestSql $P "SELECT `"action`" FROM `"$($P.State)`".`"state_migration_events`"" | ForEach-Object { $_[0] }) | Should -Be @('reset')
        @(Get-SqbStateBackup -Path $P.Path).BackupId | Should -Be @($First.BackupId)
        $err = { Invoke-SqbBuild -Path $P.Path } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -BeLike 'E002.StateNotInitialized*'
    }

    It 'Migrate, restore and reset refuse while a virtual environment is locked' {
        $compiled = (Get-SqbType 'SQLBuild.Core.Project.ProjectCompiler')::Compile($P.Path, [NullString]::Value, $null)
        $log = (Get-SqbType 'SQLBuild.Core.Logging.NullLog')::Instance
        $store = (Get-SqbType 'SQLBuild.Core.State.StateStore')::Open($compiled, $log, 'State commands')
        $lease = (Get-SqbType 'SQLBuild.Core.State.LockManager')::new($store, $log).Acquire('virtual_env:dev', 'build:pester-holder', 'S014')
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
        $script:P = New-LifecycleProject -Engine $Engine
        $null = Initialize-SqbState -Path $P.Path
    }
    AfterEach { Remove-TestProject $script:P }

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
