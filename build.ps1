#Requires -Version 7.4
<#
.SYNOPSIS
    The one entry point for building, testing and demonstrating SQLBuild.

.DESCRIPTION
    Build  dotnet publish the module for this machine's runtime identifier and lay it out in
           out/SQLBuild/ as described in build/module-layout.psd1; then import it in a fresh
           pwsh -NoProfile and print the exported command count.
    Test   Build, start a throwaway PostgreSQL cluster, run the xunit tests (dotnet test) and the
           Pester tests (tests/pester) against the built module, stop the cluster, and print as the
           very last line "N passed, N failed, N skipped" (both runners added up). Exits non-zero
           when a test failed or a runner crashed (a crash counts as one failure).
    Demo   Build; create demo/shop from the direct template, build it, show the results and query a
           mart; then a virtual-environment round trip in demo/vshop (build, change, build pr_1,
           compare, promote, roll back).
    Help   Generate en-US/SQLBuild.dll-Help.xml (MAML) from docs/cmdlets/*.md with build/Build-Help.ps1,
           taking syntax and parameter attributes from the built module when out/SQLBuild exists, and
           copy it into the built module. Build runs it too, so the module always has fresh help.
    Bench  Build, start a throwaway PostgreSQL, run every build/bench/*.Bench.ps1 in a fresh
           pwsh -NoProfile (each prints its own figures), stop the cluster, and list which passed.

    Set NO_COLOR=1 for plain output. Set CI=true to make a missing PostgreSQL a failure.

.EXAMPLE
    dotnet tool restore && dotnet tool run pwsh -NoProfile -File ./build.ps1 -Task Test
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Demo', 'Help', 'Bench')]
    [string] $Task = 'Build',

    # Runtime identifier to publish for; default: the one this pwsh process runs on.
    [string] $Runtime
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

$script:RepoRoot = $PSScriptRoot
$script:NoColor = [bool]$env:NO_COLOR
if ($script:NoColor) { $PSStyle.OutputRendering = 'PlainText' }
$env:DOTNET_NOLOGO = '1'
$env:DOTNET_CLI_TELEMETRY_OPTOUT = '1'
$env:DOTNET_SKIP_FIRST_TIME_EXPERIENCE = '1'

$script:Layout = Import-PowerShellDataFile -LiteralPath (Join-Path $RepoRoot 'build/module-layout.psd1')
$script:ModuleDir = Join-Path $RepoRoot $Layout.OutputRoot $Layout.ModuleName
$script:ModuleManifest = Join-Path $ModuleDir "$($Layout.ModuleName).psd1"
$script:PesterVersion = '5.7.1'

#region helpers ---------------------------------------------------------------------------------

function Write-Step([string] $Message) {
    if ($script:NoColor) { Write-Host "==> $Message" }
    else { Write-Host "==> $Message" -ForegroundColor Cyan }
}

function Write-Loud([string] $Message) {
    $line = '!' * 78
    if ($script:NoColor) { Write-Host "$line`n!! $Message`n$line" }
    else { Write-Host "$line`n!! $Message`n$line" -ForegroundColor Yellow }
}

function Test-Truthy([string] $Value) {
    -not [string]::IsNullOrWhiteSpace($Value) -and $Value.Trim() -notin @('0', 'false', 'no', 'off')
}

# Runs a native command; throws on a non-zero exit code unless -AllowFailure. Its output goes to
# the host (never into the caller's pipeline); -Capture holds it back and shows it only on failure.
function Invoke-Native {
    param(
        [Parameter(Mandatory)] [string] $FilePath,
        [string[]] $ArgumentList = @(),
        [switch] $AllowFailure,
        [switch] $Quiet,
        [switch] $Capture
    )
    $display = "$FilePath $($ArgumentList -join ' ')"
    if (-not $Quiet) { Write-Host "   > $display" }
    if ($Capture) {
        $output = & $FilePath @ArgumentList 2>&1 | ForEach-Object { "$_" }
        $code = $LASTEXITCODE
        if ($code -ne 0) { $output | Out-Host }
    }
    else {
        & $FilePath @ArgumentList | Out-Host
        $code = $LASTEXITCODE
    }
    if ($code -ne 0 -and -not $AllowFailure) { throw "'$display' exited with code $code." }
    return $code
}

# The dotnet options that keep MSBuild output plain when NO_COLOR is set.
function Get-DotnetLogArgs {
    if ($script:NoColor) { @('-tl:off', '-clp:DisableConsoleColor') } else { @() }
}

function Get-RuntimeId {
    if ($Runtime) { return $Runtime }
    $arch = switch ([System.Runtime.InteropServices.RuntimeInformation]::ProcessArchitecture) {
        'X64' { 'x64' }
        'Arm64' { 'arm64' }
        'X86' { 'x86' }
        'Arm' { 'arm' }
        default { throw "Unsupported process architecture '$_'." }
    }
    if ($IsWindows) { return "win-$arch" }
    if ($IsMacOS) { return "osx-$arch" }
    $musl = (Test-Path '/etc/alpine-release') -or
        @(Get-ChildItem -Path '/lib/ld-musl-*', '/usr/lib/ld-musl-*' -ErrorAction SilentlyContinue).Count -gt 0
    if ($musl) { return "linux-musl-$arch" }
    return "linux-$arch"
}

# RID fallback chain for flattening runtimes/<rid>/... folders: linux-x64 -> linux -> unix.
function Get-RuntimeIdChain([string] $Rid) {
    $os = ($Rid -split '-')[0]
    $chain = [System.Collections.Generic.List[string]]::new()
    $chain.Add($Rid)
    if ($Rid -like 'linux-musl-*') { $chain.Add('linux-musl'); $chain.Add('linux') }
    elseif ($os -ne $Rid) { $chain.Add($os) }
    if ($os -ne 'win') { $chain.Add('unix') }
    return $chain
}

# How to start a child pwsh that is this same PowerShell (a dotnet tool runs as `dotnet pwsh.dll`).
function Get-PwshCommand {
    $process = [Environment]::ProcessPath
    $leaf = [IO.Path]::GetFileNameWithoutExtension($process)
    if ($leaf -eq 'pwsh') { return @{ FilePath = $process; Prefix = @() } }
    $dll = Join-Path $PSHOME 'pwsh.dll'
    if ($leaf -eq 'dotnet' -and (Test-Path -LiteralPath $dll)) { return @{ FilePath = $process; Prefix = @($dll) } }
    $pwsh = Join-Path $PSHOME ($IsWindows ? 'pwsh.exe' : 'pwsh')
    if (Test-Path -LiteralPath $pwsh) { return @{ FilePath = $pwsh; Prefix = @() } }
    return @{ FilePath = 'pwsh'; Prefix = @() }
}

function Invoke-ChildPwsh {
    param([string[]] $ArgumentList, [switch] $AllowFailure)
    $pwsh = Get-PwshCommand
    Invoke-Native -FilePath $pwsh.FilePath -ArgumentList (@($pwsh.Prefix) + @('-NoProfile', '-NonInteractive') + $ArgumentList) -AllowFailure:$AllowFailure -Quiet
}

function Get-NuGetPackageRoot {
    if ($env:NUGET_PACKAGES) { return $env:NUGET_PACKAGES }
    return Join-Path ([Environment]::GetFolderPath('UserProfile')) '.nuget' 'packages'
}

function Get-PesterManifest {
    $path = Join-Path (Get-NuGetPackageRoot) 'pester' $script:PesterVersion 'tools' 'Pester.psd1'
    if (-not (Test-Path -LiteralPath $path)) {
        Write-Step "Restoring Pester $script:PesterVersion (build/tools.csproj)"
        $null = Invoke-Native dotnet @('restore', (Join-Path $RepoRoot 'build/tools.csproj'), '--nologo')
        if (-not (Test-Path -LiteralPath $path)) { throw "Pester $script:PesterVersion was not found at '$path' after restore." }
    }
    return $path
}

function Format-Elapsed([TimeSpan] $Elapsed) { '{0:0.0}s' -f $Elapsed.TotalSeconds }

#endregion
#region Build -----------------------------------------------------------------------------------

function Invoke-BuildTask {
    $watch = [Diagnostics.Stopwatch]::StartNew()
    $rid = Get-RuntimeId
    $publishDir = Join-Path $RepoRoot $Layout.OutputRoot '.publish' $rid
    Write-Step "Build: dotnet publish $($Layout.Project) ($($Layout.Configuration), $rid)"
    if (Test-Path -LiteralPath $publishDir) { Remove-Item -LiteralPath $publishDir -Recurse -Force }
    $null = Invoke-Native dotnet (@('publish', (Join-Path $RepoRoot $Layout.Project), '-c', $Layout.Configuration,
            '-r', $rid, '--self-contained', 'false', '-o', $publishDir, '--nologo') + (Get-DotnetLogArgs))

    Write-Step "Build: laying out $ModuleDir"
    if (Test-Path -LiteralPath $ModuleDir) { Remove-Item -LiteralPath $ModuleDir -Recurse -Force }
    $depDir = Join-Path $ModuleDir $Layout.DependencyFolder
    $null = New-Item -ItemType Directory -Path $depDir -Force

    $ridChain = Get-RuntimeIdChain $rid
    $publishRoot = (Resolve-Path -LiteralPath $publishDir).Path
    foreach ($file in Get-ChildItem -LiteralPath $publishRoot -File -Recurse) {
        $relative = [IO.Path]::GetRelativePath($publishRoot, $file.FullName) -replace '\\', '/'
        if (@($Layout.Exclude | Where-Object { $file.Name -like $_ }).Count -gt 0) { continue }
        if ($relative -in $Layout.RootAssemblies) {
            Copy-Item -LiteralPath $file.FullName -Destination $ModuleDir
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

    foreach ($entry in $Layout.RootFiles) {
        $source = Join-Path $RepoRoot $entry.Source
        if (Test-Path -LiteralPath $source) { Copy-Item -LiteralPath $source -Destination $ModuleDir }
        elseif ($entry.Required) { throw "Required module file '$($entry.Source)' is missing." }
    }
    foreach ($folder in $Layout.RootFolders) {
        $source = Join-Path $RepoRoot $folder
        if (Test-Path -LiteralPath $source) { Copy-Item -LiteralPath $source -Destination $ModuleDir -Recurse }
    }
    Remove-Item -LiteralPath (Split-Path -Parent $publishDir) -Recurse -Force

    foreach ($required in @($Layout.RootAssemblies[0], (Join-Path $Layout.DependencyFolder 'SQLBuild.Core.dll'))) {
        if (-not (Test-Path -LiteralPath (Join-Path $ModuleDir $required))) { throw "Module layout is incomplete: '$required' is missing." }
    }

    Write-Step 'Build: importing the module in a fresh pwsh -NoProfile'
    $check = @'
$ErrorActionPreference = 'Stop'
$m = Import-Module -Name '{0}' -PassThru
$expected = @((Import-PowerShellDataFile -LiteralPath '{0}').CmdletsToExport).Count
"Imported {{0}} {{1}}: {{2}} command(s) exported ({{3}} listed in the manifest)." -f $m.Name, $m.Version, @(Get-Command -Module $m.Name).Count, $expected
'@ -f ($ModuleManifest -replace "'", "''")
    $null = Invoke-ChildPwsh -ArgumentList @('-Command', $check)

    Invoke-HelpTask -FromModule
    $watch.Stop()
    Write-Step "Build: done in $(Format-Elapsed $watch.Elapsed) -> $ModuleDir"
}

#endregion
#region Help ------------------------------------------------------------------------------------

# docs/cmdlets/*.md -> en-US/SQLBuild.dll-Help.xml in the repository and in the built module. The
# generator runs in a child pwsh because it imports the built module for the cmdlet metadata.
function Invoke-HelpTask([switch] $FromModule) {
    $docs = Join-Path $RepoRoot 'docs' 'cmdlets'
    $name = "$($Layout.ModuleName).dll-Help.xml"
    $outputs = @(Join-Path $RepoRoot 'en-US' $name)
    $arguments = @('-File', (Join-Path $RepoRoot 'build/Build-Help.ps1'), '-DocsPath', $docs)
    if ($FromModule -or (Test-Path -LiteralPath $ModuleManifest)) {
        $outputs += Join-Path $ModuleDir 'en-US' $name
        $arguments += @('-ModuleManifest', $ModuleManifest)
        Write-Step "Help: docs/cmdlets/*.md + the cmdlet metadata of $ModuleDir -> MAML"
    }
    else {
        Write-Step 'Help: docs/cmdlets/*.md -> MAML (module not built: syntax from the markdown)'
    }
    $null = Invoke-ChildPwsh -ArgumentList ($arguments + @('-OutputPath', ($outputs -join ',')))
}

#endregion
#region PostgreSQL ------------------------------------------------------------------------------

# Finds the PostgreSQL server binaries (prefers 15). Returns $null when absent.
function Find-PostgresBin {
    if ($env:SQB_PG_BIN -and (Test-Path -LiteralPath (Join-Path $env:SQB_PG_BIN 'initdb*'))) { return $env:SQB_PG_BIN }
    $candidates = @(Get-Item -Path '/usr/lib/postgresql/*/bin/initdb' -ErrorAction SilentlyContinue |
            Sort-Object { [int]($_.Directory.Parent.Name -replace '\D', '') } -Descending)
    $preferred = $candidates | Where-Object { $_.Directory.Parent.Name -eq '15' } | Select-Object -First 1
    $pick = $preferred ?? ($candidates | Select-Object -First 1)
    if ($pick) { return $pick.Directory.FullName }
    $initdb = Get-Command -Name 'initdb' -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
    if ($initdb) { return Split-Path -Parent $initdb.Source }
    return $null
}

