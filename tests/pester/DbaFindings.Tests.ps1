#Requires -Version 7.4
# What a DBA met trying to break the product (an adversarial review of 2026-12-03 on PostgreSQL 15 and DuckDB, judged
# by SPEC.md and the help only). Each Describe reproduces a break as it was seen; each failed before its fix. The
# "Seen:" comments say what happened then.

BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'SQLBuild.TestHelpers.psm1') -Force
    $script:Pg = Get-SqbTestPostgres
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'SQLBuild.TestHelpers.psm1') -Force
    Import-SqbTestModule
    $ProgressPreference = 'SilentlyContinue'
}

Describe 'A build whose models fail, in the journal (DuckDB)' {
    BeforeAll {
        $script:p = New-SqbTestTemplateProject -Engine duckdb -Build
        Set-SqbTestModel -Project $p -Name 'bad_amounts' -Sql "MODEL (materialized table, audits [not_null(amount)]);`nSELECT 1 AS id, CAST(NULL AS INTEGER) AS amount"
        $script:result = Invoke-SqbBuild -Path $p.Path -ErrorAction SilentlyContinue 3>$null 2>$null
    }
    AfterAll { Remove-SqbTestProject -Project $script:p }

    It 'is journaled as failed, as its result says' {
        # Seen: the result says Status failed (bad_amounts failed its error audit) while Get-SqbOperation says
        # succeeded, with the finish message "built 0, ... 0 ref change(s)" and not a word about the failure, so
        # the recovery page's `Get-SqbOperation -Status Failed | Format-List` never shows a failed nightly build.
        $result.Status | Should -Be 'failed'
        $op = Get-SqbOperation -Path $p.Path -Id $result.OperationId
        "$($op.Status)" | Should -Be 'failed' -Because "the build result is failed ($(@($result.Nodes | Where-Object Status -EQ 'Failed').Name -join ', ') failed)"
    }
}

