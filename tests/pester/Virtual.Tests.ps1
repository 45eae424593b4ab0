#Requires -Version 7.4
# The virtual-mode cmdlets as users see them, on DuckDB and on PostgreSQL: typed pipeline output,
# pipelines between the cmdlets, ErrorRecords (id, category, target, recommended action), and
# -WhatIf changing nothing (state tables and catalog compared before and after).
# Every It gets its own project: a fresh DuckDB file, or unique target and state schemas on PostgreSQL.

BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'SQLBuild.TestHelpers.psm1') -Force
    $script:Engines = Get-SqbTestEngine
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'SQLBuild.TestHelpers.psm1') -Force
    Import-SqbTestModule
    $ProgressPreference = 'SilentlyContinue'
}

Describe 'Virtual mode on <Engine>' -ForEach $Engines {
    AfterEach {
        if ($script:p) {
            Pop-Location -ErrorAction SilentlyContinue
            Remove-SqbTestProject -Project $script:p
            $script:p = $null
        }
    }

    Context 'Initialize-SqbState' {
        BeforeEach {
            $script:p = New-SqbTestTemplateProject -Engine $Engine
            Push-Location -LiteralPath $p.Path
        }

        It 'creates the state store, emits SQLBuild.SqbStateInfo, and is idempotent' -Skip:$Skip {
            $info = Initialize-SqbState
            $info.PSObject.TypeNames[0] | Should -Be 'SQLBuild.SqbStateInfo'
            $info.Schema | Should -Be $p.StateSchema
            $info.Target | Should -Be 'dev'
            $info.SharesWarehouse | Should -BeTrue
            $info.Tables | Should -Be 15
            $info.Connection | Should -Not -Match 'sqb_test_pw|password'
            $before = Get-SqbTestSnapshot -Project $p -ExcludeJournal
            $before | Should -Match "table virtual_environments: 0 row"

            $again = Initialize-SqbState
            $again.PSObject.TypeNames[0] | Should -Be 'SQLBuild.SqbStateInfo'
            # Additive: nothing is lost; a second init event is the only new row.
            $after = Get-SqbTestSnapshot -Project $p -ExcludeJournal
            ($after -split "`n" | Where-Object { $_ -notmatch '^\s' -and $_ -notmatch 'state_migration_events|state_versions' }) |
                Should -Be ($before -split "`n" | Where-Object { $_ -notmatch '^\s' -and $_ -notmatch 'state_migration_events|state_versions' })
            $after | Should -Match 'table state_migration_events: 2 row'
        }

        It '-WhatIf creates nothing, and the cmdlets then say the store is not initialized' -Skip:$Skip {
            $before = Get-SqbTestSnapshot -Project $p
            $out = Initialize-SqbState -WhatIf
            $out | Should -BeNullOrEmpty
            Get-SqbTestSnapshot -Project $p | Should -Be $before
            $before | Should -Not -Match 'st_'

            $e = { Get-SqbEnvironment -ErrorAction Stop } | Should -Throw -PassThru
            Assert-SqbTestError $e -ErrorId 'E002.StateNotInitialized' -Category ObjectNotFound -Target $p.StateSchema -ActionLike '*Initialize-SqbState*'
        }
    }

    Context 'Invoke-SqbBuild and Get-SqbPlan' {
        BeforeEach {
            $script:p = New-SqbTestTemplateProject -Engine $Engine -Initialize
            Push-Location -LiteralPath $p.Path
        }

        It 'emits a typed SQLBuild.SqbBuildResult, finalizes dev with a checkpoint, and readers query the logical views' -Skip:$Skip {
            $r = Invoke-SqbBuild
            $r.PSObject.TypeNames[0] | Should -Be 'SQLBuild.SqbBuildResult'
            $r.Mode | Should -Be 'virtual'
            $r.Environment | Should -Be 'dev'
            $r.Status | Should -Be 'succeeded'
            $r.EnvironmentStatus | Should -Be 'finalized'
            $r.CheckpointId | Should -Match '^chk_\d{20}_[0-9a-f]{32}$'
            $r.OperationId | Should -Match '^build:[0-9a-f]{32}$'
            $r.Failed | Should -Be 0
            $r.Nodes.Count | Should -Be 10
            foreach ($n in $r.Nodes) { $n.PSObject.TypeNames[0] | Should -Be 'SQLBuild.SqbNodeResult' }
            ($r.Nodes | Where-Object Name -EQ 'fct_orders').Relation | Should -BeLike "$($p.Schema)__sqb_physical.fct_orders__v_*"
            @($r.Nodes | Where-Object NodeType -NE 'test' | Where-Object Action -NE 'build') | Should -BeNullOrEmpty

            Get-SqbTestReaderValue -Project $p | Should -Be 'Ada'
            Invoke-SqbTestSql -Project $p -Scalar -Sql "SELECT COUNT(*) FROM `"$($p.Schema)`".`"dim_customers`"" | Should -Be 8
            $cp = @(Get-SqbCheckpoint)
            $cp.Count | Should -Be 1
            $cp[0].Id | Should -Be $r.CheckpointId
        }

        It 'a second build refreshes the tables and incrementals in their versions: no new version, no checkpoint' -Skip:$Skip {
            $null = Invoke-SqbBuild
            $physical = (Get-SqbTestSnapshot -Project $p) -split "`n" | Where-Object { $_ -like "relation $($p.Schema)__sqb_physical.*" }
            $r = Invoke-SqbBuild
            $r.Status | Should -Be 'succeeded'
            @($r.Nodes | Where-Object Action -EQ 'refresh' | ForEach-Object Name | Sort-Object) | Should -Be @('dim_customers', 'fct_orders', 'payments_log')
            @($r.Nodes | Where-Object { $_.NodeType -ne 'test' -and $_.Action -ne 'refresh' }).Action | Sort-Object -Unique | Should -Be 'unchanged'
            $r.CheckpointId | Should -BeNullOrEmpty
            @(Get-SqbCheckpoint).Count | Should -Be 1
            ((Get-SqbTestSnapshot -Project $p) -split "`n" | Where-Object { $_ -like "relation $($p.Schema)__sqb_physical.*" }) | Should -Be $physical
        }

        It '-WhatIf changes nothing (state tables and catalog), even with a stale model' -Skip:$Skip {
            $null = Invoke-SqbBuild
            Edit-SqbTestStgCustomers -Project $p
            $before = Get-SqbTestSnapshot -Project $p
            $out = Invoke-SqbBuild -WhatIf
            $out | Should -BeNullOrEmpty
            $out = Invoke-SqbBuild -Environment pr_1 -WhatIf
            $out | Should -BeNullOrEmpty
            Get-SqbTestSnapshot -Project $p | Should -Be $before
            Get-SqbTestReaderValue -Project $p | Should -Be 'Ada'
        }

        It 'Get-SqbPlan shows the stale models with reasons and the query diff, and writes nothing' -Skip:$Skip {
            $null = Invoke-SqbBuild
            Edit-SqbTestStgCustomers -Project $p
            $before = Get-SqbTestSnapshot -Project $p
            $plan = @(Get-SqbPlan)
            Get-SqbTestSnapshot -Project $p | Should -Be $before
            $plan.Count | Should -Be 9
            foreach ($s in $plan) { $s.PSObject.TypeNames[0] | Should -Be 'SQLBuild.SqbPlanStep' }
            $stg = $plan | Where-Object Name -EQ 'stg_customers'
            $stg.Action | Should -Be 'build'
            $stg.Reason | Should -Be 'query changed'
            $stg.EnvironmentStatus | Should -Be 'finalized'
            $stg.BoundVersion | Should -Not -Be $stg.ExpectedVersion
            $stg.QueryDiff | Should -Match '(?m)^-\s*first_name,'
            $stg.QueryDiff | Should -Match '(?m)^\+\s*UPPER\(first_name\) AS first_name,'
            ($plan | Where-Object Name -EQ 'dim_customers').Reason | Should -Be 'upstream changed'
            ($plan | Where-Object Name -EQ 'fct_orders').Action | Should -Be 'refresh'
            ($plan | Where-Object Name -EQ 'fct_orders').Reason | Should -Be 'default build: tables and incrementals are refreshed'
            ($plan | Where-Object Name -EQ 'stg_orders').Action | Should -Be 'unchanged'
            ($plan | Where-Object Name -EQ 'stg_orders').Reason | Should -BeNullOrEmpty
        }

        It 'a new environment starts from the refs of dev: a pointer copy, nothing built' -Skip:$Skip {
            $null = Invoke-SqbBuild
            $physical = (Get-SqbTestSnapshot -Project $p) -split "`n" | Where-Object { $_ -like "relation $($p.Schema)__sqb_physical.*" }
            $r = Invoke-SqbBuild -VirtualEnv pr_1
            $r.Environment | Should -Be 'pr_1'
            $r.EnvironmentStatus | Should -Be 'finalized'
            # The tables are refreshed in the versions dev binds too; nothing gets a version of its own.
            @($r.Nodes | Where-Object NodeType -NE 'test').Action | Sort-Object -Unique | Should -Be @('refresh', 'unchanged')
            ((Get-SqbTestSnapshot -Project $p) -split "`n" | Where-Object { $_ -like "relation $($p.Schema)__sqb_physical.*" }) | Should -Be $physical

            $env = Get-SqbEnvironment pr_1
            $env.PSObject.TypeNames[0] | Should -Be 'SQLBuild.SqbEnvironment'
            $env.Name | Should -Be 'pr_1'
            $env.Status | Should -Be 'finalized'
            $env.Baseline | Should -Be 'dev'
            $env.ModelCount | Should -Be 6
            $env.LogicalSchema | Should -Be "$($p.Schema)__pr_1"
            Get-SqbTestReaderValue -Project $p -Environment pr_1 | Should -Be 'Ada'
        }

        It '-ChangesOnly builds only the stale models and their descendants' -Skip:$Skip {
            $null = Invoke-SqbBuild
            Edit-SqbTestStgCustomers -Project $p
            $r = Invoke-SqbBuild -Environment pr_1 -ChangesOnly
            $r.Status | Should -Be 'succeeded'
            @($r.Nodes.Name | Sort-Object) | Should -Be @('dim_customers', 'stg_customers')
            @($r.Nodes.Action | Sort-Object -Unique) | Should -Be 'build'
            $r.EnvironmentStatus | Should -Be 'finalized'
            Get-SqbTestReaderValue -Project $p -Environment pr_1 | Should -Be 'ADA'
            Get-SqbTestReaderValue -Project $p -Environment dev | Should -Be 'Ada'

            # Nothing stale: nothing is built, locked, journaled or written.
            $before = Get-SqbTestSnapshot -Project $p
            $again = Invoke-SqbBuild -Environment pr_1 -ChangesOnly
            $again.Status | Should -Be 'succeeded'
            $again.EnvironmentStatus | Should -Be 'finalized'
            @($again.Nodes) | Should -BeNullOrEmpty
            Get-SqbTestSnapshot -Project $p | Should -Be $before
        }

        It 'Get-SqbPlan -ChangesOnly emits one step per node, unchanged ones included, as the default plan does' -Skip:$Skip {
            $null = Invoke-SqbBuild
            $all = @(Get-SqbPlan)
            $quiet = @(Get-SqbPlan -ChangesOnly)
            @($quiet.Name) | Should -Be @($all.Name) -Because 'nothing is due, and every node is still one step'
            @($quiet.Action | Sort-Object -Unique) | Should -Be 'unchanged'

            Edit-SqbTestStgCustomers -Project $p
            $due = @(Get-SqbPlan -ChangesOnly)
            @($due.Name) | Should -Be @($all.Name)
            @($due | Where-Object Action -NE 'unchanged' | ForEach-Object Name | Sort-Object) | Should -Be @('dim_customers', 'stg_customers')
            @(Get-SqbPlan -ChangesOnly -Select stg_customers).Name | Should -Be @('stg_customers') -Because 'the selection still bounds the plan'
        }

        It '-Select with a stale upstream fails with S010 unless -IncludeStaleUpstreams' -Skip:$Skip {
            $null = Invoke-SqbBuild
            Edit-SqbTestStgCustomers -Project $p
            $before = Get-SqbTestSnapshot -Project $p -ExcludeJournal
            $e = { Invoke-SqbBuild -Environment pr_1 -Select dim_customers -ErrorAction Stop } | Should -Throw -PassThru
            Assert-SqbTestError $e -ErrorId 'S010.StaleUpstreams' -Category InvalidOperation -Target 'pr_1' -ActionLike '*-IncludeStaleUpstreams*' `
                -MessageLike 'selected virtual scope is missing stale required upstream models: stg_customers'
            Get-SqbTestSnapshot -Project $p -ExcludeJournal | Should -Be $before

            $r = Invoke-SqbBuild -Environment pr_1 -Select dim_customers -IncludeStaleUpstreams
            $r.Status | Should -Be 'succeeded'
            @($r.Nodes | Where-Object Action -EQ 'build' | ForEach-Object Name | Sort-Object) | Should -Be @('dim_customers', 'stg_customers')
        }

        It 'Restore-SqbCheckpoint with no earlier differing checkpoint fails with S021' -Skip:$Skip {
            $null = Invoke-SqbBuild
            $e = { Restore-SqbCheckpoint -ErrorAction Stop } | Should -Throw -PassThru
            Assert-SqbTestError $e -ErrorId 'S021.NoPreviousCheckpoint' -Category ObjectNotFound -Target 'dev' -ActionLike '*Get-SqbCheckpoint*' `
                -MessageLike 'no previous finalized checkpoint is available for rollback'
        }
    }

    Context 'Get-SqbEnvironment' {
        BeforeEach {
            $script:p = New-SqbTestTemplateProject -Engine $Engine -Build
            Push-Location -LiteralPath $p.Path
            $null = Invoke-SqbBuild -Environment pr_1
        }

        It 'lists typed environments and matches wildcards' -Skip:$Skip {
            $all = @(Get-SqbEnvironment)
            @($all.Name) | Should -Be @('dev', 'pr_1')
            foreach ($e in $all) { $e.PSObject.TypeNames[0] | Should -Be 'SQLBuild.SqbEnvironment' }
            $dev = $all | Where-Object Name -EQ 'dev'
            $dev.LogicalSchema | Should -Be $p.Schema
            $dev.Status | Should -Be 'finalized'
            $dev.FinalizedAt | Should -BeOfType [datetime]
            $dev.CheckpointCount | Should -Be 1
            @(Get-SqbEnvironment -Name 'pr*').Name | Should -Be 'pr_1'
        }

        It 'an unknown name is a non-terminating S020 error and the known ones still come out' -Skip:$Skip {
            $out = Get-SqbEnvironment -Name dev, nope -ErrorVariable errs -ErrorAction SilentlyContinue
            @($out).Name | Should -Be 'dev'
            $errs.Count | Should -Be 1
            Assert-SqbTestError $errs[0] -ErrorId 'S020.UnknownEnvironment' -Category ObjectNotFound -Target 'nope' -ActionLike '*Get-SqbEnvironment*' `
                -MessageLike "unknown virtual environment 'nope'"
        }
    }

    Context 'Publish-SqbEnvironment and Compare-SqbEnvironment' {
        BeforeEach {
            $script:p = New-SqbTestTemplateProject -Engine $Engine -Build
            Push-Location -LiteralPath $p.Path
            Edit-SqbTestStgCustomers -Project $p
        }

        It 'Compare-SqbEnvironment lists the changed refs with their column changes' -Skip:$Skip {
            $null = Invoke-SqbBuild -Environment pr_1
            $diff = @(Compare-SqbEnvironment -Reference dev -Difference pr_1)
            foreach ($d in $diff) { $d.PSObject.TypeNames[0] | Should -Be 'SQLBuild.SqbRefDifference' }
            @($diff.Name | Sort-Object) | Should -Be @('dim_customers', 'stg_customers')
            @($diff.Change | Sort-Object -Unique) | Should -Be 'changed'
            $stg = $diff | Where-Object Name -EQ 'stg_customers'
            $stg.ReferenceVersion | Should -Not -Be $stg.DifferenceVersion
            @($stg.ColumnChanges) | Should -Contain (@($stg.ColumnChanges) -like '+edition*')[0]
            @($stg.ColumnChanges -like '+edition*').Count | Should -Be 1
            # Pipeline: an environment binds to -Difference by name.
            @(Get-SqbEnvironment pr_1 | Compare-SqbEnvironment -Reference dev).Count | Should -Be 2
        }

        It 'Get-SqbEnvironment pr_1 | Publish-SqbEnvironment -To dev moves refs and views, rebuilding nothing' -Skip:$Skip {
            $null = Invoke-SqbBuild -Environment pr_1
            $physical = (Get-SqbTestSnapshot -Project $p) -split "`n" | Where-Object { $_ -like "relation $($p.Schema)__sqb_physical.*" }
            Get-SqbTestReaderValue -Project $p | Should -Be 'Ada'

            $r = Get-SqbEnvironment pr_1 | Publish-SqbEnvironment -To dev
            $r.PSObject.TypeNames[0] | Should -Be 'SQLBuild.SqbPromotionResult'
            $r.From | Should -Be 'pr_1'
            $r.To | Should -Be 'dev'
            $r.Status | Should -Be 'finalized'
            $r.PromotedModels.Count | Should -Be 6
            $r.RefChanges | Should -Be 2
            $r.ViewsWritten | Should -Be 2
            $r.CheckpointId | Should -Match '^chk_'
            $r.OperationId | Should -Match '^promote:[0-9a-f]{32}$'

            Get-SqbTestReaderValue -Project $p | Should -Be 'ADA'
            Get-SqbTestReaderValue -Project $p -Column 'edition' | Should -Be 'v2'
            Get-SqbTestReaderValue -Project $p -Model dim_customers -Column first_name | Should -Be 'ADA'
            @(Compare-SqbEnvironment -Reference dev -Difference pr_1) | Should -BeNullOrEmpty
            ((Get-SqbTestSnapshot -Project $p) -split "`n" | Where-Object { $_ -like "relation $($p.Schema)__sqb_physical.*" }) | Should -Be $physical
            @(Get-SqbCheckpoint -Environment dev).Count | Should -Be 2
            (Get-SqbEnvironment dev).Baseline | Should -Be 'pr_1'
            @(Get-SqbLock) | Should -BeNullOrEmpty
        }

        It '-WhatIf changes nothing' -Skip:$Skip {
            $null = Invoke-SqbBuild -Environment pr_1
            $before = Get-SqbTestSnapshot -Project $p
            $out = Get-SqbEnvironment pr_1 | Publish-SqbEnvironment -To dev -WhatIf
            $out | Should -BeNullOrEmpty
            Get-SqbTestSnapshot -Project $p | Should -Be $before
            Get-SqbTestReaderValue -Project $p | Should -Be 'Ada'
        }

        It 'a working source blocks whole promotion with S018, before anything changes' -Skip:$Skip {
            $r = Invoke-SqbBuild -Environment pr_1 -Select stg_customers
            $r.EnvironmentStatus | Should -Be 'active'
            (Get-SqbEnvironment pr_1).Status | Should -Be 'working'
            $before = Get-SqbTestSnapshot -Project $p -ExcludeJournal
            $e = { Publish-SqbEnvironment -From pr_1 -To dev -ErrorAction Stop } | Should -Throw -PassThru
            Assert-SqbTestError $e -ErrorId 'S018.SourceNotFinalized' -Category InvalidOperation -Target 'pr_1' -ActionLike '*-Select*' `
                -MessageLike 'whole-VDE promotion requires a finalized source virtual environment'
            Get-SqbTestSnapshot -Project $p -ExcludeJournal | Should -Be $before
            $op = Get-SqbOperation -Type promote
            $op.Status | Should -Be 'failed'
            @(Get-SqbLock) | Should -BeNullOrEmpty
        }

        It 'an unknown source fails with S011' -Skip:$Skip {
            $e = { Publish-SqbEnvironment -From nope -To dev -ErrorAction Stop } | Should -Throw -PassThru
            Assert-SqbTestError $e -ErrorId 'S011.UnknownSourceEnvironment' -Category ObjectNotFound -Target 'nope' -ActionLike '*Invoke-SqbBuild -Environment nope*' `
                -MessageLike "unknown source virtual environment 'nope'"
        }

        It 'a missing physical relation of the source blocks the promotion before any ref or view changes' -Skip:$Skip {
            $r = Invoke-SqbBuild -Environment pr_1
            $phys = ($r.Nodes | Where-Object Name -EQ 'stg_customers').Relation
            $schema, $name = $phys -split '\.'
            # The damage, for real: pr_1's reader view first (it depends on it), then the physical view.
            Invoke-SqbTestSql -Project $p -NonQuery -Sql "DROP VIEW `"$($p.Schema)__pr_1`".`"stg_customers`""
            Invoke-SqbTestSql -Project $p -NonQuery -Sql "DROP VIEW `"$schema`".`"$name`""
            $before = Get-SqbTestSnapshot -Project $p -ExcludeJournal

            $e = { Publish-SqbEnvironment -From pr_1 -To dev -ErrorAction Stop } | Should -Throw -PassThru
            Assert-SqbTestError $e -ErrorId 'C252.MissingPhysical' -Category ObjectNotFound -Target $phys `
                -ActionLike 'Rebuild the source VDE first: Invoke-SqbBuild -Environment pr_1 -Select stg_customers*' `
                -MessageLike "missing physical relation for 'stg_customers'"
            Get-SqbTestSnapshot -Project $p -ExcludeJournal | Should -Be $before
            Get-SqbTestReaderValue -Project $p | Should -Be 'Ada'
        }
    }

    Context 'Checkpoints' {
        BeforeEach {
            $script:p = New-SqbTestTemplateProject -Engine $Engine -Build
            Push-Location -LiteralPath $p.Path
            Edit-SqbTestStgCustomers -Project $p
            $null = Invoke-SqbBuild -Environment pr_1
            $null = Publish-SqbEnvironment -From pr_1 -To dev
        }

        It 'Get-SqbCheckpoint lists typed checkpoints newest first; Compare-SqbCheckpoint shows what an older one would change' -Skip:$Skip {
            $cps = @(Get-SqbCheckpoint)
            $cps.Count | Should -Be 2
            foreach ($c in $cps) {
                $c.PSObject.TypeNames[0] | Should -Be 'SQLBuild.SqbCheckpoint'
                $c.Environment | Should -Be 'dev'
                $c.RefCount | Should -Be 9
            }
            $cps[0].CreatedAt | Should -BeGreaterOrEqual $cps[1].CreatedAt
            $cps[0].Refs | Should -BeNullOrEmpty
            $full = Get-SqbCheckpoint -Id $cps[1].Id
            @($full.Refs).Count | Should -Be 9
            $full.Refs[0].PSObject.TypeNames[0] | Should -Be 'SQLBuild.SqbRef'

            @(Compare-SqbCheckpoint -CheckpointId $cps[0].Id) | Should -BeNullOrEmpty
            $diff = @($cps[1] | Compare-SqbCheckpoint)
            @($diff.Name | Sort-Object) | Should -Be @('dim_customers', 'stg_customers')
            $diff[0].PSObject.TypeNames[0] | Should -Be 'SQLBuild.SqbRefDifference'
        }

        It 'Get-SqbCheckpoint | Select -Skip 1 -First 1 | Restore-SqbCheckpoint brings the old refs and views back' -Skip:$Skip {
            Get-SqbTestReaderValue -Project $p | Should -Be 'ADA'
            $older = Get-SqbCheckpoint | Select-Object -Skip 1 -First 1
            $r = Get-SqbCheckpoint | Select-Object -Skip 1 -First 1 | Restore-SqbCheckpoint
            $r.PSObject.TypeNames[0] | Should -Be 'SQLBuild.SqbRestoreResult'
            $r.Environment | Should -Be 'dev'
            $r.CheckpointId | Should -Be $older.Id
            $r.Status | Should -Be 'finalized'
            $r.RefChanges | Should -Be 2
            $r.OperationId | Should -Match '^rollback:'
            Get-SqbTestReaderValue -Project $p | Should -Be 'Ada'
            Get-SqbTestReaderValue -Project $p -Model dim_customers | Should -Be 'Ada'
            @(Compare-SqbCheckpoint -CheckpointId $older.Id) | Should -BeNullOrEmpty
            # A restore writes no new checkpoint.
            @(Get-SqbCheckpoint).Count | Should -Be 2
        }

        It '-WhatIf changes nothing' -Skip:$Skip {
            $before = Get-SqbTestSnapshot -Project $p
            $out = Get-SqbCheckpoint | Select-Object -Skip 1 -First 1 | Restore-SqbCheckpoint -WhatIf
            $out | Should -BeNullOrEmpty
            $out = Restore-SqbCheckpoint -WhatIf
            $out | Should -BeNullOrEmpty
            Get-SqbTestSnapshot -Project $p | Should -Be $before
            Get-SqbTestReaderValue -Project $p | Should -Be 'ADA'
        }

        It 'the default restore takes the newest checkpoint that differs from the current refs' -Skip:$Skip {
            $cps = @(Get-SqbCheckpoint)
            (Restore-SqbCheckpoint).CheckpointId | Should -Be $cps[1].Id
            Get-SqbTestReaderValue -Project $p | Should -Be 'Ada'
            (Restore-SqbCheckpoint -Environment dev).CheckpointId | Should -Be $cps[0].Id
            Get-SqbTestReaderValue -Project $p | Should -Be 'ADA'
        }

        It 'an unknown checkpoint id fails with S026' -Skip:$Skip {
            $e = { Restore-SqbCheckpoint -CheckpointId chk_nope -ErrorAction Stop } | Should -Throw -PassThru
            Assert-SqbTestError $e -ErrorId 'S026.UnknownCheckpoint' -Category ObjectNotFound -Target 'chk_nope' -ActionLike '*Get-SqbCheckpoint*'
        }
    }

    Context 'Locks and the journal in one process' {
        BeforeEach {
            $script:p = New-SqbTestTemplateProject -Engine $Engine -Build
            Push-Location -LiteralPath $p.Path
            Edit-SqbTestStgCustomers -Project $p
            $null = Invoke-SqbBuild -Environment pr_1
            $script:lease = $null
        }
        AfterEach {
            if ($script:lease) { $script:lease.Dispose(); $script:lease = $null }
        }

        It 'a held VDE lock stops build and promote (S014) and restore (S019) at once, naming the holder' -Skip:$Skip {
            $script:lease = Enter-SqbTestLock -Project $p -Key 'virtual_env:dev' -Owner 'promote:holder0123456789'
            $before = Get-SqbTestSnapshot -Project $p -ExcludeJournal
            $checks = @(
                @{ Run = { Invoke-SqbBuild -ErrorAction Stop }; Id = 'S014.EnvironmentLocked' }
                @{ Run = { Publish-SqbEnvironment -From pr_1 -To dev -ErrorAction Stop }; Id = 'S014.EnvironmentLocked' }
                @{ Run = { Restore-SqbCheckpoint -ErrorAction Stop }; Id = 'S019.EnvironmentLocked' }
            )
            foreach ($check in $checks) {
                $watch = [Diagnostics.Stopwatch]::StartNew()
                $e = $check.Run | Should -Throw -PassThru
                $watch.Stop()
                $watch.Elapsed.TotalSeconds | Should -BeLessThan 5
                Assert-SqbTestError $e -ErrorId $check.Id -Category ResourceBusy -Target 'virtual_env:dev' -ActionLike "*Clear-SqbLock -Key 'virtual_env:dev' -Force*" `
                    -MessageLike "virtual environment 'dev' is locked by promote:holder0123456789 (host *, pid $PID, *"
            }
            Get-SqbTestSnapshot -Project $p -ExcludeJournal | Should -Be $before
            # A refused operation writes no journal row (the lock comes first), so reconcile reports nothing; the
            # lock is still the holder's.
            @(Get-SqbOperation -Status Failed).Count | Should -Be 0
            $lock = Get-SqbLock
            $lock.PSObject.TypeNames[0] | Should -Be 'SQLBuild.SqbLock'
            $lock.OwnerId | Should -Be 'promote:holder0123456789'
            $lock.IsOrphaned | Should -BeFalse

            # Another VDE is not blocked.
            (Invoke-SqbBuild -Environment pr_1).Status | Should -Be 'succeeded'
            $script:lease.Dispose(); $script:lease = $null
            (Invoke-SqbBuild).Status | Should -Be 'succeeded'
        }

        It 'Get-SqbLock shows the holder; Clear-SqbLock -WhatIf keeps it and -Key -Force removes it' -Skip:$Skip {
            $script:lease = Enter-SqbTestLock -Project $p -Key 'virtual_env:dev' -Owner 'build:stuck'
            $lock = @(Get-SqbLock)
            $lock.Count | Should -Be 1
            $lock[0].PSObject.TypeNames[0] | Should -Be 'SQLBuild.SqbLock'
            $lock[0].Key | Should -Be 'virtual_env:dev'
            $lock[0].Environment | Should -Be 'dev'
            $lock[0].OwnerId | Should -Be 'build:stuck'
            $lock[0].OwnerPid | Should -Be $PID
            $lock[0].OwnerHost | Should -Be ([Environment]::MachineName)
            $lock[0].IsExpired | Should -BeFalse
            $lock[0].IsOrphaned | Should -BeFalse
            ($lock[0].ExpiresAt - $lock[0].CreatedAt).TotalMinutes | Should -BeGreaterThan 9.9
            @(Get-SqbLock -Key 'virtual_env:*').Count | Should -Be 1
            @(Get-SqbLock -Key 'state_migration') | Should -BeNullOrEmpty

            $before = Get-SqbTestSnapshot -Project $p
            $lock[0] | Clear-SqbLock -WhatIf | Should -BeNullOrEmpty
            Clear-SqbLock -Orphaned | Should -BeNullOrEmpty
            Get-SqbTestSnapshot -Project $p | Should -Be $before

            $cleared = Clear-SqbLock -Key 'virtual_env:dev' -Force
            $cleared.PSObject.TypeNames[0] | Should -Be 'SQLBuild.SqbLock'
            $cleared.OwnerId | Should -Be 'build:stuck'
            @(Get-SqbLock) | Should -BeNullOrEmpty
        }

        It 'Clear-SqbLock -Key of a lock nobody holds is a non-terminating C271 error' -Skip:$Skip {
            @(Get-SqbLock) | Should -BeNullOrEmpty
            $out = Clear-SqbLock -Key 'virtual_env:nope' -Force -ErrorVariable errs -ErrorAction SilentlyContinue
            $out | Should -BeNullOrEmpty
            $errs.Count | Should -Be 1
            Assert-SqbTestError $errs[0] -ErrorId 'C271.LockNotFound' -Category ObjectNotFound -Target 'virtual_env:nope' -ActionLike '*Get-SqbLock*'
        }

        It 'Get-SqbOperation emits typed operations with their events, filtered by type and status' -Skip:$Skip {
            $null = Publish-SqbEnvironment -From pr_1 -To dev
            $ops = @(Get-SqbOperation)
            $ops.Count | Should -Be 3
            foreach ($o in $ops) { $o.PSObject.TypeNames[0] | Should -Be 'SQLBuild.SqbOperation' }
            @($ops.Type) | Should -Be @('promote', 'build', 'build')   # newest first
            $promote = Get-SqbOperation -Type promote
            $promote.Status | Should -Be 'succeeded'
            $promote.Environment | Should -Be 'dev'
            $promote.Reason | Should -BeNullOrEmpty
            @($promote.Events.Action) | Should -Be @('start', 'step', 'finish')
            $promote.Events[0].Message | Should -Be 'promote from pr_1 to dev'
            $promote.Events[0].PSObject.TypeNames[0] | Should -Be 'SQLBuild.SqbOperationEvent'
            (Get-SqbOperation -Id $promote.Id).Type | Should -Be 'promote'
            @(Get-SqbOperation -Status Failed) | Should -BeNullOrEmpty
            @(Get-SqbOperation -Status Succeeded -Environment pr_1).Count | Should -Be 1
        }
    }

    Context 'Mode guards' {
        It 'a direct-mode project blocks the virtual cmdlets before touching anything' -Skip:$Skip {
            $script:p = New-SqbTestTemplateProject -Engine $Engine -Template direct
            Push-Location -LiteralPath $p.Path
            $before = Get-SqbTestSnapshot -Project $p
            $checks = @(
                @{ Run = { Publish-SqbEnvironment -From pr_1 -To dev -ErrorAction Stop }; Id = 'C243.*'; Message = 'promote requires virtual_environments = true' }
                @{ Run = { Restore-SqbCheckpoint -ErrorAction Stop }; Id = 'C245.*'; Message = 'rollback requires virtual_environments = true' }
                @{ Run = { Invoke-SqbBuild -Environment pr_1 -ErrorAction Stop }; Id = 'C263.VirtualOnlyParameter'; Message = '*does not support -Environment unless virtual_environments = true' }
                @{ Run = { Invoke-SqbBuild -ChangesOnly -ErrorAction Stop }; Id = 'C263.VirtualOnlyParameter'; Message = '*does not support -ChangesOnly unless virtual_environments = true' }
                @{ Run = { Invoke-SqbBuild -IncludeStaleUpstreams -ErrorAction Stop }; Id = 'C263.VirtualOnlyParameter'; Message = '*-IncludeStaleUpstreams unless virtual_environments = true' }
                @{ Run = { Get-SqbPlan -Environment pr_1 -ErrorAction Stop }; Id = 'C263.VirtualOnlyParameter'; Message = '*-Environment unless virtual_environments = true' }
                @{ Run = { Get-SqbLock -ErrorAction Stop }; Id = 'E001.StateRequiresVirtualMode'; Message = '*require virtual_environments = true' }
                @{ Run = { Clear-SqbLock -Orphaned -ErrorAction Stop }; Id = 'E001.StateRequiresVirtualMode'; Message = '*require virtual_environments = true' }
                @{ Run = { Initialize-SqbState -ErrorAction Stop }; Id = 'E001.StateRequiresVirtualMode'; Message = '*require virtual_environments = true' }
                @{ Run = { Get-SqbEnvironment -ErrorAction Stop }; Id = 'E001.StateRequiresVirtualMode'; Message = '*require virtual_environments = true' }
            )
            foreach ($check in $checks) {
                $e = $check.Run | Should -Throw -PassThru
                $e.FullyQualifiedErrorId | Should -BeLike "$($check.Id),*"
                $e.CategoryInfo.Category | Should -Be 'InvalidOperation'
                $e.Exception.Message | Should -BeLike $check.Message
                $e.ErrorDetails.RecommendedAction | Should -BeLike '*virtual_environments = true*'
            }
            Get-SqbTestSnapshot -Project $p | Should -Be $before
            if ($Engine -eq 'duckdb') { Join-Path $p.Path "*.duckdb" | Should -Not -Exist }
        }

        It 'a virtual-mode project refuses -DeferTo (C242) and -NoTests / -NoAudits (C264)' -Skip:$Skip {
            $script:p = New-SqbTestTemplateProject -Engine $Engine -Build
            Push-Location -LiteralPath $p.Path
            $before = Get-SqbTestSnapshot -Project $p
            $e = { Invoke-SqbBuild -DeferTo prod -ErrorAction Stop } | Should -Throw -PassThru
            Assert-SqbTestError $e -ErrorId 'C242.DeferToNotSupported' -Category InvalidOperation -Target 'DeferTo' `
                -MessageLike 'build does not support -DeferTo when virtual_environments = true'
            $e = { Get-SqbPlan -DeferTo prod -ErrorAction Stop } | Should -Throw -PassThru
            Assert-SqbTestError $e -ErrorId 'C242.DeferToNotSupported' -Category InvalidOperation -MessageLike 'plan does not support -DeferTo*'
            foreach ($flag in 'NoTests', 'NoAudits') {
                $splat = @{ $flag = $true }
                $e = { Invoke-SqbBuild @splat -ErrorAction Stop } | Should -Throw -PassThru
                Assert-SqbTestError $e -ErrorId 'C264.AuditsRequired' -Category InvalidOperation -Target $flag -ActionLike '*Invoke-SqbBuild*'
            }
            Get-SqbTestSnapshot -Project $p | Should -Be $before
        }
    }
}