function Test-PortFree([int] $Port) {
    $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, $Port)
    try { $listener.Start(); return $true } catch { return $false } finally { $listener.Stop() }
}

function Test-IsRoot {
    if ($IsWindows) { return $false }
    return ((& id -u) -eq '0')
}

# Picks a port and a private folder for a throwaway cluster; Start-TestPostgres starts it and
# Stop-TestPostgres always stops it and deletes the folder, however far the start got.
function New-TestPostgres([string] $BinDir) {
    $port = 55432
    while (-not (Test-PortFree $port)) {
        $port++
        if ($port -gt 55532) { throw 'No free TCP port for PostgreSQL in 55432..55532.' }
    }
    $asPostgres = Test-IsRoot
    # As root, $TMPDIR may be private to root; /tmp is always reachable for the postgres user.
    $tempRoot = $asPostgres ? '/tmp' : [IO.Path]::GetTempPath()
    $root = Join-Path $tempRoot ('sqb-pg-' + [Guid]::NewGuid().ToString('N').Substring(0, 12))
    [pscustomobject]@{
        Root = $root; Data = (Join-Path $root 'data'); Socket = (Join-Path $root 'sock'); Log = (Join-Path $root 'postgres.log')
        BinDir = $BinDir; Port = $port; AsPostgresUser = $asPostgres; Started = $false
    }
}

