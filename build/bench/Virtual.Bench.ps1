#Requires -Version 7.4
<#
.SYNOPSIS
    Virtual mode at 1,000 models on PostgreSQL: full build, no-op -ChangesOnly build and a 1,000-model
    promote, each beside the same DDL sent raw through one session in one transaction.

.DESCRIPTION
    Generates a project of -Models view models (3 seeds; 10 layers, each model reading one to three
    models of the layer below) on the PostgreSQL of SQB_TEST_PG_* (build.ps1 -Task Bench starts one),
    with its own target and state schemas, and measures:

      (a) full virtual build       Invoke-SqbBuild of dev from nothing
      (b) no-op -ChangesOnly build Invoke-SqbBuild -ChangesOnly with every model unchanged
      (c) promote                  Publish-SqbEnvironment of pr_1 (every model changed) into dev

    Beside each: (d) the same DDL (CREATE SCHEMA, seed tables and rows, one CREATE VIEW per physical
    version and one per logical view; for the promote one CREATE OR REPLACE VIEW per logical view),
    generated here and sent raw through one session in one transaction, as the floor no tool can beat.

    Statements are counted from the verbose stream (each line is "<KIND> <target>"); "state" is the
    part sent to the state store (targets in the state schema, and its advisory locks).
    Prints a table; exits 1 when a step fails or PostgreSQL is missing and CI is set.

.EXAMPLE
    dotnet tool run pwsh -NoProfile -File ./build.ps1 -Task Bench
