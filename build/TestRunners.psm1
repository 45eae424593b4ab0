<#
    The two test runners of the Test task and their counts: xunit (dotnet test, read back from its
    TRX file) and Pester (build/Invoke-PesterRun.ps1 in a fresh pwsh, read back from its JSON
    summary), each as one result (passed, failed, skipped, crashed); and the closing summary whose
    last line is "N passed, N failed, N skipped".
#>
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

Import-Module (Join-Path $PSScriptRoot 'BuildTools.psm1')

# Reads passed/failed/skipped from a TRX file; $null when it is missing or unreadable. Counts the
# UnitTestResult outcomes: the <Counters> element leaves skipped tests out (notExecuted="0").
function Read-TrxCounters([string] $Path) {
    if (-not (Test-Path -LiteralPath $Path)) { return $null }
    try {
        [xml] $trx = Get-Content -LiteralPath $Path -Raw
        if (-not $trx.GetElementsByTagName('ResultSummary').Count) { return $null }
        $counts = [pscustomobject]@{ Passed = 0; Failed = 0; Skipped = 0; Total = 0 }
        foreach ($result in $trx.GetElementsByTagName('UnitTestResult')) {
            $counts.Total++
            switch ($result.GetAttribute('outcome')) {
                'Passed' { $counts.Passed++ }
                { $_ -in 'Failed', 'Error', 'Timeout', 'Aborted' } { $counts.Failed++ }
                default { $counts.Skipped++ }   # NotExecuted, Inconclusive, ...
            }
        }
        return $counts
    }
    catch {
        Write-Warning "Could not read '$Path': $_"
        return $null
    }
}

# One runner's counts; Crashed (counted as one failure) when it could not report them.
function New-RunnerResult([string] $Name) {
    [pscustomobject]@{ Name = $Name; Passed = 0; Failed = 0; Skipped = 0; Crashed = $false; Note = ''; Elapsed = [TimeSpan]::Zero }
}

# dotnet test tests/SQLBuild.Core.Tests, counted from its TRX file.
function Invoke-XunitTests($Context, [string] $ResultsDir) {
    $r = New-RunnerResult 'xunit'
    $watch = [Diagnostics.Stopwatch]::StartNew()
    try {
        $project = Join-Path $Context.RepoRoot 'tests/SQLBuild.Core.Tests'
        $trxName = 'xunit.trx'
        Write-Step 'xunit: dotnet test tests/SQLBuild.Core.Tests'
        $code = Invoke-Native dotnet (@('test', $project, '-c', 'Release', '--nologo',
                '--logger', "trx;LogFileName=$trxName", '--logger', 'console;verbosity=normal',
                '--results-directory', $ResultsDir) + (Get-DotnetLogArgs)) -AllowFailure
        $counts = Read-TrxCounters (Join-Path $ResultsDir $trxName)
        if ($counts) {
            $r.Passed = $counts.Passed; $r.Failed = $counts.Failed; $r.Skipped = $counts.Skipped
            if ($counts.Total -eq 0) { $r.Note = 'no tests found' }
            if ($code -ne 0 -and $counts.Failed -eq 0) {
                $r.Crashed = $true; $r.Note = "dotnet test exited with $code but reported no failed test"
            }
        }
        else {
            $r.Crashed = $true
            $r.Note = "no TRX results (dotnet test exited with ${code}: build error or crashed test host)"
        }
    }
    catch {
        $r.Crashed = $true; $r.Note = "$_"
    }
    $r.Elapsed = $watch.Elapsed
    return $r
}

# tests/pester against the built module in a fresh pwsh, counted from its JSON summary.
function Invoke-PesterTests($Context, [string] $ResultsDir, [string] $PesterManifest) {
    $r = New-RunnerResult 'pester'
    $watch = [Diagnostics.Stopwatch]::StartNew()
    try {
        $json = Join-Path $ResultsDir 'pester.json'
        $xml = Join-Path $ResultsDir 'pester.xml'
        Remove-Item -LiteralPath $json, $xml -Force -ErrorAction SilentlyContinue
        Write-Step "Pester $($Context.PesterVersion): tests/pester (child pwsh -NoProfile)"
        $code = Invoke-ChildPwsh -AllowFailure -ArgumentList @('-File', (Join-Path $Context.RepoRoot 'build/Invoke-PesterRun.ps1'),
            '-PesterManifest', $PesterManifest, '-TestPath', (Join-Path $Context.RepoRoot 'tests/pester'),
            '-ResultXml', $xml, '-SummaryJson', $json)
        if (Test-Path -LiteralPath $json) {
            $s = Get-Content -LiteralPath $json -Raw | ConvertFrom-Json
            $r.Passed = [int]$s.Passed; $r.Failed = [int]$s.Failed; $r.Skipped = [int]$s.Skipped
            if ([int]$s.Total -eq 0) { $r.Note = 'no tests found' }
            if ([int]$s.FailedContainers -gt 0) { $r.Note = "$($s.FailedContainers) test file(s) failed to run" }
            if ($code -ne 0) { $r.Crashed = $true; $r.Note = "pester run exited with $code" }
        }
        else {
            $r.Crashed = $true; $r.Note = "no result summary (pester run exited with $code)"
        }
    }
    catch {
        $r.Crashed = $true; $r.Note = "$_"
    }
    $r.Elapsed = $watch.Elapsed
    return $r
}

# Prints each runner's counts, the notes and problems, and as the very last line
# "N passed, N failed, N skipped" (a crashed runner and each problem count as one failure).
# Returns the exit code: 1 when anything failed, else 0.
function Write-TestSummary {
    param(
        [System.Collections.Generic.List[object]] $Results,
        [System.Collections.Generic.List[string]] $Problems,
        [System.Collections.Generic.List[string]] $Notes,
        [TimeSpan] $Elapsed,
        [string] $ResultsDir
    )
    Write-Host ''
    Write-Host "Test results ($(Format-Elapsed $Elapsed); files in $ResultsDir):"
    foreach ($r in $Results) {
        $line = '  {0,-7} {1} passed, {2} failed, {3} skipped ({4})' -f $r.Name, $r.Passed, $r.Failed, $r.Skipped, (Format-Elapsed $r.Elapsed)
        if ($r.Crashed) { $line += " -- CRASHED, counted as 1 failed: $($r.Note)" }
        elseif ($r.Note) { $line += " -- $($r.Note)" }
        Write-Host $line
    }
    foreach ($n in $Notes) { Write-Host "  WARNING: $n" }
    foreach ($p in $Problems) { Write-Host "  problem: $p (counted as 1 failed)" }

    $passed = ($Results | Measure-Object -Property Passed -Sum).Sum
    $failed = ($Results | Measure-Object -Property Failed -Sum).Sum + @($Results | Where-Object Crashed).Count + $Problems.Count
    $skipped = ($Results | Measure-Object -Property Skipped -Sum).Sum
    Write-Host ('{0} passed, {1} failed, {2} skipped' -f [int]$passed, [int]$failed, [int]$skipped)
    return ($failed -gt 0) ? 1 : 0
}

Export-ModuleMember -Function New-RunnerResult, Invoke-XunitTests, Invoke-PesterTests, Write-TestSummary