# Runs a PostgreSQL tool, as the postgres user when this script runs as root (initdb refuses root).
function Invoke-PgTool($State, [string] $Tool, [string[]] $ToolArgs, [switch] $AllowFailure) {
    $exe = Join-Path $State.BinDir ($IsWindows ? "$Tool.exe" : $Tool)
    if ($State.AsPostgresUser) { Invoke-Native runuser (@('-u', 'postgres', '--', $exe) + $ToolArgs) -Quiet -Capture -AllowFailure:$AllowFailure }
    else { Invoke-Native $exe $ToolArgs -Quiet -Capture -AllowFailure:$AllowFailure }
}

function Start-TestPostgres($State) {
    $watch = [Diagnostics.Stopwatch]::StartNew()
    $null = New-Item -ItemType Directory -Path $State.Root, $State.Socket
    $pwfile = Join-Path $State.Root 'pwfile'
    Set-Content -LiteralPath $pwfile -Value 'sqb_test_pw' -NoNewline
    if ($State.AsPostgresUser) { $null = Invoke-Native chown @('-R', 'postgres:', $State.Root) -Quiet }
    if (-not $IsWindows) { $null = Invoke-Native chmod @('700', $State.Root, $State.Socket) -Quiet }

    Write-Step "PostgreSQL: initdb in $($State.Root) (port $($State.Port), $($State.BinDir)$($State.AsPostgresUser ? ', as user postgres' : ''))"
    $null = Invoke-PgTool $State 'initdb' @('-D', $State.Data, '-U', 'postgres', '--auth=scram-sha-256', "--pwfile=$pwfile",
        '--encoding=UTF8', '--no-locale', '--no-sync')
    $options = "-p $($State.Port) -k $($State.Socket) -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    $State.Started = $true
    $null = Invoke-PgTool $State 'pg_ctl' @('-D', $State.Data, '-l', $State.Log, '-w', '-t', '60', '-o', $options, 'start')
    $null = Invoke-PgTool $State 'pg_isready' @('-h', '127.0.0.1', '-p', "$($State.Port)", '-t', '30')
    $watch.Stop()
    Write-Step "PostgreSQL: ready on 127.0.0.1:$($State.Port) in $(Format-Elapsed $watch.Elapsed)"
}

