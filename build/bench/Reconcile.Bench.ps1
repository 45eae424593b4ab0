#Requires -Version 7.4
<#
.SYNOPSIS
    Benchmark of Get-SqbReconcile on PostgreSQL: a large virtual data environment with dropped views.

.DESCRIPTION
    For each size in -ModelCount: writes a project of that many view models, builds its `dev`
    environment into a throwaway schema of the PostgreSQL given by SQB_TEST_PG_* (or SQB_TEST_POSTGRES),
    drops -DroppedViews logical views for real, then measures Get-SqbReconcile (-Repeat runs, median) and
    counts, from its -Verbose stream (`<KIND> <target>` per statement), the catalog queries and the state
    queries it ran. The catalog count must be the same at every size (one set-based read per schema, never
    one per model): the script fails when it is not, or when the report misses a dropped view. Finally it
    times `Get-SqbReconcile | Repair-SqbView` for the dropped views and checks the report is clean.

    Runs standalone or from `build.ps1 -Task Bench`. Everything it creates (schemas, temp folders) is
    dropped at the end. Prints a table (or, with -PassThru, emits one result object per size). Exits 1
    when a check fails, or when PostgreSQL is missing and CI is set (else it says it skipped).

.EXAMPLE
    $env:SQB_TEST_POSTGRES = 'Host=127.0.0.1;Port=5432;Username=postgres;Password=...;Database=postgres'
    ./build/bench/Reconcile.Bench.ps1 -ModelCount 200, 2000

.EXAMPLE
    dotnet tool run pwsh -NoProfile -File ./build.ps1 -Task Bench