#>
[CmdletBinding()]
param(
    [string] $ModuleManifest = (Join-Path $PSScriptRoot '..' '..' 'out' 'SQLBuild' 'SQLBuild.psd1'),
    [ValidateRange(10, 100000)] [int] $Models = 1000,
    [ValidateRange(1, 100)] [int] $Layers = 10,
    # Keep the project folder and the schemas (for a closer look); default: drop them.
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

Import-Module -Name $ModuleManifest
# Core types live in the module's private load context (for the raw-DDL baseline only).
$alc = [System.Runtime.Loader.AssemblyLoadContext]::All | Where-Object Name -EQ 'SQLBuild' | Select-Object -First 1
function Get-CoreType([string] $Name) {
    foreach ($a in $alc.Assemblies) { $t = $a.GetType($Name, $false); if ($t) { return $t } }
    throw "type $Name not found"
}

#region project -----------------------------------------------------------------------------------

$id = [Guid]::NewGuid().ToString('N').Substring(0, 8)
$schema = "bench_$id"
$stateSchema = "bench_state_$id"
$root = Join-Path ([IO.Path]::GetTempPath()) "sqb-bench-$id"
$utf8 = [Text.UTF8Encoding]::new($false)
function Write-ProjectFile([string] $Relative, [string] $Text) {
    $path = Join-Path $root $Relative
    $null = New-Item -ItemType Directory -Path (Split-Path -Parent $path) -Force
    [IO.File]::WriteAllText($path, $Text, $utf8)
}

Write-ProjectFile 'sqlbuild_project.toml' @"
name = "bench"
adapter = "postgres"
default_target = "dev"

[settings]
virtual_environments = true
concurrency = 4

[connections.local]
host = "`${ENV:SQB_TEST_PG_HOST}"
port = $([int]$env:SQB_TEST_PG_PORT)
user = "`${ENV:SQB_TEST_PG_USER}"
password = "`${ENV:SQB_TEST_PG_PASSWORD}"
dbname = "`${ENV:SQB_TEST_PG_DATABASE}"

[targets.dev]
connection = "local"
schema = "$schema"

[targets.dev.state]
backend = "postgres"
schema = "$stateSchema"
unsuffixed_virtual_env = "dev"
"@

$seedNames = 'seed_0', 'seed_1', 'seed_2'
function Write-Seeds([int] $Rows) {
    foreach ($s in $seedNames) {
        $lines = @('id,amount') + (1..$Rows | ForEach-Object { "$_,$($_ * 3 % 17).25" })
        Write-ProjectFile "seeds/$s.csv" (($lines -join "`n") + "`n")
    }
}
Write-Seeds -Rows 20

# Layered DAG: layer 0 reads the seeds, layer k reads one to three models of layer k - 1.
$perLayer = [int][Math]::Ceiling($Models / $Layers)
$random = [Random]::new(42)
$names = @(0..($Models - 1) | ForEach-Object { 'm_{0:d4}' -f $_ })
$modelSql = [ordered]@{}   # name -> (sql with the refs as names, refs in order)
for ($i = 0; $i -lt $Models; $i++) {
    $layer = [int][Math]::Floor($i / $perLayer)
    if ($layer -eq 0) {
        $modelSql[$names[$i]] = @{ Refs = @(); Seed = $seedNames[$i % 3] }
        continue
    }
    $below = @((($layer - 1) * $perLayer)..([Math]::Min($layer * $perLayer, $Models) - 1))
    $count = 1 + $random.Next(3)
    $refs = @(1..$count | ForEach-Object { $names[$below[$random.Next($below.Count)]] } | Select-Object -Unique)
    $modelSql[$names[$i]] = @{ Refs = $refs; Seed = $null }
}
# The model SQL with each reference rendered by $Render (a scriptblock: name -> relation text).
function Get-ModelQuery([string] $Name, [scriptblock] $Render) {
    $m = $modelSql[$Name]
    if ($m.Seed) { return "SELECT id, amount AS v FROM $(& $Render $m.Seed $true)" }
    $aliases = 'a', 'b', 'c'
    $select = 'SELECT a.id, ' + (@(0..($m.Refs.Count - 1) | ForEach-Object { "$($aliases[$_]).v" }) -join ' + ') + ' AS v'
    $from = "FROM $(& $Render $m.Refs[0] $false) AS a"
    for ($r = 1; $r -lt $m.Refs.Count; $r++) { $from += " JOIN $(& $Render $m.Refs[$r] $false) AS $($aliases[$r]) ON $($aliases[$r]).id = a.id" }
    "$select $from"
}
foreach ($n in $names) {
    $sql = Get-ModelQuery $n { param($ref, $isSeed) $isSeed ? "__seed(`"$ref`")" : "__ref(`"$ref`")" }
    Write-ProjectFile "models/layer_$([Math]::Floor([array]::IndexOf($names, $n) / $perLayer))/$n.sql" "MODEL (materialized view);`n$sql`n"
}

#endregion
#region measuring -------------------------------------------------------------------------------

$statementLine = [regex]'^(?<kind>[A-Z]{2,}(?: [A-Z]{2,})*) (?<target>\S.*)$'
# Runs a cmdlet call with -Verbose and counts the statements it sent (total, state store, DDL).
function Measure-Sqb([string] $Operation, [scriptblock] $Call) {
    $watch = [Diagnostics.Stopwatch]::StartNew()
    $records = @(& $Call 4>&1)
    $watch.Stop()
    $output = @($records | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] })
    $lines = @($records | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object Message)
    $total = 0; $state = 0; $ddl = 0
    foreach ($line in $lines) {
        $m = $statementLine.Match($line)
        if (-not $m.Success) { continue }
        $total++
        $kind = $m.Groups['kind'].Value; $target = $m.Groups['target'].Value
        if ($target -like "$stateSchema.*" -or $target -eq $stateSchema -or $kind -like 'ADVISORY*') { $state++ }
        elseif ($kind -match '^(CREATE|DROP|ALTER)') { $ddl++ }
    }
    [pscustomobject]@{
        Operation = $Operation; Seconds = [Math]::Round($watch.Elapsed.TotalSeconds, 2)
        Statements = $total; State = $state; DDL = $ddl; Output = $output; Lines = $lines
    }
}

