#Requires -Version 7.4
# Virtual mode across real processes, on DuckDB and on PostgreSQL: child `pwsh -NoProfile` processes
# import the built module and race for a VDE, hold its lock and get killed (kill -9: no cleanup
# runs), or die inside the atomic switch of a promotion (SQB_TEST_KILL_AT=promote:switch:view:2). The
# recovery page's rows are then worked through with the cmdlets, as an operator would.

BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'SQLBuild.TestHelpers.psm1') -Force
    $script:Engines = Get-SqbTestEngine
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'SQLBuild.TestHelpers.psm1') -Force
    Import-SqbTestModule
    $ProgressPreference = 'SilentlyContinue'

    # A model whose build takes seconds: PostgreSQL sleeps; DuckDB has no sleep, so it hashes rows.
    function Set-SlowModel($Project, [int] $Seconds) {
        $sql = if ($Project.Engine -eq 'postgres') {
            "MODEL (materialized table);`nWITH pause AS (SELECT pg_sleep($Seconds)) SELECT 1 AS id FROM pause"
        }
        else {
            # About 1 s per 3 million rows on the 2-core build machine.
            "MODEL (materialized table);`nSELECT COUNT(DISTINCT md5(CAST(i AS VARCHAR))) AS id FROM range(0, $($Seconds * 3000000)) AS t(i)"
        }
        Set-SqbTestModel -Project $Project -Name 'slow' -Sql $sql
    }

    # The child's body: a build whose verbose stream (statement kind and target) goes to its log.
    $script:LoggedBuild = @'
Invoke-SqbBuild -Verbose 4>&1 | ForEach-Object { if ($_ -is [System.Management.Automation.VerboseRecord]) { Write-Log $_.Message } }
Save-Result @{ Outcome = 'finished' }
'@

    # Starts a child build of dev and kills it (SIGKILL) once it holds the VDE lock and runs the slow model. The child
    # renews its lock every 2 s, so its row has missed two renewals 4 s after the kill (SPEC §6).
    function Start-KilledBuild($Project) {
        Set-SlowModel $Project -Seconds 60
        $child = Start-SqbTestChild -Project $Project -Name 'killed-build' -Body $LoggedBuild -Environment @{ SQB_LOCK_RENEW_SECONDS = '2' }
        try {
            $null = Wait-SqbTestChildLog -Child $child -Pattern '^acquired lock virtual_env:dev for build:'
            $null = Wait-SqbTestChildLog -Child $child -Pattern '^CREATE TABLE \S+__sqb_physical\.slow__v_'
        }
        finally { Stop-SqbTestChild -Child $child }
        # PostgreSQL runs the killed client's statement on to its end; end it as a DBA would.
        $null = Stop-SqbTestPgQuery -Project $Project
        # The retry builds a quick version of the model (a new version: a new physical relation).
        Set-SqbTestModel -Project $Project -Name 'slow' -Sql "MODEL (materialized table);`nSELECT 1 AS id"
        $child
    }
}

