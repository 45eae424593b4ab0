#Requires -Version 7.4
<#
.SYNOPSIS
    SQLBuild at scale on PostgreSQL, each figure beside its raw-DDL floor: virtual build, promote, direct rebuild,
    refresh, no-op -ChangesOnly build, reconcile and compile, with round trips, statement counts and peak memory.

.DESCRIPTION
    For each size in -Models (default 100 and 1,000; SQB_BENCH_LARGE=1 adds 10,000) three projects of that many models
    are generated (3 seeds; -Layers layers, each model reading one to three models of the layer below) on the PostgreSQL
    of SQB_TEST_PG_* (build.ps1 -Task Bench starts one), each with its own schemas:

      views, virtual   (a) virtual build of dev from nothing       floor: the same DDL raw in one transaction
                       (b) no-op -ChangesOnly build                 floor: nothing to send
                       (c) promote pr_1 -> dev (every model changed) floor: one CREATE OR REPLACE VIEW per logical view, one transaction
                       (r) Get-SqbReconcile of dev
                       (m) compile (Get-SqbModel) in a fresh pwsh
      tables, virtual  (e) refresh: a default virtual build with nothing changed, which re-runs every table into its
                           version (staged, swapped in place)   floor: the same staged replace raw (CREATE TABLE AS
                           staging; DELETE; INSERT .. SELECT; DROP staging per model), in transactions of 500 models
      tables, direct   (f) direct rebuild of every table            floor: the same staged replace raw

    (c), (e) and (f) run -Rounds times, each SQLBuild run followed by its floor (A B A B, so a machine that slows down
    or speeds up during the run slows both sides alike); their row gives the median of each side, the ratio of the
    medians, and each round's ratio. (c) alternates direction: pr_1 -> dev, then the copy of dev taken before it ->
    dev, every model changed each time.

    The floors go through one session of the same driver. Statements are counted from the verbose stream (each line is
    "<KIND> <target>"; "BATCH <n>" heads n statements sent in one round trip): Trips = round trips (a batch is one; BEGIN
    travels with the next statement), Stmts = statements, State = those sent to the state store, DDL = CREATE/DROP/ALTER,
    Renew = the lease's lock renewals (a heartbeat every few seconds on its own session; counted apart, as time drives them).

    Fails (exit 1) when a step fails, or when a count grows with the model count where it should not: the round trips
    and state statements of (a), (b), (c) and (r) (beyond 10% or 3, whichever is more: waves form from what is ready, so
    the seeds' finishing order moves a few statements from run to run), and the round trips per model of (e) and (f).
    Prints the pwsh process's peak working set at the end.

    10,000 models take several minutes here (three projects, each built at least twice): opt in with SQB_BENCH_LARGE=1
    or -Models 100,1000,10000. PostgreSQL then needs max_locks_per_transaction high enough for one switch of 10,000
    views (the raw floor needs the same).

.EXAMPLE
    dotnet tool run pwsh -NoProfile -File ./build.ps1 -Task Bench

.EXAMPLE
    $env:SQB_BENCH_LARGE = '1'; dotnet tool run pwsh -NoProfile -File ./build.ps1 -Task Bench
#>
[CmdletBinding()]
param(
    [string] $ModuleManifest = (Join-Path $PSScriptRoot '..' '..' 'out' 'SQLBuild' 'SQLBuild.psd1'),
    # Sizes; the first is the baseline the growth checks compare with.
    [ValidateRange(10, 100000)] [int[]] $Models = (@(100, 1000) + @(if ($env:SQB_BENCH_LARGE -eq '1') { 10000 })),
    [ValidateRange(1, 100)] [int] $Layers = 10,
    # Which projects to run: views (a, b, c, r, m), tables (e), direct (f).
    [ValidateSet('views', 'tables', 'direct')] [string[]] $Projects = @('views', 'tables', 'direct'),
    # Rounds of the repeated figures (c), (e), (f): SQLBuild then its floor, this many times; medians are reported.
    [ValidateRange(1, 15)] [int] $Rounds = 3,
    # Keep the project folders and the schemas (for a closer look); default: drop them.
    [switch] $Keep
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
if ($env:NO_COLOR) { $PSStyle.OutputRendering = 'PlainText' }

$pgVars = 'SQB_TEST_PG_HOST', 'SQB_TEST_PG_PORT', 'SQB_TEST_PG_USER', 'SQB_TEST_PG_PASSWORD', 'SQB_TEST_PG_DATABASE'
$missing = @($pgVars | Where-Object { -not [Environment]::GetEnvironmentVariable($_) })
if ($missing.Count) {
    Write-Output "Virtual.Bench: skipped, no PostgreSQL ($($missing -join ', ') not set; build.ps1 -Task Bench starts one)."
    exit ([bool]$env:CI ? 1 : 0)
}

$manifest = (Resolve-Path -LiteralPath $ModuleManifest).Path
Import-Module -Name $manifest
# Core types live in the module's private load context (for the raw-DDL floors only).
$alc = [System.Runtime.Loader.AssemblyLoadContext]::All | Where-Object Name -EQ 'SQLBuild' | Select-Object -First 1
function Get-CoreType([string] $Name) {
    foreach ($a in $alc.Assemblies) { $t = $a.GetType($Name, $false); if ($t) { return $t } }
    throw "type $Name not found"
}
$utf8 = [Text.UTF8Encoding]::new($false)
$seedNames = 'seed_0', 'seed_1', 'seed_2'

#region project -----------------------------------------------------------------------------------

# A project of $Count models of one materialization; the DAG is the same for every project of a size (seeded random).
function New-BenchProject([int] $Count, [string] $Materialized, [bool] $Virtual, [string] $Tag) {
    $id = [Guid]::NewGuid().ToString('N').Substring(0, 8)
    $p = [pscustomobject]@{
        Root = Join-Path ([IO.Path]::GetTempPath()) "sqb-bench-$Tag-$id"; Schema = "bench_$id"; StateSchema = "bench_state_$id"; Id = $id
        Names = @(0..($Count - 1) | ForEach-Object { 'm_{0:d5}' -f $_ }); Sql = [ordered]@{}
    }
    $state = $Virtual ? @"

[targets.dev.state]
backend = "postgres"
schema = "$($p.StateSchema)"
unsuffixed_virtual_env = "dev"
"@ : ''
    Write-ProjectFile $p 'sqlbuild_project.toml' @"
name = "bench"
adapter = "postgres"
default_target = "dev"

[settings]
virtual_environments = $($Virtual.ToString().ToLowerInvariant())
concurrency = 4

[connections.local]
host = "`${ENV:SQB_TEST_PG_HOST}"
port = $([int]$env:SQB_TEST_PG_PORT)
user = "`${ENV:SQB_TEST_PG_USER}"
password = "`${ENV:SQB_TEST_PG_PASSWORD}"
dbname = "`${ENV:SQB_TEST_PG_DATABASE}"

[targets.dev]
connection = "local"
schema = "$($p.Schema)"
$state
"@
    Write-Seeds $p 20
    $perLayer = [int][Math]::Ceiling($Count / $Layers)
    $random = [Random]::new(42)
    for ($i = 0; $i -lt $Count; $i++) {
        $layer = [int][Math]::Floor($i / $perLayer)
        if ($layer -eq 0) { $p.Sql[$p.Names[$i]] = @{ Refs = @(); Seed = $seedNames[$i % 3]; Layer = 0 }; continue }
        $below = @((($layer - 1) * $perLayer)..([Math]::Min($layer * $perLayer, $Count) - 1))
        $n = 1 + $random.Next(3)
        $refs = @(1..$n | ForEach-Object { $p.Names[$below[$random.Next($below.Count)]] } | Select-Object -Unique)
        $p.Sql[$p.Names[$i]] = @{ Refs = $refs; Seed = $null; Layer = $layer }
    }
    foreach ($name in $p.Names) {
        $sql = Get-ModelQuery $p $name { param($ref, $isSeed) $isSeed ? "__seed(`"$ref`")" : "__ref(`"$ref`")" }
        Write-ProjectFile $p "models/layer_$($p.Sql[$name].Layer)/$name.sql" "MODEL (materialized $Materialized);`n$sql`n"
    }
    $p
}

function Write-ProjectFile($Project, [string] $Relative, [string] $Text) {
    $path = Join-Path $Project.Root $Relative
    $null = New-Item -ItemType Directory -Path (Split-Path -Parent $path) -Force
    [IO.File]::WriteAllText($path, $Text, $utf8)
}

function Write-Seeds($Project, [int] $Rows) {
    foreach ($s in $seedNames) {
        $lines = @('id,amount') + (1..$Rows | ForEach-Object { "$_,$($_ * 3 % 17).25" })
        Write-ProjectFile $Project "seeds/$s.csv" (($lines -join "`n") + "`n")
    }
}

# The model SQL with each reference rendered by $Render (name, is-seed -> relation text).
function Get-ModelQuery($Project, [string] $Name, [scriptblock] $Render) {
    $m = $Project.Sql[$Name]
    if ($m.Seed) { return "SELECT id, amount AS v FROM $(& $Render $m.Seed $true)" }
    $aliases = 'a', 'b', 'c'
    $select = 'SELECT a.id, ' + (@(0..($m.Refs.Count - 1) | ForEach-Object { "$($aliases[$_]).v" }) -join ' + ') + ' AS v'
    $from = "FROM $(& $Render $m.Refs[0] $false) AS a"
    for ($r = 1; $r -lt $m.Refs.Count; $r++) { $from += " JOIN $(& $Render $m.Refs[$r] $false) AS $($aliases[$r]) ON $($aliases[$r]).id = a.id" }
    "$select $from"
}

#endregion
#region measuring -------------------------------------------------------------------------------

$statementLine = [regex]'^(?<kind>[A-Z]{2,}(?: [A-Z]{2,})*) (?<target>\S.*)$'
# Counts what a verbose stream sent: round trips, statements, state statements, DDL statements.
function Get-Counts([string[]] $Lines, [string] $StateSchema) {
    $trips = 0; $statements = 0; $state = 0; $ddl = 0; $inBatch = 0; $renewals = 0
    foreach ($line in $Lines) {
        $m = $statementLine.Match($line)
        if (-not $m.Success) { continue }
        $kind = $m.Groups['kind'].Value; $target = $m.Groups['target'].Value
        if ($kind -eq 'BATCH') { $trips++; $inBatch = [int]$target; continue }
        if ($kind -eq 'BEGIN') { continue }                      # sent with the next statement
        if ($kind -in 'COMMIT', 'ROLLBACK') { $trips++; continue }
        if ($inBatch -gt 0) { $inBatch-- } else {
            # The lease's heartbeat renews the lock row every few seconds on its own session: time, not work, drives it.
            if ($kind -eq 'UPDATE' -and $target -eq "$StateSchema.locks") { $renewals++; continue }
            $trips++
        }
        $statements++
        if ($target -like "$StateSchema.*" -or $target -eq $StateSchema -or $kind -like 'ADVISORY*') { $state++ }
        elseif ($kind -match '^(CREATE|DROP|ALTER)') { $ddl++ }
    }
    [pscustomobject]@{ Trips = $trips; Statements = $statements; State = $state; DDL = $ddl; Renewals = $renewals }
}

# Runs a cmdlet call with -Verbose; its time, output and counts.
function Measure-Sqb($Project, [string] $Work, [scriptblock] $Call) {
    Push-Location -LiteralPath $Project.Root
    try {
        $watch = [Diagnostics.Stopwatch]::StartNew()
        $records = @(& $Call 4>&1)
        $watch.Stop()
    }
    finally { Pop-Location }
    $output = @($records | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] })
    $lines = [string[]]@($records | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object Message)
    $counts = Get-Counts $lines $Project.StateSchema
    [pscustomobject]@{
        Work = $Work; Seconds = $watch.Elapsed.TotalSeconds; Trips = $counts.Trips; Statements = $counts.Statements
        State = $counts.State; DDL = $counts.DDL; Renewals = $counts.Renewals; Output = $output; Lines = $lines
    }
}

