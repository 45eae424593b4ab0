#Requires -Version 7.4
# The faults of issue 9, caused for real on DuckDB and PostgreSQL: a seed load killed halfway (case 2), a build
# refused by another's lock (case 7), an adopt killed between two moves and then the janitor (case 1), many
# processes racing for one VDE, and the fault matrix: every kill point a traced build, promote and adopt reach,
# each killed there in a child pwsh, recovered as SPEC says, and checked against a clean run.

BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'SQLBuild.TestHelpers.psm1') -Force
    $script:Engines = Get-SqbTestEngine
    $script:Postgres = @($Engines | Where-Object Engine -EQ 'postgres')
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'SQLBuild.TestHelpers.psm1') -Force
    Import-SqbTestModule
    $ProgressPreference = 'SilentlyContinue'

    # The child's body: a build whose verbose stream (statement kind and target) goes to its log.
    $script:LoggedBuild = @'
Invoke-SqbBuild -Verbose 4>&1 | ForEach-Object { if ($_ -is [System.Management.Automation.VerboseRecord]) { Write-Log $_.Message } }
Save-Result @{ Outcome = 'finished' }
'@

    function Get-FaultCount($P, [string] $Relation) {
        [long](Invoke-SqbTestSql $P "SELECT COUNT(*) FROM $Relation" -Scalar)
    }

    function Get-FaultRelations($P, [string] $Schema) {
        <# "name kind" of every relation in $Schema, sorted. #>
        $s = Open-SqbTestSession -Project $P
        try { @($s.ReadCatalog([string[]]@($Schema), $false).Relations | ForEach-Object { "$($_.Name) $($_.Kind)" } | Sort-Object -CaseSensitive) }
        finally { $s.Dispose() }
    }

    function Get-FaultChecksums($P, [string] $Schema) {
        <# "name=rows:hash" of every relation in $Schema read through its name (a logical view selects), sorted rows hashed. #>
        $s = Open-SqbTestSession -Project $P
        try {
            $stmt = Get-SqbType 'SQLBuild.Core.Adapters.SqlStatement'
            @($s.ReadCatalog([string[]]@($Schema), $false).Relations | Sort-Object Name -CaseSensitive | ForEach-Object {
                    $rows = @($s.Query($stmt::new('TEST', 'checksum', "SELECT * FROM $($s.Dialect.Qualify($_.Relation))", $null)) |
                            ForEach-Object { (@($_) | ForEach-Object { if ($_ -is [DBNull]) { '<null>' } else { [Convert]::ToString($_, [Globalization.CultureInfo]::InvariantCulture) } }) -join [char]31 } | Sort-Object -CaseSensitive)
                    $hash = [Convert]::ToHexString([Security.Cryptography.SHA256]::HashData([Text.Encoding]::UTF8.GetBytes($rows -join [char]30))).Substring(0, 12)
                    "$($_.Name)=$($rows.Count):$hash"
                }) -join '; '
        }
        finally { $s.Dispose() }
    }
}

