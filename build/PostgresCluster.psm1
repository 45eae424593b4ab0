<#
    The throwaway PostgreSQL cluster of the Test and Bench tasks: find the server binaries, start a
    private cluster on 127.0.0.1 (as the postgres user when running as root), point SQB_TEST_PG_* at
    it, and always stop it and delete its folder afterwards.
#>
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

Import-Module (Join-Path $PSScriptRoot 'BuildTools.psm1')

# What the tests read; set while the cluster runs, restored afterwards.
$script:PgEnvNames = @('SQB_TEST_POSTGRES', 'SQB_TEST_PG_HOST', 'SQB_TEST_PG_PORT', 'SQB_TEST_PG_USER',
    'SQB_TEST_PG_PASSWORD', 'SQB_TEST_PG_DATABASE')

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
    $options = "-p $($State.Port) -k $($State.Socket) -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_locks_per_transaction=1024"   # a 10,000-model switch takes ~3 locks per model
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

Export-ModuleMember -Function Start-ThrowawayPostgres, Stop-ThrowawayPostgres