function Open-RawSession($Project) {
    $compiled = (Get-CoreType 'SQLBuild.Core.Project.ProjectCompiler')::Compile($Project.Root, [NullString]::Value, $null)
    $log = (Get-CoreType 'SQLBuild.Core.Logging.NullLog')::Instance
    (Get-CoreType 'SQLBuild.Core.Adapters.WarehouseFactory')::Create($compiled.Config.ActiveTarget.Connection, $log).OpenSession()
}

# The floor: $Sql through one session of the same driver, one statement per round trip, in transactions of $PerTransaction
# statements (0: all in one).
function Measure-Raw($Project, [string[]] $Sql, [int] $PerTransaction = 0) {
    $statement = Get-CoreType 'SQLBuild.Core.Adapters.SqlStatement'
    $session = Open-RawSession $Project
    try {
        $prepared = @($Sql | ForEach-Object { $statement::new('RAW', 'bench', $_, $null) })
        $size = $PerTransaction -gt 0 ? $PerTransaction : [Math]::Max(1, $prepared.Count)
        $watch = [Diagnostics.Stopwatch]::StartNew()
        for ($start = 0; $start -lt $prepared.Count; $start += $size) {
            $tx = $session.BeginTransaction()
            for ($i = $start; $i -lt [Math]::Min($prepared.Count, $start + $size); $i++) { $null = $session.Execute($prepared[$i]) }
            $tx.Commit()
        }
        $watch.Stop()
    }
    finally { $session.Dispose() }
    $watch.Elapsed.TotalSeconds
}

