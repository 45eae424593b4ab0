<#
.SYNOPSIS
    Runs Pester over the given path in this (child) PowerShell process and writes the counts to a
    JSON file and the results to an NUnit XML file. build.ps1 -Task Test starts it in a fresh
    `pwsh -NoProfile`, so the module under test and Pester never load into the build script's session.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $PesterManifest,
    [Parameter(Mandatory)] [string[]] $TestPath,
    [Parameter(Mandatory)] [string] $ResultXml,
    [Parameter(Mandatory)] [string] $SummaryJson
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
if ($env:NO_COLOR) { $PSStyle.OutputRendering = 'PlainText' }

Import-Module -Name $PesterManifest -Force -ErrorAction Stop

$config = New-PesterConfiguration
$config.Run.Path = $TestPath
$config.Run.PassThru = $true
$config.Run.Exit = $false
$config.Output.Verbosity = 'Detailed'
if ($env:NO_COLOR) { $config.Output.RenderMode = 'Plaintext' }
# The NUnit report is written below with Export-NUnitReport instead of TestResult.Enabled: when
# the report fails (Pester 5.7.1 throws on a control character in a failure message), Invoke-Pester
# throws from its End step and the counts are lost with it.
$config.TestResult.Enabled = $false

# The test files choose their own strict mode; this script's must not leak into them.
Set-StrictMode -Off
$result = Invoke-Pester -Configuration $config
Set-StrictMode -Version Latest

# Pester does not count a file that fails to load (FailedContainers) or a failing block without
# tests as a failed test; count them here so that they fail the run.
$failed = $result.FailedCount + $result.FailedContainersCount
if ($result.FailedCount -eq 0) { $failed += $result.FailedBlocksCount }

[ordered]@{
    Result           = $result.Result
    Total            = $result.TotalCount
    Passed           = $result.PassedCount
    Failed           = $failed
    Skipped          = $result.SkippedCount + $result.InconclusiveCount
    NotRun           = $result.NotRunCount
    FailedContainers = $result.FailedContainersCount
    FailedBlocks     = $result.FailedBlocksCount
    Duration         = $result.Duration.TotalSeconds
} | ConvertTo-Json | Set-Content -LiteralPath $SummaryJson -Encoding utf8

try {
    $result | Export-NUnitReport -Path $ResultXml
}
catch {
    Write-Warning "Could not write the NUnit report '$ResultXml': $_"
}