Describe 'A seed killed halfway through its load on <Engine> (issue 9, case 2)' -ForEach $Engines {
    BeforeEach {
        if ($Skip) { return }
        $script:p = New-SqbTestTemplateProject -Engine $Engine -Build
        Push-Location -LiteralPath $p.Path
        $csv = [Text.StringBuilder]::new("id,code,amount`n")
        for ($i = 1; $i -le 200000; $i++) { $null = $csv.Append($i).Append(',c').Append($i % 977).Append(',').Append($i % 1000).Append(".25`n") }
        [IO.File]::WriteAllText((Join-Path $p.Path 'seeds/big.csv'), $csv.ToString(), [Text.UTF8Encoding]::new($false))
    }
    AfterEach {
        if ($Skip) { return }
        Stop-SqbTestChild -Child $script:child
        Pop-Location
        Remove-SqbTestProject -Project $script:p
    }

    It 'the killed load is never taken over: the rerun loads all 200,000 rows' -Skip:$Skip {
        $script:child = Start-SqbTestChild -Project $p -Name 'seed-load' -Body $LoggedBuild
        # Kill -9 once 20 of the load's 200 INSERT statements have started: rows of the first batches are committed.
        $null = Wait-SqbTestCondition -Child $child -TimeoutSeconds 120 -Because 'the seed load to be under way' -Condition {
            if ($child.Process.HasExited) { throw "the build exited before it was killed`n$(Get-SqbTestChildOutput -Child $child)" }
            (Test-Path -LiteralPath $child.LogFile) -and @((Get-Content -LiteralPath $child.LogFile) -match '^INSERT \S+\.big__v_[0-9a-f]+__sqb_tmp$').Count -ge 20
        }
        Stop-SqbTestChild -Child $child
        $child.Process.ExitCode | Should -Not -Be 0

        # The damage is real: a half-loaded relation under the temporary name, nothing under the version's name, no view.
        $pending = @(Get-FaultRelations $p $p.PhysicalSchema | Where-Object { $_ -like 'big__v_*__sqb_tmp Table' })
        $pending.Count | Should -Be 1
        $version = $pending[0].Split(' ')[0] -replace '__sqb_tmp$', ''
        $loaded = Get-FaultCount $p "`"$($p.PhysicalSchema)`".`"$($version)__sqb_tmp`""
        $loaded | Should -BeGreaterThan 0
        $loaded | Should -BeLessThan 200000
        Get-SqbTestRelation $p $p.PhysicalSchema $version | Should -BeNullOrEmpty
        Get-SqbTestRelation $p $p.Schema 'big' | Should -BeNullOrEmpty
        (Get-SqbOperation -Type build | Select-Object -First 1).Reason | Should -Be 'interrupted'

        # The documented recovery: run the build again.
        $r = Invoke-SqbBuild -ErrorAction Stop
        $r.Status | Should -Be 'succeeded' -Because (($r.Nodes | Where-Object Error | ForEach-Object { "$($_.Name): $($_.Error)" }) -join '; ')
        ($r.Nodes | Where-Object Name -EQ 'big').Action | Should -Be 'build'
        Get-FaultCount $p "`"$($p.Schema)`".big" | Should -Be 200000
        Invoke-SqbTestSql $p "SELECT SUM(id) FROM `"$($p.Schema)`".big" -Scalar | Should -Be 20000100000
        # The view reads the version built by the rerun, under the version's name; no temporary relation is left.
        Get-SqbTestPhysical $p 'big' | Should -Be "$($p.PhysicalSchema).$version"
        Get-FaultCount $p "`"$($p.PhysicalSchema)`".`"$version`"" | Should -Be 200000
        @(Get-FaultRelations $p $p.PhysicalSchema | Where-Object { $_ -like '*__sqb_tmp *' }) | Should -BeNullOrEmpty
        @(Get-SqbReconcile) | ForEach-Object { "$($_.Kind):$($_.Name)" } | Should -BeNullOrEmpty
        @(Get-SqbLock) | Should -BeNullOrEmpty
    }
}