#>
[CmdletBinding()]
param(
    # Sizes to run; the first is the baseline the others' catalog count is compared with.
    [int[]] $ModelCount = @(200, 2000),
    [int] $DroppedViews = 100,
    [ValidateRange(1, 50)] [int] $Repeat = 5,
    # The built module (folder or .psd1). Default: SQB_MODULE_PATH, then out/SQLBuild of this repository.
    [Alias('ModulePath')]
    [string] $ModuleManifest,
    # Emit the result objects instead of printing a table.
    [switch] $PassThru
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
if ($env:NO_COLOR) { $PSStyle.OutputRendering = 'PlainText' }
$repoRoot = (Resolve-Path -LiteralPath (Join-Path $PSScriptRoot '..' '..')).Path

#region Connection and module ----------------------------------------------------------------------

function Get-BenchPostgres {
    $pg = @{
        Host = $env:SQB_TEST_PG_HOST; Port = $env:SQB_TEST_PG_PORT; User = $env:SQB_TEST_PG_USER
        Password = $env:SQB_TEST_PG_PASSWORD; Database = $env:SQB_TEST_PG_DATABASE
    }
    if ($env:SQB_TEST_POSTGRES) {
        foreach ($part in $env:SQB_TEST_POSTGRES -split ';') {
            $key, $value = $part -split '=', 2
            if (-not $value) { continue }
            switch -Regex ($key.Trim()) {
                '^(host|server)$' { if (-not $pg.Host) { $pg.Host = $value.Trim() } }
                '^port$' { if (-not $pg.Port) { $pg.Port = $value.Trim() } }
                '^(username|user id|user|userid)$' { if (-not $pg.User) { $pg.User = $value.Trim() } }
                '^password$' { if (-not $pg.Password) { $pg.Password = $value } }
                '^database$' { if (-not $pg.Database) { $pg.Database = $value.Trim() } }
            }
        }
    }
    if (-not $pg.Port) { $pg.Port = '5432' }
    if (-not $pg.Database) { $pg.Database = 'postgres' }
    $missing = @('Host', 'User', 'Password' | Where-Object { -not $pg[$_] })
    if ($missing) {
        Write-Output "Reconcile.Bench: skipped, no PostgreSQL (set SQB_TEST_PG_* or SQB_TEST_POSTGRES; build.ps1 -Task Bench starts one)."
        exit ([bool]$env:CI ? 1 : 0)
    }
    # The project reads them through ${ENV:...}, so the password is never written to a file.
    $env:SQB_BENCH_PG_HOST = $pg.Host; $env:SQB_BENCH_PG_USER = $pg.User
    $env:SQB_BENCH_PG_PASSWORD = $pg.Password; $env:SQB_BENCH_PG_DATABASE = $pg.Database
    [pscustomobject]$pg
}

function Import-BenchModule {
    $path = if ($ModuleManifest) { $ModuleManifest } elseif ($env:SQB_MODULE_PATH) { $env:SQB_MODULE_PATH } else { Join-Path $repoRoot 'out' 'SQLBuild' }
    if (Test-Path -LiteralPath $path -PathType Container) { $path = Join-Path $path 'SQLBuild.psd1' }
    if (-not (Test-Path -LiteralPath $path)) { throw "The built module was not found at '$path': run build.ps1 -Task Build first." }
    Import-Module -Name $path -Force
}

function Get-CoreType([string] $FullName) {
    $context = [System.Runtime.Loader.AssemblyLoadContext]::All | Where-Object Name -EQ 'SQLBuild' | Select-Object -First 1
    foreach ($assembly in $context.Assemblies) {
        $type = $assembly.GetType($FullName, $false)
        if ($type) { return $type }
    }
    throw "Type '$FullName' not found in the SQLBuild load context."
}

function Open-BenchSession([string] $Path) {
    $project = (Get-CoreType 'SQLBuild.Core.Project.ProjectCompiler')::Compile($Path, [NullString]::Value, $null)
    $log = (Get-CoreType 'SQLBuild.Core.Logging.NullLog')::Instance
    (Get-CoreType 'SQLBuild.Core.Adapters.WarehouseFactory')::Create($project.Config.ActiveTarget.Connection, $log).OpenSession()
}

#endregion
#region Project ----------------------------------------------------------------------------------

function New-BenchProject([int] $Models, $Pg) {
    $suffix = [Guid]::NewGuid().ToString('N').Substring(0, 8)
    $dir = Join-Path ([IO.Path]::GetTempPath()) "sqb-bench-reconcile-$suffix"
    $null = New-Item -ItemType Directory -Path (Join-Path $dir 'models') -Force
    $schema = "bench_$suffix"
    @"
name = "bench"
adapter = "postgres"
default_target = "dev"

[settings]
virtual_environments = true
concurrency = 4

[connections.local]
host = "`${ENV:SQB_BENCH_PG_HOST}"
port = $($Pg.Port)
user = "`${ENV:SQB_BENCH_PG_USER}"
password = "`${ENV:SQB_BENCH_PG_PASSWORD}"
dbname = "`${ENV:SQB_BENCH_PG_DATABASE}"

[targets.dev]
connection = "local"
schema = "$schema"

[targets.dev.state]
backend = "postgres"
schema = "${schema}_state"
unsuffixed_virtual_env = "dev"
"@ | Set-Content -LiteralPath (Join-Path $dir 'sqlbuild_project.toml')
    $utf8 = [Text.UTF8Encoding]::new($false)
    for ($i = 1; $i -le $Models; $i++) {
        # Mostly independent views, every tenth reading the one before it (a shallow DAG).
        $sql = if ($i % 10 -eq 0) { "MODEL (materialized view);`nSELECT id + $i AS id FROM __ref(`"m_{0:D5}`")`n" -f ($i - 1) }
        else { "MODEL (materialized view);`nSELECT $i AS id`n" }
        [IO.File]::WriteAllText((Join-Path $dir ('models/m_{0:D5}.sql' -f $i)), $sql, $utf8)
    }
    [pscustomobject]@{ Path = $dir; Schema = $schema; Schemas = @($schema, "${schema}__sqb_physical", "${schema}_state") }
}

function Remove-BenchProject($Project) {
    if (-not $Project) { return }
    try {
        $s = Open-BenchSession $Project.Path
        try {
            $schemas = [System.Collections.Generic.List[string]]$Project.Schemas
            for ($round = 0; $round -lt 20; $round++) {
                $views = @($s.ReadCatalog($schemas, $false).Relations | Where-Object { "$($_.Kind)" -eq 'View' })
                if (-not $views) { break }
                foreach ($v in $views) { try { $null = $s.Execute($s.Dialect.DropViewIfExists($v.Relation)) } catch { } }
            }
            foreach ($t in @($s.ReadCatalog($schemas, $false).Relations)) { try { $null = $s.Execute($s.Dialect.DropTableIfExists($t.Relation)) } catch { } }
            foreach ($n in $schemas) { try { $null = $s.Execute($s.Dialect.DropSchemaIfExists($n)) } catch { } }
        }
        finally { $s.Dispose() }
    }
    catch { Write-Warning "cleanup of $($Project.Schema) failed: $_" }
    Remove-Item -LiteralPath $Project.Path -Recurse -Force -ErrorAction SilentlyContinue
}

function Remove-BenchViews($Project, [int] $Models, [int] $Count) {
    $step = [Math]::Max(1, [Math]::Floor($Models / $Count))
    $names = @(for ($i = 1; $i -le $Models; $i += $step) { 'm_{0:D5}' -f $i }) | Select-Object -First $Count
    $s = Open-BenchSession $Project.Path
    try {
        $statement = Get-CoreType 'SQLBuild.Core.Adapters.SqlStatement'
        foreach ($n in $names) { $null = $s.Execute($statement::new('BENCH', $n, "DROP VIEW `"$($Project.Schema)`".`"$n`"", $null)) }
    }
    finally { $s.Dispose() }
    $names
}

#endregion
#region Measure ----------------------------------------------------------------------------------

function Measure-Reconcile($Project, [int] $Models, [int] $Dropped) {
    $watch = [Diagnostics.Stopwatch]::StartNew()
    $null = Initialize-SqbState -Path $Project.Path -Confirm:$false
    $build = Invoke-SqbBuild -Path $Project.Path -Confirm:$false
    if ($build.Status -ne 'succeeded') { throw "bench build of $Models models failed" }
    $buildSeconds = $watch.Elapsed.TotalSeconds

    $names = Remove-BenchViews $Project $Models $Dropped

    # Queries: one run with -Verbose (each statement logs "<KIND> <target>").
    $records = @(Get-SqbReconcile -Path $Project.Path -Verbose 4>&1)
    $verbose = @($records | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object Message)
    $findings = @($records | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] })
    $catalog = @($verbose | Where-Object { $_ -like 'CATALOG *' })
    $stateReads = @($verbose | Where-Object { $_ -like 'SELECT *' })
    $missing = @($names | Where-Object { $_ -notin @($findings | Where-Object { "$($_.Kind)" -eq 'MissingView' } | ForEach-Object Name) })
    if ($findings.Count -ne $names.Count -or $missing) {
        throw "Get-SqbReconcile reported $($findings.Count) finding(s) for $($names.Count) dropped view(s) (missing: $($missing -join ', '))"
    }

    # Time: -Repeat runs without -Verbose, median.
    $times = @(for ($r = 0; $r -lt $Repeat; $r++) {
            $t = [Diagnostics.Stopwatch]::StartNew()
            $null = Get-SqbReconcile -Path $Project.Path
            $t.Elapsed.TotalMilliseconds
        }) | Sort-Object
    $median = $times[[Math]::Floor(($times.Count - 1) / 2)]

    # The part of each run that is compiling the project (the cmdlet compiles before it reconciles).
    $compileTimes = @(for ($r = 0; $r -lt $Repeat; $r++) {
            $t = [Diagnostics.Stopwatch]::StartNew()
            $null = (Get-CoreType 'SQLBuild.Core.Project.ProjectCompiler')::Compile($Project.Path, [NullString]::Value, $null)
            $t.Elapsed.TotalMilliseconds
        }) | Sort-Object
    $compileMedian = $compileTimes[[Math]::Floor(($compileTimes.Count - 1) / 2)]

    $t = [Diagnostics.Stopwatch]::StartNew()
    $repaired = @(Get-SqbReconcile -Path $Project.Path | Repair-SqbView -Path $Project.Path)
    $repairMs = $t.Elapsed.TotalMilliseconds
    if (@($repaired | Where-Object Result -EQ 'repaired').Count -ne $names.Count) { throw 'Repair-SqbView did not repair every dropped view' }
    if (@(Get-SqbReconcile -Path $Project.Path).Count -ne 0) { throw 'the report is not clean after the repair' }

    [pscustomobject]@{
        PSTypeName         = 'SQLBuild.Bench.Reconcile'
        Engine             = 'postgres'
        Models             = $Models
        DroppedViews       = $names.Count
        Findings           = $findings.Count
        ReconcileMedianMs  = [Math]::Round($median, 1)
        ReconcileMinMs     = [Math]::Round($times[0], 1)
        ReconcileMaxMs     = [Math]::Round($times[-1], 1)
        CompileMedianMs    = [Math]::Round($compileMedian, 1)
        CatalogQueries     = $catalog.Count
        StateQueries       = $stateReads.Count
        CatalogStatements  = ($catalog | Select-Object -Unique | ForEach-Object { ($_ -split ' ')[0..1] -join ' ' } | Select-Object -Unique) -join ', '
        RepairMs           = [Math]::Round($repairMs, 1)
        BuildSeconds       = [Math]::Round($buildSeconds, 1)
    }
}

#endregion

$pg = Get-BenchPostgres
try {
    Import-BenchModule
    Write-Output "Reconcile.Bench: postgres at $($pg.Host):$($pg.Port), sizes $($ModelCount -join ', '), $DroppedViews dropped view(s), $Repeat run(s) each"
    $results = foreach ($n in $ModelCount) {
        $project = $null
        try {
            $project = New-BenchProject $n $pg
            Measure-Reconcile $project $n ([Math]::Min($DroppedViews, $n))
        }
        finally { Remove-BenchProject $project }
    }
    if ($PassThru) { $results }
    else {
        $results | Format-Table Models, DroppedViews, Findings, ReconcileMedianMs, ReconcileMinMs, ReconcileMaxMs, CompileMedianMs,
            CatalogQueries, StateQueries, RepairMs, BuildSeconds -AutoSize | Out-String -Width 200 | Write-Output
    }
    $counts = @($results | ForEach-Object CatalogQueries | Select-Object -Unique)
    if ($counts.Count -ne 1) { throw "Get-SqbReconcile's catalog queries grow with the model count: $(($results | ForEach-Object { "$($_.Models) models: $($_.CatalogQueries)" }) -join '; ')" }
    $stateCounts = @($results | ForEach-Object StateQueries | Select-Object -Unique)
    if ($stateCounts.Count -ne 1) { throw "Get-SqbReconcile's state queries grow with the model count: $(($results | ForEach-Object { "$($_.Models) models: $($_.StateQueries)" }) -join '; ')" }
    Write-Output "Reconcile.Bench: catalog queries $($counts[0]) and state queries $($stateCounts[0]) at every size."
}
catch {
    Write-Output "Reconcile.Bench: FAILED: $($_.Exception.Message)"
    exit 1
}