function Stop-TestPostgres($State) {
    if (-not $State) { return }
    try {
        $pidFile = Join-Path $State.Data 'postmaster.pid'
        if ($State.Started -and (Test-Path -LiteralPath $pidFile)) {
            $code = Invoke-PgTool $State 'pg_ctl' @('-D', $State.Data, '-m', 'fast', '-w', '-t', '30', 'stop') -AllowFailure
            if ($code -ne 0 -and (Test-Path -LiteralPath $pidFile)) {
                # Fall back to the postmaster this script started (first line of postmaster.pid).
                $postmaster = [int](Get-Content -LiteralPath $pidFile -TotalCount 1)
                Write-Warning "pg_ctl stop failed ($code); stopping postmaster $postmaster."
                Stop-Process -Id $postmaster -Force -ErrorAction SilentlyContinue
                Start-Sleep -Milliseconds 500
            }
            Write-Step 'PostgreSQL: stopped'
        }
    }
    finally {
        Remove-Item -LiteralPath $State.Root -Recurse -Force -ErrorAction SilentlyContinue
        if (Test-Path -LiteralPath $State.Root) { Write-Warning "Could not delete '$($State.Root)'." }
    }
}

$script:PgEnvNames = @('SQB_TEST_POSTGRES', 'SQB_TEST_PG_HOST', 'SQB_TEST_PG_PORT', 'SQB_TEST_PG_USER',
    'SQB_TEST_PG_PASSWORD', 'SQB_TEST_PG_DATABASE')