Describe 'Restore-SqbState, then a default build (PostgreSQL)' -Skip:(-not $Pg.Available) {
    BeforeAll {
        $script:p = New-SqbTestTemplateProject -Engine postgres -Build
        $raw = "$($p.Schema)_raw"
        Invoke-SqbTestSql $p "CREATE SCHEMA `"$raw`"; CREATE TABLE `"$raw`".events (id int); INSERT INTO `"$raw`".events VALUES (1), (2), (3)" -NonQuery
        $null = New-Item -ItemType Directory -Path (Join-Path $p.Path 'sources') -Force
        [IO.File]::WriteAllText((Join-Path $p.Path 'sources/raw.yml'), "sources:`n  - name: raw_events`n    schema: $raw`n    table: events`n", [Text.UTF8Encoding]::new($false))
        Set-SqbTestModel -Project $p -Name 'events_tbl' -Sql "MODEL (materialized table);`nSELECT id FROM __source(`"raw_events`")"
        $null = Invoke-SqbBuild -Path $p.Path 3>$null                       # events_tbl v1
        $null = Update-SqbState -Path $p.Path -Confirm:$false               # a state backup (v1 bound)
        Set-SqbTestModel -Project $p -Name 'events_tbl' -Sql "MODEL (materialized table);`nSELECT id, 2 AS rev FROM __source(`"raw_events`")"
        $null = Invoke-SqbBuild -Path $p.Path 3>$null                       # events_tbl v2, built and bound
        $null = Restore-SqbState -Path $p.Path -Confirm:$false              # the recovery page: state back to the backup
        Invoke-SqbTestSql $p "INSERT INTO `"$raw`".events VALUES (4)" -NonQuery   # tonight's new row
        $script:plan = @(Get-SqbPlan -Path $p.Path | Where-Object Name -EQ 'events_tbl')
        $script:result = Invoke-SqbBuild -Path $p.Path -ErrorAction SilentlyContinue 3>$null
    }
    AfterAll { Remove-SqbTestProject -Project $script:p }

    It 'the default build that reports success has built events_tbl with the new source row' {
        # Seen: Get-SqbPlan says events_tbl "build / query changed", the build says succeeded, and dev.events_tbl has
        # 3 rows: v2's relation, left in the warehouse from before Restore-SqbState and no longer tracked in state,
        # was bound as it was (neither rebuilt as the plan said, nor refreshed as a default build must), so the
        # nightly build silently serves yesterday's data. SPEC 4.2: a relation without proof is never taken over;
        # a default build refreshes every selected table.
        $plan[0].Action | Should -Be 'build'
        $result.Status | Should -Be 'succeeded'
        [int](Invoke-SqbTestSql $p -Scalar -Sql "SELECT count(*) FROM `"$($p.Schema)`".events_tbl") | Should -Be 4
    }
}

Describe 'Reset-SqbState; Initialize-SqbState (the last resort), then a default build (PostgreSQL)' -Skip:(-not $Pg.Available) {
    BeforeAll {
        $script:p = New-SqbTestTemplateProject -Engine postgres -Build -AllowReset
        $raw = "$($p.Schema)_raw"
        Invoke-SqbTestSql $p "CREATE SCHEMA `"$raw`"; CREATE TABLE `"$raw`".events (id int); INSERT INTO `"$raw`".events VALUES (1), (2), (3)" -NonQuery
        $null = New-Item -ItemType Directory -Path (Join-Path $p.Path 'sources') -Force
        [IO.File]::WriteAllText((Join-Path $p.Path 'sources/raw.yml'), "sources:`n  - name: raw_events`n    schema: $raw`n    table: events`n", [Text.UTF8Encoding]::new($false))
        Set-SqbTestModel -Project $p -Name 'events_tbl' -Sql "MODEL (materialized table);`nSELECT id FROM __source(`"raw_events`")"
        $null = Invoke-SqbBuild -Path $p.Path 3>$null
        $null = Reset-SqbState -Path $p.Path -Force
        $null = Initialize-SqbState -Path $p.Path -Confirm:$false
        Invoke-SqbTestSql $p "INSERT INTO `"$raw`".events VALUES (4)" -NonQuery
        $script:result = Invoke-SqbBuild -Path $p.Path -ErrorAction SilentlyContinue 3>$null
    }
    AfterAll { Remove-SqbTestProject -Project $script:p }

    It 'the first-run build after a reset reads the current source rows' {
        # Seen: every node is planned "build / first run", the build succeeds and reports events_tbl Rows 3, and
        # dev.events_tbl has 3 of the 4 source rows: the relations left in the physical schema were taken over as
        # finished versions with their old data (the incremental's delta is not applied either).
        $result.Status | Should -Be 'succeeded'
        [int](Invoke-SqbTestSql $p -Scalar -Sql "SELECT count(*) FROM `"$($p.Schema)`".events_tbl") | Should -Be 4
    }
}

Describe 'A promote refused with L002 (nothing switched), then the janitor (PostgreSQL)' -Skip:(-not $Pg.Available) {
    BeforeAll {
        $script:p = New-SqbTestTemplateProject -Engine postgres -Build
        $file = Join-Path $p.Path 'models/marts/fct_orders.sql'
        [IO.File]::WriteAllText($file, [IO.File]::ReadAllText($file).Replace('o.status,', 'o.status, 1 AS flag,'), [Text.UTF8Encoding]::new($false))
        $null = Invoke-SqbBuild -Path $p.Path -Environment pr_1 3>$null
        # A report holds ACCESS SHARE on dev's fct_orders for longer than the switch's lock_timeout retries.
        $reader = Open-SqbTestSession -Project $p
        $tx = $reader.BeginTransaction()
        $null = @($reader.Query((Get-SqbType 'SQLBuild.Core.Adapters.SqlStatement')::new('TEST', 'reader', "SELECT count(*) FROM `"$($p.Schema)`".fct_orders", $null)))
        $script:promoteError = $null
        try { $null = Publish-SqbEnvironment -Path $p.Path -From pr_1 -To dev -Confirm:$false -ErrorAction Stop }
        catch { $script:promoteError = $_ }
        finally { $tx.Rollback(); $tx.Dispose(); $reader.Dispose() }
    }
    AfterAll { Remove-SqbTestProject -Project $script:p }

    It 'does not block Invoke-SqbJanitor once the PR is abandoned' {
        # Seen: J001.UnfinishedOperations "janitor refuses while an adopt, detach, promote or rollback is unfinished:
        # promote:... (dev, failed)", and Get-SqbReconcile reports it as a FailedOperation, until some promote into
        # dev succeeds, although L002 said "Nothing was switched" and the switch is one transaction (nothing can be
        # half-moved). A team that abandons the PR has no way to clear it but to promote something; the documented
        # pipeline's "Check prod" step (throw on any finding) fails until then.
        "$($promoteError.FullyQualifiedErrorId)" | Should -BeLike 'L002*' -Because 'the setup must have made the promote fail at its switch'
        { Invoke-SqbJanitor -Path $p.Path -Force -ErrorAction Stop | Out-Null } | Should -Not -Throw
    }
}

Describe 'An error audit added in a new PR environment (DuckDB, issue 10)' {
    BeforeAll {
        $script:p = New-SqbTestTemplateProject -Engine duckdb -Build
        # The PR adds an audit that the data breaks (every order is below a million).
        $file = Join-Path $p.Path 'models/marts/fct_orders.sql'
        $sql = [IO.File]::ReadAllText($file).Replace('expression_is_true("amount >= 0")', 'expression_is_true("amount >= 0"), expression_is_true("amount > 1000000")')
        [IO.File]::WriteAllText($file, $sql, [Text.UTF8Encoding]::new($false))
        $script:result = Invoke-SqbBuild -Path $p.Path -Environment pr_a -ErrorAction SilentlyContinue 3>$null 2>$null
    }
    AfterAll { Remove-SqbTestProject -Project $script:p }

    It 'leaves the new environment working, not finalized, and so not promotable whole' {
        # about_SQLBuild_VirtualEnvironments: "An error-severity failure fails the node and keeps its ref where it was;
        # in a new environment the node stays unbound, so that environment stays working and dev is untouched."
        # Seen: the build fails fct_orders (B002), yet pr_a is 'finalized' (EnvironmentStatus and Get-SqbEnvironment),
        # its fct_orders view serves the rows that break the audit, and Publish-SqbEnvironment -From pr_a -To dev
        # succeeds (no S018): the environment whose audits failed can be promoted whole.
        @($result.Nodes | Where-Object { $_.Name -eq 'fct_orders' -and "$($_.Status)" -eq 'Failed' }).Count | Should -Be 1
        "$((Get-SqbEnvironment -Path $p.Path -Name pr_a).Status)" | Should -Not -Be 'finalized'
        { Publish-SqbEnvironment -Path $p.Path -From pr_a -To dev -Confirm:$false -ErrorAction Stop | Out-Null } | Should -Throw -ErrorId 'S018*'
    }
}

Describe 'An interrupted detach, diagnosed as the recovery page says (PostgreSQL)' -Skip:(-not $Pg.Available) {
    BeforeAll {
        $script:p = New-SqbTestTemplateProject -Engine postgres -Build
        $path = $p.Path -replace "'", "''"
        # kill -9 after every move committed and before the environment is marked detached.
        $script:run = Invoke-SqbChildScript -ImportModule -Environment @{ SQB_TEST_KILL_AT = 'detach:finalize' } `
            -Script "ConvertFrom-SqbVirtualEnvironment -Path '$path' -Confirmation 'detach dev' -Confirm:`$false | Out-Null"
        $script:findings = @(Get-SqbReconcile -Path $p.Path -Environment dev -ErrorAction SilentlyContinue)
    }
    AfterAll { Remove-SqbTestProject -Project $script:p }

    It 'does not send the DBA to rebuild (and then drop) the relations the detach moved' {
        # about_SQLBuild_Recovery, Interrupted detach: "the VDE stays finalized and its physical versions are
        # preserved. Recovery: Get-SqbReconcile to diagnose, then retry". Seen: every moved node is reported
        # MissingPhysical with Recovery "Invoke-SqbBuild -Environment dev -Select <m>". Following it: a model's build
        # fails with C252 (missing physical relation) and reconcile recommends the same build again (a loop); a seed's
        # fails with C250, after which reconcile says "Drop the table dev.<seed> by hand ... then Repair-SqbView", the
        # detached data itself. Only the FailedOperation line names the real recovery (retry the detach).
        $run.ExitCode | Should -Not -Be 0 -Because 'the kill point must have been reached'
        $misleading = @($findings | Where-Object { "$($_.Kind)" -eq 'MissingPhysical' -and "$($_.Recovery)" -like 'Invoke-SqbBuild*' })
        $misleading.Name | Should -BeNullOrEmpty -Because "the retry of ConvertFrom-SqbVirtualEnvironment is the recovery:`n$(($findings | ForEach-Object { "$($_.Kind) $($_.Name): $($_.Recovery)" }) -join "`n")"
        @($findings | Where-Object { "$($_.Kind)" -eq 'MissingPhysical' }).Recovery | Select-Object -Unique |
            Should -BeLike 'ConvertFrom-SqbVirtualEnvironment*'
    }

    It 'the retry it names finishes the detach, and the detached tables hold their rows' {
        ConvertFrom-SqbVirtualEnvironment -Path $p.Path -Confirmation 'detach dev' -Confirm:$false | Out-Null
        "$((Get-SqbEnvironment -Path $p.Path -Name dev).Status)" | Should -Be 'detached'
        [int](Invoke-SqbTestSql $p -Scalar -Sql "SELECT count(*) FROM `"$($p.Schema)`".fct_orders") | Should -Be 12
    }
}
