#Requires -Version 7.4
<#
.SYNOPSIS
    The one entry point for building, testing and demonstrating SQLBuild.

.DESCRIPTION
    Build   dotnet publish the module for this machine's runtime identifier and lay it out in
            out/SQLBuild/ as described in build/module-layout.psd1 (with LICENSE, CHANGELOG.md and
            the manifest's ReleaseNotes from the CHANGELOG.md section of its version); then import
            it in a fresh pwsh -NoProfile and print the exported command count.
    Test    Build, start a throwaway PostgreSQL cluster, run the xunit tests (dotnet test) and the
            Pester tests (tests/pester) against the built module, stop the cluster, and print as the
            very last line "N passed, N failed, N skipped" (both runners added up). Exits non-zero
            when a test failed or a runner crashed (a crash counts as one failure).
    Demo    Build; create demo/shop from the direct template, build it, show the results and query a
            mart; then a virtual-environment round trip in demo/vshop (build, change, build pr_1,
            compare, promote, roll back).
    Help    Generate en-US/SQLBuild.dll-Help.xml (MAML) from docs/cmdlets/*.md with
            build/Build-Help.ps1, taking syntax and parameter attributes from the built module when
            out/SQLBuild exists, and copy it into the built module. Build runs it too, so the module
            always has fresh help.
    Bench   Build, start a throwaway PostgreSQL, run every build/bench/*.Bench.ps1 in a fresh
            pwsh -NoProfile (each prints its own figures), stop the cluster, and list which passed.
    Package Build, then pack out/SQLBuild into out/SQLBuild.<version>.nupkg (Compress-PSResource,
            PSResourceGet 1.1 or later): a module package that Save-PSResource/Install-PSResource
            install from a folder or a NuGet feed such as Azure Artifacts.

    Set NO_COLOR=1 for plain output. Set CI=true to make a missing PostgreSQL a failure.

    Each task is one function, Invoke-<Task>Task in build/BuildTasks.psm1, over build/BuildTools.psm1
    (context, output, child processes), build/PostgresCluster.psm1 (the throwaway cluster),
    build/TestRunners.psm1 (the xunit and Pester runs and their counts) and build/ModulePackage.psm1
    (release notes and the .nupkg).

.EXAMPLE
    dotnet tool restore && dotnet tool run pwsh -NoProfile -File ./build.ps1 -Task Test
#>
[CmdletBinding()]
param(
    # Each task is the function Invoke-<Task>Task in build/BuildTasks.psm1.
    [ValidateSet('Build', 'Test', 'Demo', 'Help', 'Bench', 'Package')]
    [string] $Task = 'Build',

    # Runtime identifier to publish for; default: the one this pwsh process runs on.
    [string] $Runtime
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

if ($env:NO_COLOR) { $PSStyle.OutputRendering = 'PlainText' }
$env:DOTNET_NOLOGO = '1'
$env:DOTNET_CLI_TELEMETRY_OPTOUT = '1'
$env:DOTNET_SKIP_FIRST_TIME_EXPERIENCE = '1'

$exitCode = 0
try {
    Import-Module (Join-Path $PSScriptRoot 'build/BuildTools.psm1')
    Import-Module (Join-Path $PSScriptRoot 'build/BuildTasks.psm1')
    $context = New-BuildContext -RepoRoot $PSScriptRoot -Runtime $Runtime
    # A task returns nothing (it throws on failure) or its exit code.
    $exitCode = [int](& "Invoke-${Task}Task" -Context $context)
}
catch {
    # Expected failures (a failed dotnet publish, a failed demo step) are reported in one line;
    # the tool's own output above says why.
    Write-Host "build.ps1 -Task ${Task} failed: $($_.Exception.Message)"
    if ($VerbosePreference -eq 'Continue') { Write-Host $_.ScriptStackTrace }
    $exitCode = 1
}
exit $exitCode