function Set-PostgresTestEnvironment($State) {
    $env:SQB_TEST_PG_HOST = '127.0.0.1'
    $env:SQB_TEST_PG_PORT = "$($State.Port)"
    $env:SQB_TEST_PG_USER = 'postgres'
    $env:SQB_TEST_PG_PASSWORD = 'sqb_test_pw'
    $env:SQB_TEST_PG_DATABASE = 'postgres'
    $env:SQB_TEST_POSTGRES = "Host=127.0.0.1;Port=$($State.Port);Username=postgres;Password=sqb_test_pw;Database=postgres"
}

# The throwaway cluster of the Test and Bench tasks: clears any SQB_TEST_PG_* the caller had, finds
# the server binaries, starts a cluster and points SQB_TEST_PG_* at it. Always returns a handle for
# Stop-ThrowawayPostgres (which restores the variables); .Cluster is $null when there is none. What
# went wrong is added to $Problems (counts as a failure) or $Notes (PostgreSQL work will skip).
function Start-ThrowawayPostgres {
    param(
        [System.Collections.Generic.List[string]] $Problems,
        [System.Collections.Generic.List[string]] $Notes,
        [string] $Purpose = 'PostgreSQL tests'
    )
    $handle = [pscustomobject]@{ Cluster = $null; SavedEnv = @{} }
    foreach ($name in $script:PgEnvNames) {
        $handle.SavedEnv[$name] = [Environment]::GetEnvironmentVariable($name)
        [Environment]::SetEnvironmentVariable($name, $null)
    }
    $bin = Find-PostgresBin
    if (-not $bin) {
        if (Test-Truthy $env:CI) {
            $Problems.Add('PostgreSQL server binaries not found and CI is set (install the postgresql package)')
            Write-Loud "PostgreSQL server binaries not found; CI is set, so this run fails. $Purpose will skip."
        }
        else {
            Write-Loud "PostgreSQL server binaries not found (looked in /usr/lib/postgresql/*/bin and PATH): $Purpose will SKIP."
            $Notes.Add("PostgreSQL server binaries not found: $Purpose skipped")
        }
        return $handle
    }
    $pg = $null
    try {
        $pg = New-TestPostgres $bin
        $handle.Cluster = $pg
        Start-TestPostgres $pg
        Set-PostgresTestEnvironment $pg
    }
    catch {
        $Problems.Add("PostgreSQL did not start: $_")
        Write-Host "ERROR: PostgreSQL did not start: $_"
        if ($pg -and (Test-Path -LiteralPath $pg.Log)) { Get-Content -LiteralPath $pg.Log -Tail 30 | Out-Host }
        # Not usable: make PostgreSQL work skip rather than connect to a half-started cluster.
        foreach ($name in $script:PgEnvNames) { [Environment]::SetEnvironmentVariable($name, $null) }
    }
    return $handle
}