Describe 'A build refused by another build''s lock on <Engine> (issue 9, case 7)' -ForEach $Engines {
    BeforeEach {
        if ($Skip) { return }
        $script:p = New-SqbTestTemplateProject -Engine $Engine -Build
        Push-Location -LiteralPath $p.Path
        # The holder's build refreshes a table that takes seconds: PostgreSQL sleeps, DuckDB hashes a range.
        $slow = if ($Engine -eq 'postgres') { "WITH pause AS (SELECT pg_sleep(6)) SELECT 1 AS id FROM pause" }
        else { "SELECT COUNT(DISTINCT md5(CAST(i AS VARCHAR))) AS id FROM range(0, 15000000) AS t(i)" }
        Set-SqbTestModel -Project $p -Name 'slow' -Sql "MODEL (materialized table);`n$slow"
        $script:child = $null; $script:ps = $null
    }
    AfterEach {
        if ($Skip) { return }
        Stop-SqbTestChild -Child $script:child
        if ($script:ps) { $script:ps.Stop(); $script:ps.Dispose() }
        Pop-Location
        Remove-SqbTestProject -Project $script:p
    }

    It 'writes no journal row, no FailedOperation, and Get-SqbReconcile | Repair-SqbView succeeds under Stop' -Skip:$Skip {
        $before = @(Get-SqbOperation | ForEach-Object Id)
        if ($Engine -eq 'postgres') {
            # The holder is another process.
            $script:child = Start-SqbTestChild -Project $p -Name 'holder' -Body $LoggedBuild
            $null = Wait-SqbTestChildLog -Child $child -Pattern '^CREATE TABLE \S+__sqb_physical\.slow__v_' -TimeoutSeconds 90
        }
        else {
            # DuckDB admits one process per database file (SPEC §6): the holder is a second runspace of this process.
            $script:ps = [PowerShell]::Create()
            $null = $ps.AddCommand('Import-Module').AddArgument((Get-SqbModuleManifestPath)).AddStatement().
                AddCommand('Invoke-SqbBuild').AddParameter('Path', $p.Path).AddParameter('Confirm', $false)
            $async = $ps.BeginInvoke()
        }
        $held = Wait-SqbTestCondition -TimeoutSeconds 90 -Because 'the holder to take the lock' -Condition { @(Get-SqbLock) | Where-Object Key -EQ 'virtual_env:dev' }
        $holder = $held.OwnerId
        $holder | Should -BeLike 'build:*'

        $e = { Invoke-SqbBuild -ErrorAction Stop } | Should -Throw -PassThru
        Assert-SqbTestError $e -ErrorId 'S014.EnvironmentLocked' -Category ResourceBusy -Target 'virtual_env:dev' `
            -MessageLike "virtual environment 'dev' is locked by $holder (host *" -ActionLike '*Clear-SqbLock*'
        # The refusal wrote nothing to the journal: the only new operation is the holder's, and nothing failed.
        @(Get-SqbOperation | ForEach-Object Id | Where-Object { $_ -notin $before }) | Should -Be @($holder)
        @(Get-SqbOperation -Status Failed) | Should -BeNullOrEmpty
        @(Get-SqbReconcile | Where-Object Kind -EQ 'FailedOperation') | Should -BeNullOrEmpty

        # The holder finishes unharmed.
        if ($Engine -eq 'postgres') {
            (Wait-SqbTestChild -Child $child -TimeoutSeconds 90).Result.Outcome | Should -Be 'finished'
        }
        else {
            $null = $async.AsyncWaitHandle.WaitOne(90000)
            $ps.HadErrors | Should -BeFalse -Because "$($ps.Streams.Error)"
            @($ps.EndInvoke($async))[-1].Status | Should -Be 'succeeded'
        }
        (Get-SqbOperation -Id $holder).Status | Should -Be 'succeeded'
        @(Get-SqbLock) | Should -BeNullOrEmpty
        @(Get-SqbOperation | ForEach-Object Id | Where-Object { $_ -notin $before }) | Should -Be @($holder)

        # With a view damaged, the pipeline the Azure Pipelines default runs under repairs it and fails on nothing.
        Invoke-SqbTestSql $p "DROP VIEW `"$($p.Schema)`".fct_orders" -NonQuery
        @(Get-SqbReconcile | ForEach-Object { "$($_.Kind):$($_.Name)" }) | Should -Be @('MissingView:fct_orders')
        $repaired = & {
            $ErrorActionPreference = 'Stop'
            Get-SqbReconcile | Repair-SqbView -WarningVariable warned -WarningAction SilentlyContinue
            $warned | Should -BeNullOrEmpty
        }
        @($repaired | ForEach-Object { "$($_.Name):$($_.Result)" }) | Should -Be @('fct_orders:repaired')
        @(Get-SqbReconcile) | Should -BeNullOrEmpty
        @(Get-SqbOperation -Status Failed) | Should -BeNullOrEmpty
    }
}