# SQLBuild and its floor alternately, $Rounds times (round i runs $Sqb[i % n], then $Floor[i % n]). Returns the first
# SQLBuild run (its counts and output) with Seconds and Floor set to the medians, and Rounds to each round's ratio.
function Measure-Rounds($Project, [string] $Work, [scriptblock[]] $Sqb, [scriptblock[]] $Floor) {
    $first = $null; $sqbSeconds = @(); $floorSeconds = @()
    for ($i = 0; $i -lt $Rounds; $i++) {
        $measured = Measure-Sqb $Project $Work $Sqb[$i % $Sqb.Count]
        $null = Assert-Succeeded $measured
        if (-not $first) { $first = $measured }
        $sqbSeconds += $measured.Seconds
        $floorSeconds += [double](& $Floor[$i % $Floor.Count])
    }
    $first.Seconds = Get-Median $sqbSeconds
    $first | Add-Member -NotePropertyName Floor -NotePropertyValue (Get-Median $floorSeconds)
    $first | Add-Member -NotePropertyName Rounds -NotePropertyValue (@(for ($i = 0; $i -lt $Rounds; $i++) { '{0:0.00}' -f ($sqbSeconds[$i] / $floorSeconds[$i]) }) -join ' ')
    $first
}

function Get-Median([double[]] $Values) {
    $sorted = @($Values | Sort-Object)
    $middle = [int][Math]::Floor($sorted.Count / 2)
    $sorted.Count % 2 ? $sorted[$middle] : ($sorted[$middle - 1] + $sorted[$middle]) / 2
}