# Stops the cluster however far its start got, deletes its folder, and restores SQB_TEST_PG_*.
function Stop-ThrowawayPostgres($Handle) {
    if (-not $Handle) { return }
    try { if ($Handle.Cluster) { Stop-TestPostgres $Handle.Cluster } }
    finally {
        foreach ($name in $script:PgEnvNames) { [Environment]::SetEnvironmentVariable($name, $Handle.SavedEnv[$name]) }
    }
}

#endregion
#region Test ------------------------------------------------------------------------------------

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

function New-RunnerResult([string] $Name) {
    [pscustomobject]@{ Name = $Name; Passed = 0; Failed = 0; Skipped = 0; Crashed = $false; Note = ''; Elapsed = [TimeSpan]::Zero }
}

function Invoke-XunitTests([string] $ResultsDir) {
    $r = New-RunnerResult 'xunit'
    $watch = [Diagnostics.Stopwatch]::StartNew()
    try {
        $project = Join-Path $RepoRoot 'tests/SQLBuild.Core.Tests'
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

function Invoke-PesterTests([string] $ResultsDir, [string] $PesterManifest) {
    $r = New-RunnerResult 'pester'
    $watch = [Diagnostics.Stopwatch]::StartNew()
    try {
        $json = Join-Path $ResultsDir 'pester.json'
        $xml = Join-Path $ResultsDir 'pester.xml'
        Remove-Item -LiteralPath $json, $xml -Force -ErrorAction SilentlyContinue
        Write-Step "Pester $($script:PesterVersion): tests/pester (child pwsh -NoProfile)"
        $code = Invoke-ChildPwsh -AllowFailure -ArgumentList @('-File', (Join-Path $RepoRoot 'build/Invoke-PesterRun.ps1'),
            '-PesterManifest', $PesterManifest, '-TestPath', (Join-Path $RepoRoot 'tests/pester'),
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

function Invoke-TestTask {
    $watch = [Diagnostics.Stopwatch]::StartNew()
    $results = [System.Collections.Generic.List[object]]::new()
    $problems = [System.Collections.Generic.List[string]]::new()
    $notes = [System.Collections.Generic.List[string]]::new()
    $resultsDir = Join-Path $RepoRoot $Layout.OutputRoot 'test-results'
    if (Test-Path -LiteralPath $resultsDir) { Remove-Item -LiteralPath $resultsDir -Recurse -Force }
    $null = New-Item -ItemType Directory -Path $resultsDir -Force

    $pg = $null
    try {
        # (a) tools: pwsh is running already; Pester comes from the NuGet cache.
        $pester = $null
        try { $pester = Get-PesterManifest } catch { $problems.Add("Pester unavailable: $_") }

        # (d, first half) the module under test; Pester needs it, xunit does not.
        $built = $false
        try { Invoke-BuildTask; $built = $true } catch { $problems.Add("module build failed: $_") ; Write-Host "ERROR: $_" }

        # (b) a throwaway PostgreSQL cluster.
        $pg = Start-ThrowawayPostgres -Problems $problems -Notes $notes -Purpose 'the PostgreSQL tests'

        # (c) xunit
        $results.Add((Invoke-XunitTests $resultsDir))

        # (d) Pester
        if ($built -and $pester) {
            $results.Add((Invoke-PesterTests $resultsDir $pester))
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
    Write-Host ''
    Write-Host "Test results ($(Format-Elapsed $watch.Elapsed); files in $resultsDir):"
    foreach ($r in $results) {
        $line = '  {0,-7} {1} passed, {2} failed, {3} skipped ({4})' -f $r.Name, $r.Passed, $r.Failed, $r.Skipped, (Format-Elapsed $r.Elapsed)
        if ($r.Crashed) { $line += " -- CRASHED, counted as 1 failed: $($r.Note)" }
        elseif ($r.Note) { $line += " -- $($r.Note)" }
        Write-Host $line
    }
    foreach ($n in $notes) { Write-Host "  WARNING: $n" }
    foreach ($p in $problems) { Write-Host "  problem: $p (counted as 1 failed)" }

    $passed = ($results | Measure-Object -Property Passed -Sum).Sum
    $failed = ($results | Measure-Object -Property Failed -Sum).Sum + @($results | Where-Object Crashed).Count + $problems.Count
    $skipped = ($results | Measure-Object -Property Skipped -Sum).Sum
    Write-Host ('{0} passed, {1} failed, {2} skipped' -f [int]$passed, [int]$failed, [int]$skipped)
    return ($failed -gt 0) ? 1 : 0
}

#endregion
#region Bench -----------------------------------------------------------------------------------

# Every build/bench/*.Bench.ps1, each in a fresh `pwsh -NoProfile` against the built module, with a
# throwaway PostgreSQL (SQB_TEST_PG_*) as in the Test task. A bench script takes -ModuleManifest and
# prints its own results; a non-zero exit code marks it failed.
function Invoke-BenchTask {
    $watch = [Diagnostics.Stopwatch]::StartNew()
    $benchDir = Join-Path $RepoRoot 'build' 'bench'
    $benches = @(Get-ChildItem -Path (Join-Path $benchDir '*.Bench.ps1') -File -ErrorAction SilentlyContinue | Sort-Object Name)
    if ($benches.Count -eq 0) {
        Write-Host "Bench: no build/bench/*.Bench.ps1 found."
        return 1
    }
    Invoke-BuildTask
    $problems = [System.Collections.Generic.List[string]]::new()
    $notes = [System.Collections.Generic.List[string]]::new()
    $results = [System.Collections.Generic.List[object]]::new()
    $pg = $null
    try {
        $pg = Start-ThrowawayPostgres -Problems $problems -Notes $notes -Purpose 'the PostgreSQL benchmarks'
        foreach ($bench in $benches) {
            Write-Step "Bench: $($bench.Name) (child pwsh -NoProfile)"
            $benchWatch = [Diagnostics.Stopwatch]::StartNew()
            $code = Invoke-ChildPwsh -AllowFailure -ArgumentList @('-File', $bench.FullName, '-ModuleManifest', $ModuleManifest)
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

function Invoke-DemoTask {
    Invoke-BuildTask
    $demo = Join-Path $RepoRoot 'demo'
    if (Test-Path -LiteralPath $demo) {
        Write-Step 'Demo: removing the previous demo/'
        Remove-Item -LiteralPath $demo -Recurse -Force
    }
    Write-Step 'Demo: direct build and a virtual-environment round trip (child pwsh -NoProfile)'
    $null = Invoke-ChildPwsh -ArgumentList @('-File', (Join-Path $RepoRoot 'build/Invoke-Demo.ps1'),
        '-ModuleManifest', $ModuleManifest, '-RepoRoot', $RepoRoot)
}

#endregion

$exitCode = 0
try {
    switch ($Task) {
        'Build' { Invoke-BuildTask }
        'Test' { $exitCode = Invoke-TestTask }
        'Demo' { Invoke-DemoTask }
        'Help' { Invoke-HelpTask }
        'Bench' { $exitCode = Invoke-BenchTask }
    }
}
catch {
    # Expected failures (a failed dotnet publish, a failed demo step) are reported in one line;
    # the tool's own output above says why.
    Write-Host "build.ps1 -Task ${Task} failed: $($_.Exception.Message)"
    if ($VerbosePreference -eq 'Continue') { Write-Host $_.ScriptStackTrace }
    $exitCode = 1
}
exit $exitCode