Describe 'An adopt killed between its two moves, then the janitor, on <Engine> (issue 9, case 1)' -ForEach $Engines {
    BeforeEach {
        if ($Skip) { return }
        # A direct project with tables aaa and bbb, built, then switched to virtual mode (state initialized, not adopted).
        $script:p = New-SqbTestTemplateProject -Engine $Engine -Template direct
        foreach ($dir in 'models', 'seeds', 'tests', 'audits') { Remove-Item -LiteralPath (Join-Path $p.Path $dir) -Recurse -Force -ErrorAction Ignore }
        Set-SqbTestModel -Project $p -Folder 'core' -Name 'aaa' -Sql "MODEL (materialized table);`nSELECT 1 AS id, 'a1' AS label UNION ALL SELECT 2, 'a2' UNION ALL SELECT 3, 'a3'"
        Set-SqbTestModel -Project $p -Folder 'core' -Name 'bbb' -Sql "MODEL (materialized table);`nSELECT 10 AS id, 'b10' AS label UNION ALL SELECT 20, 'b20'"
        (Invoke-SqbBuild -Path $p.Path).Status | Should -Be 'succeeded'
        $toml = Join-Path $p.Path 'sqlbuild_project.toml'
        $state = "[targets.dev.state]`nbackend = `"$Engine`"`nschema = `"$($p.StateSchema)`"`nunsuffixed_virtual_env = `"dev`"`n"
        [IO.File]::WriteAllText($toml, [IO.File]::ReadAllText($toml).Replace('virtual_environments = false', 'virtual_environments = true').Replace('[targets.prod]', "$state`n[targets.prod]"))
        $null = Initialize-SqbState -Path $p.Path -Confirm:$false
        Push-Location -LiteralPath $p.Path
        $script:child = $null
    }
    AfterEach {
        if ($Skip) { return }
        Stop-SqbTestChild -Child $script:child
        Pop-Location
        Remove-SqbTestProject -Project $script:p
    }

    It 'the janitor refuses with J001 and removes nothing; adopting again leaves dev.aaa and dev.bbb with their rows' -Skip:$Skip {
        $rows = Get-FaultChecksums $p $p.Schema
        $rows | Should -Match '^aaa=3:[0-9A-F]+; bbb=2:[0-9A-F]+$'
        $script:child = Start-SqbTestChild -Project $p -Name 'adopt' -Environment @{ SQB_TEST_KILL_AT = 'adopt:move:bbb' } `
            -Body "ConvertTo-SqbVirtualEnvironment -AllowCopy -Confirmation 'adopt dev'`nSave-Result @{ Outcome = 'finished' }"
        $killed = Wait-SqbTestChild -Child $child -TimeoutSeconds 120
        $killed.Result | Should -BeNullOrEmpty -Because $killed.Output
        $killed.ExitCode | Should -Not -Be 0

        # aaa is moved (dev.aaa is a view of its physical version), bbb is not: readers see the same rows.
        "$((Get-SqbTestRelation $p $p.Schema 'aaa').Kind)" | Should -Be 'View'
        "$((Get-SqbTestRelation $p $p.Schema 'bbb').Kind)" | Should -Be 'Table'
        $moved = @(Get-FaultRelations $p $p.PhysicalSchema)
        $moved | Should -HaveCount 1
        $moved[0] | Should -BeLike 'aaa__v_* Table'
        Get-FaultChecksums $p $p.Schema | Should -BeExactly $rows
        $adopt = Get-SqbOperation -Type adopt
        $adopt.Status | Should -Be 'failed'
        $adopt.Reason | Should -Be 'interrupted'

        # The janitor refuses while the adopt is unfinished, listing it, and removes nothing.
        $snapshot = Get-SqbTestSnapshot -Project $p
        $e = { Invoke-SqbJanitor -Force -ErrorAction Stop } | Should -Throw -PassThru
        Assert-SqbTestError $e -ErrorId 'J001.UnfinishedOperations' -Category InvalidOperation -ActionLike '*ConvertTo-SqbVirtualEnvironment*' `
            -MessageLike "janitor refuses while an adopt, detach, promote or rollback is unfinished: $($adopt.Id) (dev, interrupted)"
        Get-SqbTestSnapshot -Project $p | Should -BeExactly $snapshot
        Get-FaultChecksums $p $p.Schema | Should -BeExactly $rows

        # The documented recovery: adopt again. It finishes, and the janitor then keeps everything dev reads.
        $retry = ConvertTo-SqbVirtualEnvironment -AllowCopy -Confirmation 'adopt dev'
        $retry.Status | Should -Be 'finalized'
        foreach ($n in 'aaa', 'bbb') { "$((Get-SqbTestRelation $p $p.Schema $n).Kind)" | Should -Be 'View' -Because "$n is adopted" }
        Get-FaultChecksums $p $p.Schema | Should -BeExactly $rows
        @(Invoke-SqbJanitor -Force | Where-Object Kind -EQ 'PhysicalRelation') | Should -BeNullOrEmpty
        Get-FaultChecksums $p $p.Schema | Should -BeExactly $rows
        @(Get-SqbReconcile) | ForEach-Object { "$($_.Kind):$($_.Name)" } | Should -BeNullOrEmpty
        @(Get-SqbLock) | Should -BeNullOrEmpty
    }
}
