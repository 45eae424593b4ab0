#Requires -Version 7.4
# Locks against real faults (issue 9, SPEC §6): a build killed while the server still runs its statement; a build whose
# lease session a DBA ends, or whose lock is cleared, while it runs; a server that ends idle sessions.

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

    function Set-SlowFctOrders($P, [double] $Seconds) {
        <# fct_orders (a table) gets a column z that takes $Seconds to compute: a new version, built slowly. #>
        $file = Join-Path $P.Path 'models/marts/fct_orders.sql'
        $sql = [IO.File]::ReadAllText($file).Replace('o.status,', "o.status, (SELECT count(*) FROM pg_sleep($Seconds)) AS z,")
        [IO.File]::WriteAllText($file, $sql, [Text.UTF8Encoding]::new($false))
    }

    function Get-ColumnCount($P, [string] $Schema, [string] $Table, [string] $Column) {
        [int](Invoke-SqbTestSql $P -Scalar -Sql 'SELECT count(*) FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 AND column_name = $3' -Parameters $Schema, $Table, $Column)
    }

    # The child's body: a build whose result status and error ids (written or thrown) are saved.
    $script:ReportedBuild = @'
$r = $null
# A thrown error also leaves its exception (not a record) in the error variable: the records are what was reported.
try { $r = Invoke-SqbBuild -ErrorAction SilentlyContinue -ErrorVariable ev 3>$null } catch { $ev = @($ev) + @($_) }
$ev = @($ev | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] })
Save-Result ([ordered]@{ Outcome = 'finished'; Status = "$($r.Status)"; Errors = @($ev | ForEach-Object { "$($_.FullyQualifiedErrorId)" }); Messages = @($ev | ForEach-Object { "$_" }) })
'@
}

Describe 'A live build whose lease is lost on <Engine> (SPEC 6: a holder that cannot prove its lease cancels its operation)' -ForEach $Postgres {
    BeforeEach {
        $script:p = New-SqbTestTemplateProject -Engine $Engine -Build
        Set-SlowFctOrders $p 25   # longer than one renewal period (15 s)
        $script:child = Start-SqbTestChild -Project $p -Name 'lease-lost' -Body $ReportedBuild
        # The lock row names the operation; its sessions carry application_name sqlbuild/<operation id>.
        $script:lock = Wait-SqbTestCondition -Child $child -Because 'the build to take virtual_env:dev' -Condition {
            Get-SqbLock -Path $p.Path -Key 'virtual_env:dev' -ErrorAction SilentlyContinue | Where-Object OperationId
        }
        $script:app = "sqlbuild/$($lock.OperationId)"
        $null = Wait-SqbTestCondition -Child $child -Because 'the slow CREATE TABLE to run' -Condition {
            [int](Invoke-SqbTestSql $p -Scalar -Sql "SELECT count(*) FROM pg_stat_activity WHERE application_name = `$1 AND state = 'active' AND query LIKE '%pg_sleep%'" -Parameters $app)
        }
    }
    AfterEach {
        Stop-SqbTestChild -Child $script:child
        Remove-SqbTestProject -Project $script:p
    }

    It 'does not switch refs and views after its lease session was terminated, and leaves no lock row' {
        # A DBA (or a network blip, or a pooler restart) ends the idle session that holds the advisory lease lock.
        $ended = @(Invoke-SqbTestSql $p -Sql "SELECT pg_terminate_backend(a.pid) FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid AND l.locktype = 'advisory' WHERE a.application_name = `$1 AND a.state <> 'active'" -Parameters $app)
        $ended.Count | Should -BeGreaterThan 0 -Because 'the lease session holds a session advisory lock (SPEC 6)'

        $done = Wait-SqbTestChild -Child $child -TimeoutSeconds 180
        $done.Result.Status | Should -Not -Be 'succeeded' -Because "a holder that cannot renew its lease must cancel (L001), not switch`n$($done.Output)"
        @($done.Result.Errors) -match '^L001' | Should -Not -BeNullOrEmpty -Because $done.Output
        Get-ColumnCount $p $p.Schema 'fct_orders' 'z' | Should -Be 0 -Because 'nothing may switch after the lease is lost'
        @(Get-SqbLock -Path $p.Path) | Should -BeNullOrEmpty -Because 'the holder deletes its own row through a fresh session'
    }

    It 'reports L001 (lease lost), not the broken statement, when Clear-SqbLock -Force ends its sessions' {
        $cleared = Clear-SqbLock -Path $p.Path -Key 'virtual_env:dev' -Force
        $cleared.OwnerId | Should -Be $lock.OwnerId

        $done = Wait-SqbTestChild -Child $child -TimeoutSeconds 180
        $done.Result.Errors | Should -HaveCount 1 -Because ($done.Result.Messages -join "; ")
        $done.Result.Errors[0] | Should -Match '^L001\.LeaseLost' -Because 'about_SQLBuild_Locks: the holder fails with L001'
        Get-ColumnCount $p $p.Schema 'fct_orders' 'z' | Should -Be 0
        @(Get-SqbLock -Path $p.Path) | Should -BeNullOrEmpty
    }
}