function Get-SeedDdl([string] $Schema, [int] $Rows, [string] $Suffix) {
    foreach ($s in $seedNames) {
        "CREATE TABLE `"$Schema`".`"$s$Suffix`" (id BIGINT, amount DECIMAL(38,10))"
        "INSERT INTO `"$Schema`".`"$s$Suffix`" (id, amount) VALUES " + (@(1..$Rows | ForEach-Object { "($_, $($_ * 3 % 17).25)" }) -join ', ')
    }
}

# Same shape as a virtual build: physical versions (views over views), then one logical view each.
function Get-BuildDdl($Project, [string] $PhysicalSchema, [string] $LogicalSchema, [int] $Rows, [string] $Suffix) {
    "CREATE SCHEMA `"$PhysicalSchema`""
    Get-SeedDdl $PhysicalSchema $Rows $Suffix
    foreach ($n in $Project.Names) {
        $query = Get-ModelQuery $Project $n { param($ref, $isSeed) "`"$PhysicalSchema`".`"$ref$Suffix`"" }
        "CREATE VIEW `"$PhysicalSchema`".`"$n$Suffix`" AS $query"
    }
    if ($LogicalSchema) {
        "CREATE SCHEMA `"$LogicalSchema`""
        foreach ($n in @($seedNames) + $Project.Names) { "CREATE VIEW `"$LogicalSchema`".`"$n`" AS SELECT * FROM `"$PhysicalSchema`".`"$n$Suffix`"" }
    }
}