# The raw baseline: the statements through one session of the same driver, in one transaction.
function Measure-Raw([string] $Operation, [string[]] $Sql) {
    $compiled = (Get-CoreType 'SQLBuild.Core.Project.ProjectCompiler')::Compile($root, [NullString]::Value, $null)
    $log = (Get-CoreType 'SQLBuild.Core.Logging.NullLog')::Instance
    $statement = Get-CoreType 'SQLBuild.Core.Adapters.SqlStatement'
    $session = (Get-CoreType 'SQLBuild.Core.Adapters.WarehouseFactory')::Create($compiled.Config.ActiveTarget.Connection, $log).OpenSession()
    try {
        $prepared = @($Sql | ForEach-Object { $statement::new('RAW', 'bench', $_, $null) })
        $watch = [Diagnostics.Stopwatch]::StartNew()
        $tx = $session.BeginTransaction()
        foreach ($s in $prepared) { $null = $session.Execute($s) }
        $tx.Commit()
        $watch.Stop()
    }
    finally { $session.Dispose() }
    [pscustomobject]@{ Operation = $Operation; Seconds = [Math]::Round($watch.Elapsed.TotalSeconds, 2); Statements = $Sql.Count; State = 0; DDL = $Sql.Count }
}

function Get-SeedDdl([string] $PhysicalSchema, [int] $Rows, [string] $Suffix) {
    foreach ($s in $seedNames) {
        "CREATE TABLE `"$PhysicalSchema`".`"$s$Suffix`" (id BIGINT, amount DECIMAL(38,10))"
        "INSERT INTO `"$PhysicalSchema`".`"$s$Suffix`" (id, amount) VALUES " + (@(1..$Rows | ForEach-Object { "($_, $($_ * 3 % 17).25)" }) -join ', ')
    }
}

# Same shape as a virtual build: physical versions (views over views), then one logical view each.
function Get-BuildDdl([string] $PhysicalSchema, [string] $LogicalSchema, [int] $Rows, [string] $Suffix) {
    "CREATE SCHEMA `"$PhysicalSchema`""
    Get-SeedDdl $PhysicalSchema $Rows $Suffix
    foreach ($n in $names) {
        $query = Get-ModelQuery $n { param($ref, $isSeed) "`"$PhysicalSchema`".`"$ref$Suffix`"" }
        "CREATE VIEW `"$PhysicalSchema`".`"$n$Suffix`" AS $query"
    }
    "CREATE SCHEMA `"$LogicalSchema`""
    foreach ($n in @($seedNames) + $names) { "CREATE VIEW `"$LogicalSchema`".`"$n`" AS SELECT * FROM `"$PhysicalSchema`".`"$n$Suffix`"" }
}

#endregion
#region run -------------------------------------------------------------------------------------