Describe 'A server with idle_session_timeout on <Engine>' -ForEach $Postgres {
    BeforeEach {
        $script:p = New-SqbTestTemplateProject -Engine $Engine -Build
        # The same server and credentials, with a common hardening setting: sessions idle for 3 s are ended.
        $toml = Join-Path $p.Path 'sqlbuild_project.toml'
        $cs = 'connection_string = "Host=${ENV:SQB_TEST_PG_HOST};Port=' + [int]$env:SQB_TEST_PG_PORT +
            ';Username=${ENV:SQB_TEST_PG_USER};Password=${ENV:SQB_TEST_PG_PASSWORD};Database=${ENV:SQB_TEST_PG_DATABASE};Options=-c idle_session_timeout=3000"'
        $text = [regex]::Replace([IO.File]::ReadAllText($toml), '(?ms)^\[connections\.local\]\n.*?(?=^\[)', "[connections.local]`n$cs`n`n")
        [IO.File]::WriteAllText($toml, $text, [Text.UTF8Encoding]::new($false))
        Set-SlowFctOrders $p 6   # one model that runs longer than the timeout
    }
    AfterEach { Remove-SqbTestProject -Project $script:p }

    It 'builds a model that runs longer than the timeout, journals it and releases its lock' {
        # Our idle sessions (the lease, the journal, pooled ones) set idle_session_timeout = 0 on PostgreSQL 14+.
        { $script:result = Invoke-SqbBuild -Path $p.Path -ErrorAction Stop 3>$null } | Should -Not -Throw
        $script:result.Status | Should -Be 'succeeded'
        Get-ColumnCount $p $p.Schema 'fct_orders' 'z' | Should -Be 1
        (Get-SqbOperation -Path $p.Path -Id $script:result.OperationId).RecordedStatus | Should -Be 'succeeded'
        @(Get-SqbLock -Path $p.Path) | Should -BeNullOrEmpty
    }
}

Describe 'A build killed while its statement still runs on <Engine> (issue 9, case 3)' -ForEach $Postgres {
    BeforeEach {
        $script:p = New-SqbTestTemplateProject -Engine $Engine -Build
        Push-Location -LiteralPath $p.Path
        # The model sleeps as long as a control row says, so the retry builds the very same version quickly.
        $ctl = "`"$($p.Schema)_ctl`".`"sleep`""
        Invoke-SqbTestSql $p "CREATE SCHEMA `"$($p.Schema)_ctl`"; CREATE TABLE $ctl (seconds float); INSERT INTO $ctl VALUES (60)" -NonQuery
        Set-SqbTestModel -Project $p -Name 'slow' -Sql "MODEL (materialized table);`nSELECT 7 AS id FROM (SELECT pg_sleep((SELECT seconds FROM $ctl))) AS pause"
        $script:child = Start-SqbTestChild -Project $p -Name 'killed-build' -Body $LoggedBuild
        $null = Wait-SqbTestChildLog -Child $child -Pattern '^CREATE TABLE \S+__sqb_physical\.slow__v_'
        Start-Sleep -Milliseconds 300   # the CREATE TABLE ... AS SELECT is running on the server
        Stop-SqbTestChild -Child $child   # kill -9: the server runs the statement on
        Invoke-SqbTestSql $p "UPDATE $ctl SET seconds = 0" -NonQuery
    }
    AfterEach {
        Stop-SqbTestChild -Child $script:child
        Pop-Location
        Remove-SqbTestProject -Project $script:p
    }

    It 'the next build, run at once, succeeds with the right data' {
        $r = Invoke-SqbBuild -ErrorAction Stop
        $r.Status | Should -Be 'succeeded' -Because (($r.Nodes | Where-Object Error | ForEach-Object { "$($_.Name): $($_.Error)" }) -join '; ')
        Get-SqbTestReaderValue -Project $p -Model slow -Column id -Where '1 = 1' | Should -Be 7
        @(Get-SqbLock) | Should -BeNullOrEmpty
    }

    It 'Clear-SqbLock -Force at once, then the next build, succeeds with the right data' {
        $cleared = Clear-SqbLock -Key 'virtual_env:dev' -Force
        $cleared.OwnerPid | Should -Be $child.Id
        $r = Invoke-SqbBuild -ErrorAction Stop
        $r.Status | Should -Be 'succeeded' -Because (($r.Nodes | Where-Object Error | ForEach-Object { "$($_.Name): $($_.Error)" }) -join '; ')
        Get-SqbTestReaderValue -Project $p -Model slow -Column id -Where '1 = 1' | Should -Be 7
        @(Get-SqbLock) | Should -BeNullOrEmpty
    }
}
