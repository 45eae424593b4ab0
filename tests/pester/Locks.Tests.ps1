#Requires -Version 7.4
# Locks against real faults (issue 9, SPEC §6): a build killed while the server still runs its statement.

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