$rows = [System.Collections.Generic.List[object]]::new()
$failed = $false
try {
    Push-Location -LiteralPath $root
    Write-Output "Virtual.Bench: $Models view models in $Layers layers, 3 seeds, PostgreSQL $($env:SQB_TEST_PG_HOST):$($env:SQB_TEST_PG_PORT), schemas $schema / $stateSchema"
    $compileWatch = [Diagnostics.Stopwatch]::StartNew()
    $null = @(Get-SqbModel)
    $compileWatch.Stop()
    $null = Initialize-SqbState

    # (a) full virtual build, beside the same DDL raw.
    $a = Measure-Sqb '(a) full virtual build' { Invoke-SqbBuild -Verbose }
    if ($a.Output[0].Status -ne 'succeeded') { throw "the full build failed: $(@($a.Output[0].Nodes | Where-Object Status -EQ 'Failed' | Select-Object -First 3 | ForEach-Object Error) -join '; ')" }
    $rows.Add($a)
    $rows.Add((Measure-Raw '(d) same DDL raw, one transaction' @(Get-BuildDdl "${schema}__raw_physical" "${schema}__raw" 20 '__v_raw1')))

    # (b) no-op -ChangesOnly build of the unchanged models.
    $b = Measure-Sqb '(b) no-op -ChangesOnly build' { Invoke-SqbBuild -ChangesOnly -Verbose }
    if ($b.Output[0].Status -ne 'succeeded' -or @($b.Output[0].Nodes).Count -ne 0) { throw 'the no-op build built something' }
    $rows.Add($b)
    $rows.Add([pscustomobject]@{ Operation = '(d) same DDL raw (none to send)'; Seconds = 0; Statements = 0; State = 0; DDL = 0 })

    # (c) promote of a VDE in which every model changed (the seeds got a row).
    Write-Seeds -Rows 21
    $pr = Measure-Sqb '    build of pr_1 (every model changed)' { Invoke-SqbBuild -Environment pr_1 -Verbose }
    if ($pr.Output[0].Status -ne 'succeeded') { throw 'the pr_1 build failed' }
    $c = Measure-Sqb '(c) promote pr_1 -> dev' { Publish-SqbEnvironment -From pr_1 -To dev -Verbose }
    if ($c.Output[0].RefChanges -lt $Models) { throw "the promote changed $($c.Output[0].RefChanges) refs" }
    $rows.Add($c)
    $rawSwitch = @(Get-BuildDdl "${schema}__raw_physical2" "${schema}__raw_unused" 21 '__v_raw2' | Where-Object { $_ -notlike "*__raw_unused*" })
    $null = Measure-Raw 'setup' $rawSwitch
    $swap = @(foreach ($n in @($seedNames) + $names) { "CREATE OR REPLACE VIEW `"${schema}__raw`".`"$n`" AS SELECT * FROM `"${schema}__raw_physical2`".`"$($n)__v_raw2`"" })
    $rows.Add((Measure-Raw '(d) same view swaps raw, one transaction' $swap))
    $rows.Add($pr)

    # Where the no-op build's statements went, and what a project compile alone costs.
    $breakdown = $b.Lines | ForEach-Object { $m = $statementLine.Match($_); if ($m.Success) { $m.Groups['kind'].Value + ' ' + ($m.Groups['target'].Value -replace "^$stateSchema\.", 'state.') } } |
        Group-Object | Sort-Object Count -Descending | ForEach-Object { '{0,5}  {1}' -f $_.Count, $_.Name }
}
catch {
    $failed = $true
    Write-Output "Virtual.Bench FAILED: $_"
    Write-Output $_.ScriptStackTrace
}
finally {
    Pop-Location -ErrorAction SilentlyContinue
}

$rows | Format-Table -AutoSize -Property Operation, Seconds, Statements, @{ n = 'State'; e = { $_.State } }, @{ n = 'DDL'; e = { $_.DDL } } |
    Out-String -Width 200 | Write-Output
if (-not $failed) {
    Write-Output ("Project compile (Get-SqbModel, {0} models): {1:0.00} s" -f $Models, $compileWatch.Elapsed.TotalSeconds)
    Write-Output "Statements of the no-op -ChangesOnly build (count, kind, target):"
    $breakdown | Write-Output
}

#endregion
#region cleanup ---------------------------------------------------------------------------------

if (-not $Keep) {
    try {
        $compiled = (Get-CoreType 'SQLBuild.Core.Project.ProjectCompiler')::Compile($root, [NullString]::Value, $null)
        $log = (Get-CoreType 'SQLBuild.Core.Logging.NullLog')::Instance
        $statement = Get-CoreType 'SQLBuild.Core.Adapters.SqlStatement'
        $session = (Get-CoreType 'SQLBuild.Core.Adapters.WarehouseFactory')::Create($compiled.Config.ActiveTarget.Connection, $log).OpenSession()
        try {
            $d = $session.Dialect
            $schemas = @($session.Query($statement::new('BENCH', 'schemata', 'SELECT schema_name FROM information_schema.schemata', $null)) |
                    ForEach-Object { [string]$_[0] } | Where-Object { $_ -like "bench_*$id*" })
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
    Remove-Item -LiteralPath $root -Recurse -Force -ErrorAction SilentlyContinue
}
else { Write-Output "Kept: $root (schemas bench_*$id*)" }

#endregion
exit ($failed ? 1 : 0)
