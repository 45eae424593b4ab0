<#
    The tasks of build.ps1, one function each: Invoke-<Task>Task takes the build context
    (New-BuildContext) and either returns nothing (success; a failure throws) or returns the
    task's exit code. build.ps1 -Task <Task> calls Invoke-<Task>Task, so a new task is a new
    function here (and its name in build.ps1's -Task ValidateSet and help).
#>
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

Import-Module (Join-Path $PSScriptRoot 'BuildTools.psm1')
Import-Module (Join-Path $PSScriptRoot 'PostgresCluster.psm1')
Import-Module (Join-Path $PSScriptRoot 'TestRunners.psm1')
Import-Module (Join-Path $PSScriptRoot 'ModulePackage.psm1')

#region Build -----------------------------------------------------------------------------------

# dotnet publish for the runtime identifier, the module laid out as build/module-layout.psd1 says,
# with its release notes from the changelog, imported once in a fresh pwsh, and its help generated.
function Invoke-BuildTask($Context) {
    $watch = [Diagnostics.Stopwatch]::StartNew()
    $rid = Get-RuntimeId $Context.Runtime
    $publishDir = Join-Path $Context.RepoRoot $Context.Layout.OutputRoot '.publish' $rid
    Write-Step "Build: dotnet publish $($Context.Layout.Project) ($($Context.Layout.Configuration), $rid)"
    if (Test-Path -LiteralPath $publishDir) { Remove-Item -LiteralPath $publishDir -Recurse -Force }
    $null = Invoke-Native dotnet (@('publish', (Join-Path $Context.RepoRoot $Context.Layout.Project), '-c', $Context.Layout.Configuration,
            '-r', $rid, '--self-contained', 'false', '-o', $publishDir, '--nologo') + (Get-DotnetLogArgs))

    Write-Step "Build: laying out $($Context.ModuleDir)"
    if (Test-Path -LiteralPath $Context.ModuleDir) { Remove-Item -LiteralPath $Context.ModuleDir -Recurse -Force }
    $depDir = Join-Path $Context.ModuleDir $Context.Layout.DependencyFolder
    $null = New-Item -ItemType Directory -Path $depDir -Force

    $ridChain = Get-RuntimeIdChain $rid
    $publishRoot = (Resolve-Path -LiteralPath $publishDir).Path
    foreach ($file in Get-ChildItem -LiteralPath $publishRoot -File -Recurse) {
        $relative = [IO.Path]::GetRelativePath($publishRoot, $file.FullName) -replace '\\', '/'
        if (@($Context.Layout.Exclude | Where-Object { $file.Name -like $_ }).Count -gt 0) { continue }
        if ($relative -in $Context.Layout.RootAssemblies) {
            Copy-Item -LiteralPath $file.FullName -Destination $Context.ModuleDir
            continue
        }
        if ($relative -like 'runtimes/*') {
            # Publish for a RID normally flattens these already; keep only this RID's assets, flattened.
            $parts = $relative -split '/'
            if ($parts.Count -ge 3 -and $parts[1] -in $ridChain -and $parts[2] -in 'native', 'lib') {
                Copy-Item -LiteralPath $file.FullName -Destination (Join-Path $depDir $file.Name) -Force
            }
            continue
        }
        $target = Join-Path $depDir $relative
        $null = New-Item -ItemType Directory -Path (Split-Path -Parent $target) -Force
        Copy-Item -LiteralPath $file.FullName -Destination $target
    }

    foreach ($entry in $Context.Layout.RootFiles) {
        $source = Join-Path $Context.RepoRoot $entry.Source
        if (Test-Path -LiteralPath $source) { Copy-Item -LiteralPath $source -Destination $Context.ModuleDir }
        elseif ($entry.Required) { throw "Required module file '$($entry.Source)' is missing." }
    }
    foreach ($folder in $Context.Layout.RootFolders) {
        $source = Join-Path $Context.RepoRoot $folder
        if (Test-Path -LiteralPath $source) { Copy-Item -LiteralPath $source -Destination $Context.ModuleDir -Recurse }
    }
    Remove-Item -LiteralPath (Split-Path -Parent $publishDir) -Recurse -Force
    $version = (Import-PowerShellDataFile -LiteralPath $Context.ModuleManifest).ModuleVersion
    $notes = Get-ChangelogSection -Path (Join-Path $Context.RepoRoot $Context.Layout.ReleaseNotesFrom) -Version $version
    Set-ManifestReleaseNotes -ManifestPath $Context.ModuleManifest -ReleaseNotes $notes

    foreach ($required in @($Context.Layout.RootAssemblies[0], (Join-Path $Context.Layout.DependencyFolder 'SQLBuild.Core.dll'))) {
        if (-not (Test-Path -LiteralPath (Join-Path $Context.ModuleDir $required))) { throw "Module layout is incomplete: '$required' is missing." }
    }

    Write-Step 'Build: importing the module in a fresh pwsh -NoProfile'
    $check = @'
$ErrorActionPreference = 'Stop'
$m = Import-Module -Name '{0}' -PassThru
$expected = @((Import-PowerShellDataFile -LiteralPath '{0}').CmdletsToExport).Count
"Imported {{0}} {{1}}: {{2}} command(s) exported ({{3}} listed in the manifest)." -f $m.Name, $m.Version, @(Get-Command -Module $m.Name).Count, $expected
'@ -f ($Context.ModuleManifest -replace "'", "''")
    $null = Invoke-ChildPwsh -ArgumentList @('-Command', $check)

    Invoke-HelpTask $Context -FromModule
    $watch.Stop()
    Write-Step "Build: done in $(Format-Elapsed $watch.Elapsed) -> $($Context.ModuleDir)"
}

#endregion
#region Package ---------------------------------------------------------------------------------

# Build, then pack the built module into <OutputRoot>/<ModuleName>.<ModuleVersion>.nupkg, a module
# package that Save-PSResource/Install-PSResource install from a folder or a NuGet feed.
function Invoke-PackageTask($Context) {
    Invoke-BuildTask $Context
    Write-Step "Package: $($Context.ModuleDir) -> module package (Compress-PSResource)"
    $package = New-ModulePackage -ModuleDir $Context.ModuleDir -DestinationPath (Join-Path $Context.RepoRoot $Context.Layout.OutputRoot)
    Write-Step "Package: done -> $($package.FullName) ($([Math]::Round($package.Length / 1MB, 1)) MB)"
}

#endregion
#region Help ------------------------------------------------------------------------------------

# docs/cmdlets/*.md -> en-US/SQLBuild.dll-Help.xml in the repository and in the built module. The
# generator runs in a child pwsh because it imports the built module for the cmdlet metadata.
function Invoke-HelpTask($Context, [switch] $FromModule) {
    $docs = Join-Path $Context.RepoRoot 'docs' 'cmdlets'
    $name = "$($Context.Layout.ModuleName).dll-Help.xml"
    $outputs = @(Join-Path $Context.RepoRoot 'en-US' $name)
    $arguments = @('-File', (Join-Path $Context.RepoRoot 'build/Build-Help.ps1'), '-DocsPath', $docs)
    if ($FromModule -or (Test-Path -LiteralPath $Context.ModuleManifest)) {
        $outputs += Join-Path $Context.ModuleDir 'en-US' $name
        $arguments += @('-ModuleManifest', $Context.ModuleManifest)
        Write-Step "Help: docs/cmdlets/*.md + the cmdlet metadata of $($Context.ModuleDir) -> MAML"
    }
    else {
        Write-Step 'Help: docs/cmdlets/*.md -> MAML (module not built: syntax from the markdown)'
    }
    $null = Invoke-ChildPwsh -ArgumentList ($arguments + @('-OutputPath', ($outputs -join ',')))
}

#endregion
#region Test ------------------------------------------------------------------------------------

# Build, a throwaway PostgreSQL, xunit, Pester; the cluster is stopped however far it got. Returns 1
# when a test failed or a runner crashed; the very last line is "N passed, N failed, N skipped".
function Invoke-TestTask($Context) {
    $watch = [Diagnostics.Stopwatch]::StartNew()
    $results = [System.Collections.Generic.List[object]]::new()
    $problems = [System.Collections.Generic.List[string]]::new()
    $notes = [System.Collections.Generic.List[string]]::new()
    $resultsDir = Join-Path $Context.RepoRoot $Context.Layout.OutputRoot 'test-results'
    if (Test-Path -LiteralPath $resultsDir) { Remove-Item -LiteralPath $resultsDir -Recurse -Force }
    $null = New-Item -ItemType Directory -Path $resultsDir -Force

    $pg = $null
    try {
        # (a) tools: pwsh is running already; Pester comes from the NuGet cache.
        $pester = $null
        try { $pester = Get-PesterManifest $Context } catch { $problems.Add("Pester unavailable: $_") }

        # (d, first half) the module under test; Pester needs it, xunit does not.
        $built = $false
        try { Invoke-BuildTask $Context; $built = $true } catch { $problems.Add("module build failed: $_") ; Write-Host "ERROR: $_" }

        # (b) a throwaway PostgreSQL cluster.
        $pg = Start-ThrowawayPostgres -Problems $problems -Notes $notes -Purpose 'the PostgreSQL tests'

        # (c) xunit
        $results.Add((Invoke-XunitTests $Context $resultsDir))

        # (d) Pester
        if ($built -and $pester) {
            $results.Add((Invoke-PesterTests $Context $resultsDir $pester))
        }
        else {
            $skippedRunner = New-RunnerResult 'pester'
            $skippedRunner.Crashed = $true
            $skippedRunner.Note = 'not run (module build or Pester restore failed)'
            $results.Add($skippedRunner)
        }
    }
    catch {
        $problems.Add("test task error: $_")
        Write-Host "ERROR: $_"
    }
    finally {
        # However far the start got: stop the cluster and delete its folder.
        Stop-ThrowawayPostgres $pg
    }

    $watch.Stop()
    Write-TestSummary -Results $results -Problems $problems -Notes $notes -Elapsed $watch.Elapsed -ResultsDir $resultsDir
}

#endregion
#region Bench -----------------------------------------------------------------------------------

# Every build/bench/*.Bench.ps1, each in a fresh `pwsh -NoProfile` against the built module, with a
# throwaway PostgreSQL (SQB_TEST_PG_*) as in the Test task. A bench script takes -ModuleManifest and
# prints its own results; a non-zero exit code marks it failed. Virtual.Bench.ps1 runs 100 and 1,000
# models; SQB_BENCH_LARGE=1 (inherited by the child) adds 10,000, which takes several minutes and a
# PostgreSQL whose max_locks_per_transaction holds one switch of 10,000 views (the bench says so).
function Invoke-BenchTask($Context) {
    $watch = [Diagnostics.Stopwatch]::StartNew()
    $benchDir = Join-Path $Context.RepoRoot 'build' 'bench'
    $benches = @(Get-ChildItem -Path (Join-Path $benchDir '*.Bench.ps1') -File -ErrorAction SilentlyContinue | Sort-Object Name)
    if ($benches.Count -eq 0) {
        Write-Host "Bench: no build/bench/*.Bench.ps1 found."
        return 1
    }
    Invoke-BuildTask $Context
    $problems = [System.Collections.Generic.List[string]]::new()
    $notes = [System.Collections.Generic.List[string]]::new()
    $results = [System.Collections.Generic.List[object]]::new()
    $pg = $null
    try {
        $pg = Start-ThrowawayPostgres -Problems $problems -Notes $notes -Purpose 'the PostgreSQL benchmarks'
        foreach ($bench in $benches) {
            Write-Step "Bench: $($bench.Name) (child pwsh -NoProfile)"
            $benchWatch = [Diagnostics.Stopwatch]::StartNew()
            $code = Invoke-ChildPwsh -AllowFailure -ArgumentList @('-File', $bench.FullName, '-ModuleManifest', $Context.ModuleManifest)
            $results.Add([pscustomobject]@{ Name = $bench.Name; ExitCode = $code; Elapsed = $benchWatch.Elapsed })
        }
    }
    finally {
        Stop-ThrowawayPostgres $pg
    }
    $watch.Stop()
    Write-Host ''
    Write-Host "Bench results ($(Format-Elapsed $watch.Elapsed)):"
    foreach ($r in $results) {
        Write-Host ('  {0,-32} {1,-6} {2}' -f $r.Name, ($r.ExitCode -eq 0 ? 'ok' : "FAILED (exit $($r.ExitCode))"), (Format-Elapsed $r.Elapsed))
    }
    foreach ($n in $notes) { Write-Host "  WARNING: $n" }
    foreach ($p in $problems) { Write-Host "  problem: $p" }
    $failed = @($results | Where-Object ExitCode -NE 0).Count + $problems.Count
    return ($failed -gt 0) ? 1 : 0
}

#endregion
#region Demo ------------------------------------------------------------------------------------

# Build, then build/Invoke-Demo.ps1 in a fresh pwsh on a new demo/ folder.
function Invoke-DemoTask($Context) {
    Invoke-BuildTask $Context
    $demo = Join-Path $Context.RepoRoot 'demo'
    if (Test-Path -LiteralPath $demo) {
        Write-Step 'Demo: removing the previous demo/'
        Remove-Item -LiteralPath $demo -Recurse -Force
    }
    Write-Step 'Demo: direct build and a virtual-environment round trip (child pwsh -NoProfile)'
    $null = Invoke-ChildPwsh -ArgumentList @('-File', (Join-Path $Context.RepoRoot 'build/Invoke-Demo.ps1'),
        '-ModuleManifest', $Context.ModuleManifest, '-RepoRoot', $Context.RepoRoot)
}

#endregion

Export-ModuleMember -Function Invoke-*Task