Describe 'Processes on <Engine>' -ForEach $Engines {
    AfterEach {
        if ($script:children) { foreach ($c in $script:children) { Stop-SqbTestChild -Child $c } }
        $script:children = @()
        if ($script:p) {
            $null = try { Stop-SqbTestPgQuery -Project $script:p } catch { 0 }
            Pop-Location -ErrorAction SilentlyContinue
            Remove-SqbTestProject -Project $script:p
            $script:p = $null
        }
    }

    Context 'Two processes race for one VDE' {
        It 'exactly one build wins; the other fails at once, well under the build time' -Skip:$Skip {
            $script:p = New-SqbTestTemplateProject -Engine $Engine -Build
            Push-Location -LiteralPath $p.Path
            Set-SlowModel $p -Seconds 4
            $body = @'
$null = Get-SqbModel   # module loaded and project compiled before the start signal
# and the driver loaded and a connection made: both reach the lock warm. Two processes opening one DuckDB file at the
# same moment is W004 for one of them (the file admits one process); this warm-up is not the race, so it tries again.
for ($try = 1; ; $try++) {
    try { $null = Get-SqbLock; break }
    catch { if ($_.FullyQualifiedErrorId -notlike 'W004.*' -or $try -ge 50) { throw }; Start-Sleep -Milliseconds (20 + (Get-Random -Maximum 80)) }
}
Wait-Go
$watch = [Diagnostics.Stopwatch]::StartNew()
try {
    $r = Invoke-SqbBuild -ErrorAction Stop
    $res = [ordered]@{ Outcome = $r.Status; OperationId = $r.OperationId }
}
catch {
    $res = ConvertFrom-Err $_
    # Who holds the lock the moment the refusal returns: the winner still, if the loser did not wait for it.
    # (DuckDB: the loser cannot open the file the winner has open, so there is nothing to read.)
    if ($res.ErrorId -like 'S014.*') { $res.LockHeldBy = @(Get-SqbLock | ForEach-Object OwnerId) }
}
$res.Seconds = $watch.Elapsed.TotalSeconds
$res.Pid = $PID
Save-Result $res
'@
            $script:children = @(
                Start-SqbTestChild -Project $p -Name 'racer-a' -Body $body
                Start-SqbTestChild -Project $p -Name 'racer-b' -Body $body
            )
            foreach ($c in $children) {
                $null = Wait-SqbTestCondition -Child $c -TimeoutSeconds 90 -Because "child $($c.Id) to get ready" -Condition {
                    if ($c.Process.HasExited) { throw "child exited early`n$(Get-SqbTestChildOutput -Child $c)" }
                    Test-Path -LiteralPath $c.ReadyFile
                }
            }
            foreach ($c in $children) { $null = New-Item -ItemType File -Path $c.GoFile }
            $results = @($children | ForEach-Object { (Wait-SqbTestChild -Child $_ -TimeoutSeconds 120).Result })

            $winners = @($results | Where-Object Outcome -EQ 'succeeded')
            $losers = @($results | Where-Object Outcome -EQ 'failed')
            $winners.Count | Should -Be 1 -Because ($results | ConvertTo-Json -Compress)
            $losers.Count | Should -Be 1 -Because ($results | ConvertTo-Json -Compress)
            $winner = $winners[0]; $loser = $losers[0]
            # PostgreSQL sleeps 4 s for sure; DuckDB's hashing takes what the machine needs (4 s on the build machine).
            $winner.Seconds | Should -BeGreaterThan ($Engine -eq 'postgres' ? 3.5 : 1)
            $loser.Category | Should -Be 'ResourceBusy'
            if ($Engine -eq 'postgres') {
                # At once: the refusal returned while the winner still held the lock (no waiting for the holder).
                @($loser.LockHeldBy) | Should -Be @($winner.OperationId)
                $loser.ErrorId | Should -BeLike 'S014.EnvironmentLocked,*'
                $loser.Target | Should -Be 'virtual_env:dev'
                $loser.Message | Should -BeLike "virtual environment 'dev' is locked by $($winner.OperationId) (host *, pid $($winner.Pid), *"
                $loser.RecommendedAction | Should -BeLike '*Clear-SqbLock*'
                # The refused build wrote no journal row (the lock comes before the journal row): the journal holds
                # the winner's run only, so Get-SqbReconcile has nothing to report.
                @(Get-SqbOperation -Status Failed).Count | Should -Be 0
                @(Get-SqbOperation -Type build -Status Succeeded).Id | Should -Contain $winner.OperationId
                @(Get-SqbOperation -Type build | Where-Object Status -NE 'succeeded') | Should -BeNullOrEmpty
            }
            else {
                # DuckDB allows one process per database file (SPEC §6): the loser cannot even open it.
                $loser.ErrorId | Should -BeLike 'W004.DatabaseInUse,*'
                $file = $p.Database
                $loser.Target | Should -Be $file
                $loser.Message | Should -Be "database file '$file' is in use by another process"
                $loser.RecommendedAction | Should -BeLike '*retry*'
            }
            @(Get-SqbLock) | Should -BeNullOrEmpty
            (Get-SqbEnvironment dev).Status | Should -Be 'finalized'
            Get-SqbTestReaderValue -Project $p -Model slow -Column id -Where '1 = 1' | Should -Not -BeNullOrEmpty
        }
    }

    Context 'A lock held by a killed process' {
        BeforeEach {
            $script:p = New-SqbTestTemplateProject -Engine $Engine -Build
            Push-Location -LiteralPath $p.Path
            $script:killed = Start-KilledBuild $p
            # The dead holder's row stays; wait until it is provably orphaned (PostgreSQL: the dead
            # client's session has ended and freed its advisory lock).
            $null = Wait-SqbTestCondition -TimeoutSeconds 20 -Because 'the lock to show as orphaned' -Condition {
                @(Get-SqbLock | Where-Object IsOrphaned).Count -eq 1
            }
        }

        It 'Get-SqbLock shows the dead holder as orphaned, and Get-SqbOperation its build as interrupted' -Skip:$Skip {
            $lock = @(Get-SqbLock)
            $lock.Count | Should -Be 1
            $lock[0].PSObject.TypeNames[0] | Should -Be 'SQLBuild.SqbLock'
            $lock[0].Key | Should -Be 'virtual_env:dev'
            $lock[0].OwnerPid | Should -Be $killed.Id
            $lock[0].OwnerId | Should -BeLike 'build:*'
            $lock[0].IsExpired | Should -BeFalse
            $lock[0].IsOrphaned | Should -BeTrue

            $op = @(Get-SqbOperation -Status Failed)
            $op.Count | Should -Be 1
            $op[0].Id | Should -Be $lock[0].OperationId
            $op[0].Type | Should -Be 'build'
            $op[0].Reason | Should -Be 'interrupted'
            $op[0].RecordedStatus | Should -Be 'running'
        }

        It 'a plain retry takes the orphaned lock over and succeeds (SPEC §6)' -Skip:$Skip {
            $verbose = Invoke-SqbBuild -Verbose 4>&1
            $result = $verbose | Where-Object { $_.PSObject.TypeNames[0] -eq 'SQLBuild.SqbBuildResult' }
            $result.Status | Should -Be 'succeeded'
            $result.EnvironmentStatus | Should -Be 'finalized'
            @($verbose | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object Message) |
                Should -Contain "taking over orphaned lock virtual_env:dev of $((Get-SqbOperation -Status Failed).Id)"
            @(Get-SqbLock) | Should -BeNullOrEmpty
            Get-SqbTestReaderValue -Project $p -Model slow -Column id -Where '1 = 1' | Should -Be 1
        }

        It 'Get-SqbLock | Where-Object IsOrphaned | Clear-SqbLock -Force clears it; -WhatIf clears nothing' -Skip:$Skip {
            $before = Get-SqbTestSnapshot -Project $p
            Get-SqbLock | Where-Object IsOrphaned | Clear-SqbLock -WhatIf | Should -BeNullOrEmpty
            Get-SqbTestSnapshot -Project $p | Should -Be $before

            $cleared = @(Get-SqbLock | Where-Object IsOrphaned | Clear-SqbLock -Force)
            $cleared.Count | Should -Be 1
            $cleared[0].PSObject.TypeNames[0] | Should -Be 'SQLBuild.SqbLock'
            $cleared[0].OwnerPid | Should -Be $killed.Id
            @(Get-SqbLock) | Should -BeNullOrEmpty
            # With no lock left, the journal still reports the build as interrupted.
            (Get-SqbOperation -Status Failed).Reason | Should -Be 'interrupted'
            (Invoke-SqbBuild).Status | Should -Be 'succeeded'
        }

        It 'Clear-SqbLock -Orphaned clears exactly the orphaned locks' -Skip:$Skip {
            $cleared = @(Clear-SqbLock -Orphaned)
            $cleared.Count | Should -Be 1
            $cleared[0].Key | Should -Be 'virtual_env:dev'
            $cleared[0].IsOrphaned | Should -BeTrue
            @(Get-SqbLock) | Should -BeNullOrEmpty
            @(Clear-SqbLock -Orphaned) | Should -BeNullOrEmpty
        }

        It 'a holder on another host: PostgreSQL still proves it orphaned by its advisory lock; DuckDB cannot, so the page''s recovery applies' -Skip:$Skip {
            # The row as a process on another machine would have left it: its pid cannot be checked from here.
            Invoke-SqbTestSql -Project $p -NonQuery -Sql "UPDATE `"$($p.StateSchema)`".`"locks`" SET owner_host = 'build-agent-7'"
            $lock = Get-SqbLock
            $lock.OwnerHost | Should -Be 'build-agent-7'
            if ($Engine -eq 'postgres') {
                # No session holds the key's advisory lock: orphaned wherever the holder ran, once its row missed two renewals.
                $lock = Wait-SqbTestCondition -TimeoutSeconds 15 -Because 'the row to miss two renewals' -Condition {
                    Get-SqbLock | Where-Object IsOrphaned
                }
                $lock.IsOrphaned | Should -BeTrue
                $lock.IsExpired | Should -BeFalse
                (Invoke-SqbBuild).Status | Should -Be 'succeeded'
                @(Get-SqbLock) | Should -BeNullOrEmpty
            }
            else {
                # Recovery page, "Lock held by crashed process": the same error, then clear it with force.
                $lock.IsOrphaned | Should -BeFalse
                $lock.IsExpired | Should -BeFalse
                $watch = [Diagnostics.Stopwatch]::StartNew()
                $e = { Invoke-SqbBuild -ErrorAction Stop } | Should -Throw -PassThru
                $watch.Elapsed.TotalSeconds | Should -BeLessThan 5
                Assert-SqbTestError $e -ErrorId 'S014.EnvironmentLocked' -Category ResourceBusy -Target 'virtual_env:dev' `
                    -MessageLike "virtual environment 'dev' is locked by $($lock.OwnerId) (host build-agent-7, pid $($killed.Id), *" `
                    -ActionLike "*Clear-SqbLock -Key 'virtual_env:dev' -Force*"
                @(Clear-SqbLock -Orphaned) | Should -BeNullOrEmpty
                $cleared = Clear-SqbLock -Key 'virtual_env:dev' -Force
                $cleared.OwnerHost | Should -Be 'build-agent-7'
                (Invoke-SqbBuild).Status | Should -Be 'succeeded'
            }
        }
    }

    Context 'A live holder in another process' {
        It 'is reported live and blocks at once; Clear-SqbLock -Orphaned leaves it and -Key -Force removes its row (DuckDB: the file itself is busy)' -Skip:$Skip {
            $script:p = New-SqbTestTemplateProject -Engine $Engine -Build
            Push-Location -LiteralPath $p.Path
            Set-SlowModel $p -Seconds 60
            $child = Start-SqbTestChild -Project $p -Name 'live-build' -Body $LoggedBuild
            $script:children = @($child)
            $null = Wait-SqbTestChildLog -Child $child -Pattern '^CREATE TABLE \S+__sqb_physical\.slow__v_'
            if ($Engine -eq 'postgres') {
                $lock = Get-SqbLock
                $lock.OwnerPid | Should -Be $child.Id
                $lock.IsOrphaned | Should -BeFalse
                $lock.IsExpired | Should -BeFalse
                $watch = [Diagnostics.Stopwatch]::StartNew()
                $e = { Invoke-SqbBuild -ErrorAction Stop } | Should -Throw -PassThru
                $watch.Elapsed.TotalSeconds | Should -BeLessThan 5
                Assert-SqbTestError $e -ErrorId 'S014.EnvironmentLocked' -Category ResourceBusy -Target 'virtual_env:dev' `
                    -MessageLike "virtual environment 'dev' is locked by $($lock.OwnerId) (host *, pid $($child.Id), *"
                @(Clear-SqbLock -Orphaned) | Should -BeNullOrEmpty
                (Clear-SqbLock -Key 'virtual_env:dev' -Force).OwnerPid | Should -Be $child.Id
                @(Get-SqbLock) | Should -BeNullOrEmpty
            }
            else {
                $watch = [Diagnostics.Stopwatch]::StartNew()
                $e = { Get-SqbLock -ErrorAction Stop } | Should -Throw -PassThru
                $watch.Elapsed.TotalSeconds | Should -BeLessThan 5
                $file = $p.Database
                Assert-SqbTestError $e -ErrorId 'W004.DatabaseInUse' -Category ResourceBusy -Target $file `
                    -MessageLike "database file '$file' is in use by another process"
            }
            Stop-SqbTestChild -Child $child
        }
    }

    Context 'Interrupted promotion (atomic switch)' {
        BeforeAll {
            $script:ip = New-SqbTestTemplateProject -Engine $Engine -Build
            Edit-SqbTestStgCustomers -Project $ip
            $null = Invoke-SqbBuild -Path $ip.Path -Environment pr_1
            $script:stateTables = 'virtual_environments', 'virtual_environment_node_refs', 'virtual_environment_checkpoints',
            'virtual_environment_checkpoint_refs', 'virtual_environment_ref_events', 'physical_relations', 'model_versions'
            $script:beforeState = Get-SqbTestSnapshot -Project $ip -ExcludeJournal -ExcludeTable locks
            $script:beforeCheckpoints = @(Get-SqbCheckpoint -Path $ip.Path -Environment dev).Id
            $script:promoter = Start-SqbTestChild -Project $ip -Name 'promoter' -Environment @{ SQB_TEST_KILL_AT = 'promote:switch:view:2' } -Body @'
Publish-SqbEnvironment -From pr_1 -To dev -Verbose 4>&1 | ForEach-Object { if ($_ -is [System.Management.Automation.VerboseRecord]) { Write-Log $_.Message } }
Save-Result @{ Outcome = 'finished' }
'@
            $script:promoted = Wait-SqbTestChild -Child $promoter -TimeoutSeconds 120
        }
        AfterAll {
            Stop-SqbTestChild -Child $script:promoter
            Remove-SqbTestProject -Project $script:ip
        }

        It 'the promoting process died inside the switch, between two view statements' -Skip:$Skip {
            $promoted.Result | Should -BeNullOrEmpty -Because $promoted.Output
            $promoted.ExitCode | Should -Not -Be 0
            $log = Get-Content -LiteralPath $promoter.LogFile
            $log | Should -Contain 'BEGIN transaction'
            # The last lines may not have reached the log: the process died at once.
            @($log -like "CREATE VIEW $($ip.Schema).*").Count | Should -BeLessOrEqual 1
            $log | Should -Not -Contain 'COMMIT transaction'
        }

        It 'readers and the state still see the old environment: refs, checkpoints, views' -Skip:$Skip {
            Get-SqbTestReaderValue -Project $ip | Should -Be 'Ada'
            Get-SqbTestReaderValue -Project $ip -Model dim_customers | Should -Be 'Ada'
            { Get-SqbTestReaderValue -Project $ip -Column edition } | Should -Throw
            Get-SqbTestSnapshot -Project $ip -ExcludeJournal -ExcludeTable locks | Should -Be $beforeState
            @(Get-SqbCheckpoint -Path $ip.Path -Environment dev).Id | Should -Be $beforeCheckpoints
            $dev = Get-SqbEnvironment -Path $ip.Path -Name dev
            $dev.Status | Should -Be 'finalized'
            $dev.Baseline | Should -BeNullOrEmpty
            @(Compare-SqbEnvironment -Path $ip.Path -Reference dev -Difference pr_1).Count | Should -Be 2
        }

        It 'the target VDE lock is not live: orphaned, or gone' -Skip:$Skip {
            $null = Wait-SqbTestCondition -TimeoutSeconds 20 -Because 'the lock of the killed promote to show as orphaned' -Condition {
                @(Get-SqbLock -Path $ip.Path -Key 'virtual_env:dev' | Where-Object { -not $_.IsOrphaned -and -not $_.IsExpired }).Count -eq 0
            }
            foreach ($lock in @(Get-SqbLock -Path $ip.Path -Key 'virtual_env:dev')) {
                $lock.OwnerPid | Should -Be $promoter.Id
                $lock.IsOrphaned | Should -BeTrue
            }
        }

        It 'Get-SqbOperation -Status Failed shows the promote, interrupted' -Skip:$Skip {
            $op = @(Get-SqbOperation -Path $ip.Path -Status Failed)
            $op.Count | Should -Be 1
            $op[0].Type | Should -Be 'promote'
            $op[0].Environment | Should -Be 'dev'
            $op[0].Reason | Should -Be 'interrupted'
            @($op[0].Events.Action) | Should -Be @('start', 'step')
            $op[0].Events[0].Message | Should -Be 'promote from pr_1 to dev'
            $op[0].Events[1].Message | Should -BeLike 'promote:switch:*'
            @(Get-SqbOperation -Path $ip.Path -Type promote -Status Failed).Id | Should -Be $op[0].Id
        }

        It 'a plain retry of the promote succeeds' -Skip:$Skip {
            $r = Publish-SqbEnvironment -Path $ip.Path -From pr_1 -To dev
            $r.Status | Should -Be 'finalized'
            $r.RefChanges | Should -Be 2
            $r.ViewsWritten | Should -Be 2
            Get-SqbTestReaderValue -Project $ip | Should -Be 'ADA'
            Get-SqbTestReaderValue -Project $ip -Model dim_customers | Should -Be 'ADA'
            @(Compare-SqbEnvironment -Path $ip.Path -Reference dev -Difference pr_1) | Should -BeNullOrEmpty
            @(Get-SqbCheckpoint -Path $ip.Path -Environment dev).Count | Should -Be ($beforeCheckpoints.Count + 1)
            @(Get-SqbLock -Path $ip.Path) | Should -BeNullOrEmpty
            $ops = @(Get-SqbOperation -Path $ip.Path -Type promote)
            @($ops.Status) | Should -Be @('succeeded', 'failed')   # newest first
            $ops[1].Reason | Should -Be 'interrupted'
        }
    }
}
