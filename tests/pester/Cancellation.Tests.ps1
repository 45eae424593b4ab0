#Requires -Version 7.4
# Ctrl+C (issue 9): PowerShell.Stop() on a build whose model runs a 30-second statement. The stop cancels the
# statement on the server within moments, nothing switches, the lock is released and the journal says
# cancelled. The build runs in a second runspace of this process, exactly as a stopped pipeline would.

BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'SQLBuild.TestHelpers.psm1') -Force
    $script:Engines = Get-SqbTestEngine
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'SQLBuild.TestHelpers.psm1') -Force
    Import-SqbTestModule
}

Describe 'Stopping Invoke-SqbBuild on <Engine>' -ForEach $Engines {

    It 'returns within seconds, switches nothing, releases its lock and journals the build as cancelled' -Skip:$Skip {
        $p = New-SqbTestTemplateProject -Engine $Engine -Build
        try {
            $refsBefore = @(Get-SqbEnvironment -Path $p.Path -Name dev | ForEach-Object { $_.ModelCount })
            $checkpoints = @(Get-SqbCheckpoint -Path $p.Path -Environment dev).Count
            # stg_orders now takes minutes: PostgreSQL sleeps 30 s, DuckDB counts a huge range.
            $file = Join-Path $p.Path 'models/staging/stg_orders.sql'
            $slow = if ($Engine -eq 'postgres') { 'FROM (SELECT pg_sleep(30)) AS sqb_slow, ' } else { 'FROM (SELECT count(*) FROM range(100000000000) AS t(i) WHERE i % 7 = 3) AS sqb_slow, ' }
            $sql = [IO.File]::ReadAllText($file)
            [IO.File]::WriteAllText($file, ([regex]'FROM ').Replace($sql, $slow, 1))

            $ps = [PowerShell]::Create()
            try {
                $null = $ps.AddCommand('Import-Module').AddArgument((Get-SqbModuleManifestPath)).AddStatement().
                    AddCommand('Invoke-SqbBuild').AddParameter('Path', $p.Path).AddParameter('Confirm', $false)
                $async = $ps.BeginInvoke()
                # Wait until the build holds its lock and its slow statement has begun.
                $null = Wait-SqbTestCondition -TimeoutSeconds 60 -Because 'the build to take its lock' -Condition { @(Get-SqbLock -Path $p.Path).Count -eq 1 }
                $holder = (Get-SqbLock -Path $p.Path).OwnerId
                Start-Sleep -Milliseconds 1500
                $clock = [Diagnostics.Stopwatch]::StartNew()
                $ps.Stop()
                # A batch of statements completes its invocation a moment after Stop() returns.
                while (-not $async.IsCompleted -and $clock.Elapsed.TotalSeconds -lt 30) { Start-Sleep -Milliseconds 20 }
                $clock.Stop()
                $clock.Elapsed.TotalSeconds | Should -BeLessThan 5 -Because 'Stop() cancels the running statement instead of waiting 30 s for it'
                $ps.InvocationStateInfo.State | Should -Be 'Stopped'
            }
            finally { $ps.Dispose() }

            @(Get-SqbLock -Path $p.Path) | Should -BeNullOrEmpty -Because 'the stopped build released its lock'
            $op = Get-SqbOperation -Path $p.Path -Id $holder
            $op.Status | Should -Be 'cancelled'
            $op.Events[-1].Action | Should -Be 'cancel'
            @(Get-SqbEnvironment -Path $p.Path -Name dev | ForEach-Object { $_.ModelCount }) | Should -Be $refsBefore
            @(Get-SqbCheckpoint -Path $p.Path -Environment dev).Count | Should -Be $checkpoints -Because 'nothing switched after the stop'
            @(Get-SqbReconcile -Path $p.Path -Environment dev | Where-Object Kind -NE 'FailedOperation') | Should -BeNullOrEmpty
            if ($Engine -eq 'postgres') {
                $null = Wait-SqbTestCondition -TimeoutSeconds 5 -Because 'no statement of the build runs on' -Condition {
                    [long](Invoke-SqbTestSql $p "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'sqlbuild/$holder' AND state = 'active'" -Scalar) -eq 0
                }
            }
        }
        finally { Remove-SqbTestProject $p }
    }
}