# The staged replace of every table, as SQLBuild does it on PostgreSQL: a staging table from the model's query, then the
# rows replaced in place (views keep reading the table), then the staging table dropped. $Relation: name -> "schema"."name".
function Get-StagedReplaceDdl($Project, [hashtable] $Relation) {
    foreach ($n in $Project.Names) {
        $target = $Relation[$n]
        $staging = $target -replace '"$', '__raw_staging"'
        $query = Get-ModelQuery $Project $n { param($ref, $isSeed) $Relation[$ref] }
        "CREATE TABLE $staging AS $query"
        "DELETE FROM $target"
        "INSERT INTO $target SELECT * FROM $staging"
        "DROP TABLE $staging"
    }
}

function Get-Quoted([string] $Relation) { ($Relation -split '\.', 2 | ForEach-Object { "`"$_`"" }) -join '.' }

# Compile in a fresh pwsh: the time of Get-SqbModel alone (after Import-Module), as the child measures it.
function Measure-FreshCompile($Project) {
    $process = [Environment]::ProcessPath
    $prefix = @()
    if ([IO.Path]::GetFileNameWithoutExtension($process) -ne 'pwsh') {
        $dll = Join-Path $PSHOME 'pwsh.dll'
        if (Test-Path -LiteralPath $dll) { $prefix = @($dll) } else { $process = Join-Path $PSHOME ($IsWindows ? 'pwsh.exe' : 'pwsh') }
    }
    $command = "Import-Module '$($manifest -replace "'", "''")'; `$w = [Diagnostics.Stopwatch]::StartNew(); `$null = @(Get-SqbModel -Path '$($Project.Root -replace "'", "''")'); " +
        "[Console]::Out.Write(`$w.Elapsed.TotalSeconds.ToString([cultureinfo]::InvariantCulture))"
    $out = & $process @prefix -NoProfile -NonInteractive -Command $command
    if ($LASTEXITCODE -ne 0) { throw "the fresh compile failed: $out" }
    [double]::Parse((@($out)[-1].Trim() -split '\s+')[-1], [cultureinfo]::InvariantCulture)
}

function Remove-BenchProject($Project) {
    if (-not $Project) { return }
    if ($Keep) { Write-Output "Kept: $($Project.Root) (schemas bench_*$($Project.Id)*)"; return }
    try {
        $statement = Get-CoreType 'SQLBuild.Core.Adapters.SqlStatement'
        $session = Open-RawSession $Project
        try {
            $d = $session.Dialect
            $schemas = @($session.Query($statement::new('BENCH', 'schemata', 'SELECT schema_name FROM information_schema.schemata', $null)) |
                    ForEach-Object { [string]$_[0] } | Where-Object { $_ -like "bench_*$($Project.Id)*" })
            # Logical views first, then physical views (upper layers first), then tables; no CASCADE.
            # Autocommit: one transaction would need a lock per relation (out of shared memory).
            $catalog = $session.ReadCatalog([string[]]$schemas, $false)
            $ordered = @($catalog.Relations | Sort-Object @{ e = { "$($_.Kind)" -eq 'View' ? 0 : 1 } }, @{ e = { $_.Schema -like '*physical*' ? 1 : 0 } }, @{ e = { $_.Name }; Descending = $true })
            foreach ($r in $ordered) {
                if ("$($r.Kind)" -eq 'View') { $null = $session.Execute($d.DropViewIfExists($r.Relation)) }
                else { $null = $session.Execute($d.DropTableIfExists($r.Relation)) }
            }
            foreach ($s in $schemas) { $null = $session.Execute($d.DropSchemaIfExists($s)) }
        }
        finally { $session.Dispose() }
    }
    catch { Write-Output "Virtual.Bench: cleanup of the bench schemas failed: $_" }
    Remove-Item -LiteralPath $Project.Root -Recurse -Force -ErrorAction SilentlyContinue
}

function Assert-Succeeded($Measured) {
    $result = $Measured.Output | Where-Object { $_.PSObject.Properties['Status'] } | Select-Object -First 1
    if ($null -eq $result -or $result.Status -notin 'succeeded', 'finalized') {
        $why = if ($result -and $result.PSObject.Properties['Nodes']) { @($result.Nodes | Where-Object Status -EQ 'Failed' | Select-Object -First 3 | ForEach-Object Error) -join '; ' } else { '' }
        throw "$($Measured.Work) failed: $why"
    }
    $result
}

#endregion
#region run -------------------------------------------------------------------------------------

$rows = [System.Collections.Generic.List[object]]::new()
function Add-Row([int] $Size, $Measured, [double] $Floor, [string] $FloorNote) {
    # Each figure is printed as soon as it is measured (a long run stopped half way keeps what it measured).
    Write-Output ("  {0,6} {1,-40} {2,7:0.00} s  floor {3,6:0.00} s  trips {4,6}  statements {5,6}  state {6,5}  ddl {7,6}" -f
        $Size, $Measured.Work, $Measured.Seconds, $Floor, $Measured.Trips, $Measured.Statements, $Measured.State, $Measured.DDL)
    $rows.Add([pscustomobject]@{
            Models = $Size; Work = $Measured.Work; Seconds = [Math]::Round($Measured.Seconds, 2)
            Floor = $FloorNote ? $FloorNote : ($Floor -gt 0 ? [Math]::Round($Floor, 2).ToString([cultureinfo]::InvariantCulture) : '-')
            Ratio = $Floor -gt 0 ? [Math]::Round($Measured.Seconds / $Floor, 2) : $null
            Trips = $Measured.Trips; Stmts = $Measured.Statements; State = $Measured.State; DDL = $Measured.DDL
            Renew = $Measured.PSObject.Properties['Renewals'] ? $Measured.Renewals : 0
            Rounds = $Measured.PSObject.Properties['Rounds'] ? $Measured.Rounds : ''
        })
}

$failed = $false
$breakdown = @()
try {
    # One switch (and its raw floor) locks every logical view and the version it reads in ONE transaction: PostgreSQL's
    # shared lock table must hold about three locks a model (max_locks_per_transaction x max_connections).
    $probe = New-BenchProject 10 'view' $false 'probe'
    try {
        $statement = Get-CoreType 'SQLBuild.Core.Adapters.SqlStatement'
        $session = Open-RawSession $probe
        try {
            $slots = [long]$session.ExecuteScalar($statement::new('BENCH', 'settings',
                    "SELECT current_setting('max_locks_per_transaction')::bigint * (current_setting('max_connections')::bigint + current_setting('max_prepared_transactions')::bigint)", $null))
        }
        finally { $session.Dispose() }
    }
    finally { Remove-Item -LiteralPath $probe.Root -Recurse -Force -ErrorAction SilentlyContinue }
    $tooLarge = @($Models | Where-Object { 3 * $_ -gt $slots })
    if ($tooLarge.Count) {
        throw "PostgreSQL's lock table holds $slots locks; one switch of $($tooLarge[0]) models needs about $(3 * $tooLarge[0]) (set max_locks_per_transaction to at least $([Math]::Ceiling(3 * $tooLarge[0] / 100)) for 100 connections, or run fewer models)"
    }
    foreach ($size in $Models) {
        Write-Output "Virtual.Bench: $size models in $Layers layers, 3 seeds, PostgreSQL $($env:SQB_TEST_PG_HOST):$($env:SQB_TEST_PG_PORT)"

        # --- views, virtual -------------------------------------------------------------------------
        if ('views' -in $Projects) {
        $v = New-BenchProject $size 'view' $true 'views'
        try {
            $fresh = Measure-FreshCompile $v
            Write-Output ("  {0,6} {1,-40} {2,7:0.00} s" -f $size, '(m) compile, fresh pwsh', $fresh)
            $rows.Add([pscustomobject]@{ Models = $size; Work = '(m) compile, fresh pwsh'; Seconds = [Math]::Round($fresh, 2); Floor = '-'; Ratio = $null; Trips = 0; Stmts = 0; State = 0; DDL = 0 })
            Push-Location -LiteralPath $v.Root; try { $null = Initialize-SqbState } finally { Pop-Location }

            $a = Measure-Sqb $v '(a) virtual build, views' { Invoke-SqbBuild -Verbose }
            $null = Assert-Succeeded $a
            Add-Row $size $a (Measure-Raw $v @(Get-BuildDdl $v "$($v.Schema)__raw_physical" "$($v.Schema)__raw" 20 '__v_raw1'))

            $b = Measure-Sqb $v '(b) no-op -ChangesOnly build' { Invoke-SqbBuild -ChangesOnly -Verbose }
            if ((Assert-Succeeded $b) -and @($b.Output[0].Nodes).Count -ne 0) { throw 'the no-op build built something' }
            Add-Row $size $b 0 'none'
            $breakdown = $b.Lines | ForEach-Object { $m = $statementLine.Match($_); if ($m.Success) { $m.Groups['kind'].Value + ' ' + ($m.Groups['target'].Value -replace "^$($v.StateSchema)\.", 'state.') } } |
                Group-Object | Sort-Object Count -Descending | ForEach-Object { '{0,5}  {1}' -f $_.Count, $_.Name }

            $r = Measure-Sqb $v '(r) reconcile' { Get-SqbReconcile -Verbose }
            if (@($r.Output).Count -ne 0) { throw "reconcile found $(@($r.Output).Count) finding(s) in a whole environment" }
            Add-Row $size $r 0 ''

            Write-Seeds $v 21
            $pr = Measure-Sqb $v '    build of pr_1 (every model changed)' { Invoke-SqbBuild -Environment pr_1 -Verbose }
            $null = Assert-Succeeded $pr
            # dev as it is now, kept as dev_0 so that (c) can promote back to it: every model changes both ways.
            Push-Location -LiteralPath $v.Root; try { $null = Publish-SqbEnvironment -From dev -To dev_0 } finally { Pop-Location }
            $null = Measure-Raw $v @(Get-BuildDdl $v "$($v.Schema)__raw_physical2" $null 21 '__v_raw2')
            $swapTo = {
                param([string] $Physical, [string] $Suffix)
                @(foreach ($n in @($seedNames) + $v.Names) { "CREATE OR REPLACE VIEW `"$($v.Schema)__raw`".`"$n`" AS SELECT * FROM `"$($v.Schema)__$Physical`".`"$n$Suffix`"" })
            }
            $forward = & $swapTo 'raw_physical2' '__v_raw2'; $back = & $swapTo 'raw_physical' '__v_raw1'
            $c = Measure-Rounds $v '(c) promote pr_1 -> dev' -Sqb { Publish-SqbEnvironment -From pr_1 -To dev -Verbose }, { Publish-SqbEnvironment -From dev_0 -To dev -Verbose } `
                -Floor { Measure-Raw $v $forward }, { Measure-Raw $v $back }
            if ($c.Output[0].RefChanges -lt $size) { throw "the promote changed $($c.Output[0].RefChanges) refs" }
            Add-Row $size $c $c.Floor
            Add-Row $size $pr 0 ''
        }
        finally { Remove-BenchProject $v }
        }

        # --- tables, virtual: refresh ----------------------------------------------------------------
        if ('tables' -in $Projects) {
        $t = New-BenchProject $size 'table' $true 'tables'
        try {
            Push-Location -LiteralPath $t.Root; try { $null = Initialize-SqbState } finally { Pop-Location }
            $first = Measure-Sqb $t '    virtual build, tables (setup)' { Invoke-SqbBuild -Verbose }
            $built = Assert-Succeeded $first
            $relation = @{}
            foreach ($node in $built.Nodes) { $relation[$node.Name] = Get-Quoted $node.Relation }
            $replace = @(Get-StagedReplaceDdl $t $relation)
            $e = Measure-Rounds $t '(e) refresh, tables (default build)' -Sqb { Invoke-SqbBuild -Verbose } -Floor { Measure-Raw $t $replace -PerTransaction 2000 }
            $count = @((Assert-Succeeded $e).Nodes | Where-Object Action -EQ 'refresh').Count
            if ($count -ne $size) { throw "the default build refreshed $count of $size tables" }
            Add-Row $size $e $e.Floor
            Add-Row $size $first 0 ''
        }
        finally { Remove-BenchProject $t }
        }

        # --- tables, direct: rebuild ----------------------------------------------------------------
        if ('direct' -in $Projects) {
        $d = New-BenchProject $size 'table' $false 'direct'
        try {
            $null = Assert-Succeeded (Measure-Sqb $d 'direct build (setup)' { Invoke-SqbBuild -Verbose })
            $relation = @{}
            foreach ($n in @($seedNames) + $d.Names) { $relation[$n] = "`"$($d.Schema)`".`"$n`"" }
            $replace = @(Get-StagedReplaceDdl $d $relation)
            $f = Measure-Rounds $d '(f) direct rebuild, tables' -Sqb { Invoke-SqbBuild -Verbose } -Floor { Measure-Raw $d $replace -PerTransaction 2000 }
            Add-Row $size $f $f.Floor
        }
        finally { Remove-BenchProject $d }
        }
    }
}
catch {
    $failed = $true
    Write-Output "Virtual.Bench FAILED: $_"
    Write-Output $_.ScriptStackTrace
}

$rows | Sort-Object Models, Work | Format-Table -AutoSize -Property Models, Work, Seconds, Floor, Ratio, Trips, Stmts, State, DDL, Renew, Rounds |
    Out-String -Width 200 | Write-Output
if ($breakdown) {
    Write-Output "Statements of the no-op -ChangesOnly build at $($Models[-1]) models (count, kind, target):"
    $breakdown | Write-Output
}

# Counts that must not grow with the model count, and per-model counts that must not grow either.
if (-not $failed -and $Models.Count -gt 1) {
    $growth = [System.Collections.Generic.List[string]]::new()
    $base = $Models[0]
    foreach ($work in '(a) virtual build, views', '(b) no-op -ChangesOnly build', '(c) promote pr_1 -> dev', '(r) reconcile') {
        $byWork = @($rows | Where-Object Work -EQ $work)
        $first = $byWork | Where-Object Models -EQ $base
        foreach ($row in $byWork | Where-Object Models -NE $base) {
            foreach ($field in 'Trips', 'State') {
                # Waves form from what is ready, so when the seeds finish splits the first layers a little differently
                # from run to run (a few statements either way); a count that grows with the models grows with them.
                if ($row.$field -gt [Math]::Max($first.$field * 1.1, $first.$field + 3)) { $growth.Add("$work`: $field $($first.$field) at $base models, $($row.$field) at $($row.Models)") }
            }
        }
    }
    foreach ($work in '(e) refresh, tables (default build)', '(f) direct rebuild, tables') {
        $byWork = @($rows | Where-Object Work -EQ $work)
        $first = $byWork | Where-Object Models -EQ $base
        foreach ($row in $byWork | Where-Object Models -NE $base) {
            $was = $first.Trips / $base; $now = $row.Trips / $row.Models
            if ($now -gt $was + 0.1) { $growth.Add(("{0}: {1:0.00} round trips per model at {2} models, {3:0.00} at {4}" -f $work, $was, $base, $now, $row.Models)) }
        }
    }
    if ($growth.Count) {
        $failed = $true
        Write-Output 'Virtual.Bench FAILED: counts grow with the model count:'
        $growth | ForEach-Object { Write-Output "  $_" }
    }
    else { Write-Output "Virtual.Bench: round trips and state statements of (a), (b), (c), (r) do not grow from $base to $($Models[-1]) models; round trips per model of (e), (f) do not grow." }
}
Write-Output ("Peak working set of this pwsh process: {0:0} MB" -f ([Diagnostics.Process]::GetCurrentProcess().PeakWorkingSet64 / 1MB))

#endregion
exit ($failed ? 1 : 0)
