<#
    Helpers for the virtual-mode Pester tests (Virtual.Tests.ps1, Processes.Tests.ps1): a virtual
    template project on DuckDB or PostgreSQL with its own target and state schemas, reads of the
    real engine (state tables, catalog, logical views) through the module's own core, and child
    `pwsh -NoProfile` processes that import the built module, for races, kills and interrupted runs.

        BeforeAll {
            Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
            Import-Module (Join-Path $PSScriptRoot 'VdeTestHelpers.psm1') -Force
            Import-SqbTestModule
        }
#>

Set-StrictMode -Version Latest

function Get-VdeEngine {
    <# The engines every scenario runs on, for Describe -ForEach; PostgreSQL skips without SQB_TEST_PG_*. #>
    $pg = Get-SqbTestPostgres
    @(
        @{ Engine = 'duckdb'; Skip = $false; SkipReason = $null }
        @{ Engine = 'postgres'; Skip = -not $pg.Available; SkipReason = $pg.SkipReason }
    )
}

function New-VdeProject {
    <#
    .SYNOPSIS
        New-SqbProject -Template virtual in a fresh folder, pointed at the engine with unique schemas:
        target dev -> t_<id> (VDE dev is unsuffixed: logical schema t_<id>; pr_1 -> t_<id>__pr_1),
        target prod -> p_<id>, state -> st_<id>. DuckDB keeps its file in the project folder.
        -Direct writes the direct template instead. -Initialize runs Initialize-SqbState, -Build also
        builds dev.
    #>
    param(
        [Parameter(Mandatory)] [ValidateSet('duckdb', 'postgres')] [string] $Engine,
        [switch] $Direct,
        [switch] $Initialize,
        [switch] $Build
    )
    $id = [Guid]::NewGuid().ToString('N').Substring(0, 10)
    $parent = if (Test-Path -LiteralPath 'TestDrive:\') { (Get-PSDrive -Name TestDrive).Root } else { [IO.Path]::GetTempPath() }
    $path = Join-Path $parent "vde_$id"
    $adapter = if ($Engine -eq 'postgres') { 'Postgres' } else { 'DuckDb' }
    $null = New-SqbProject -Path $path -Template ($Direct ? 'direct' : 'virtual') -Adapter $adapter
    $toml = Join-Path $path 'sqlbuild_project.toml'
    $text = [IO.File]::ReadAllText($toml)
    $text = $text.Replace('schema = "dev"', "schema = `"t_$id`"").Replace('schema = "prod"', "schema = `"p_$id`"").
        Replace('schema = "sqlbuild_state"', "schema = `"st_$id`"")
    if ($Engine -eq 'postgres') {
        $connection = @(
            '[connections.local]'
            'host = "${ENV:SQB_TEST_PG_HOST}"'
            "port = $([int]$env:SQB_TEST_PG_PORT)"
            'user = "${ENV:SQB_TEST_PG_USER}"'
            'password = "${ENV:SQB_TEST_PG_PASSWORD}"'
            'dbname = "${ENV:SQB_TEST_PG_DATABASE}"'
        ) -join "`n"
        $text = [regex]::Replace($text, '(?ms)^\[connections\.local\]\n.*?(?=^\[)', "$connection`n`n")
    }
    [IO.File]::WriteAllText($toml, $text, [Text.UTF8Encoding]::new($false))
    $project = [pscustomobject]@{
        PSTypeName  = 'SQLBuild.Tests.VdeProject'
        Path        = (Resolve-Path -LiteralPath $path).Path
        Engine      = $Engine
        Id          = $id
        Schema      = "t_$id"
        ProdSchema  = "p_$id"
        StateSchema = "st_$id"
    }
    if ($Initialize -or $Build) { $null = Initialize-SqbState -Path $project.Path }
    if ($Build) {
        $result = Invoke-SqbBuild -Path $project.Path
        if ($result.Status -ne 'succeeded') { throw "the initial build of $($project.Path) failed" }
    }
    $project
}

function Set-VdeModel {
    <# Writes (or overwrites) models/<folder>/<name>.sql of the project. #>
    param(
        [Parameter(Mandatory)] $Project,
        [Parameter(Mandatory)] [string] $Name,
        [Parameter(Mandatory)] [string] $Sql,
        [string] $Folder = 'marts'
    )
    $file = Join-Path $Project.Path 'models' $Folder "$Name.sql"
    $null = New-Item -ItemType Directory -Path (Split-Path -Parent $file) -Force
    [IO.File]::WriteAllText($file, $Sql, [Text.UTF8Encoding]::new($false))
}

function Edit-VdeStgCustomers {
    <# The change the scenarios promote: first_name upper-cased and a new trailing column 'edition'
       (stg_customers and its descendant dim_customers get new versions). #>
    param([Parameter(Mandatory)] $Project)
    Set-VdeModel -Project $Project -Folder 'staging' -Name 'stg_customers' -Sql @'
MODEL (
  materialized view,
  tags [staging],
  audits [not_null(customer_id), unique(customer_id)]
);
SELECT
  id AS customer_id,
  UPPER(first_name) AS first_name,
  last_name,
  email,
  signup_date,
  'v2' AS edition
FROM __seed("raw_customers")
'@
}

function Get-VdeLogicalSchema {
    param([Parameter(Mandatory)] $Project, [string] $Environment = 'dev')
    if ($Environment -eq 'dev') { $Project.Schema } else { "$($Project.Schema)__$Environment" }
}

#region engine access through the module's core ------------------------------------------------

function Open-VdeSession {
    <# A session on the dev target's warehouse connection (where the state store lives too). Dispose it. #>
    param([Parameter(Mandatory)] $Project)
    $compiled = (Get-SqbType 'SQLBuild.Core.Project.ProjectCompiler')::Compile($Project.Path, [NullString]::Value, $null)
    $log = (Get-SqbType 'SQLBuild.Core.Logging.NullLog')::Instance
    (Get-SqbType 'SQLBuild.Core.Adapters.WarehouseFactory')::Create($compiled.Config.ActiveTarget.Connection, $log).OpenSession()
}

function Test-VdeDatabase {
    <# False for a DuckDB project whose database file does not exist yet (opening it would create it). #>
    param([Parameter(Mandatory)] $Project)
    $Project.Engine -ne 'duckdb' -or @(Get-ChildItem -LiteralPath $Project.Path -Filter '*.duckdb' -File).Count -gt 0
}

function Enter-VdeLock {
    <# Takes a lock through the core's LockManager in THIS process (a live holder); dispose the returned lease to release it. #>
    param([Parameter(Mandatory)] $Project, [string] $Key = 'virtual_env:dev', [string] $Owner = ('test:' + [Guid]::NewGuid().ToString('N')))
    $compiled = (Get-SqbType 'SQLBuild.Core.Project.ProjectCompiler')::Compile($Project.Path, [NullString]::Value, $null)
    $log = (Get-SqbType 'SQLBuild.Core.Logging.NullLog')::Instance
    $store = (Get-SqbType 'SQLBuild.Core.State.StateStore')::Open($compiled, $log, 'tests')
    (Get-SqbType 'SQLBuild.Core.State.LockManager')::new($store, $log).Acquire($Key, $Owner, 'S014')
}

function Invoke-VdeSql {
    <# Runs SQL on the project's warehouse; returns each row as an object[] (use -Scalar for one value). #>
    param(
        [Parameter(Mandatory)] $Project,
        [Parameter(Mandatory)] [string] $Sql,
        [switch] $Scalar,
        [switch] $NonQuery
    )
    $session = Open-VdeSession -Project $Project
    try {
        $statement = (Get-SqbType 'SQLBuild.Core.Adapters.SqlStatement')::new('TEST', 'query', $Sql, $null)
        if ($NonQuery) { return $session.Execute($statement) }
        if ($Scalar) { return $session.ExecuteScalar($statement) }
        foreach ($row in $session.Query($statement)) { , $row }
    }
    finally { $session.Dispose() }
}

function Get-VdeReaderValue {
    <# What a reader of the logical view sees: SELECT <column> FROM <logical schema>.<model> WHERE <where>. #>
    param(
        [Parameter(Mandatory)] $Project,
        [string] $Environment = 'dev',
        [string] $Model = 'stg_customers',
        [string] $Column = 'first_name',
        [string] $Where = 'customer_id = 1'
    )
    $schema = Get-VdeLogicalSchema -Project $Project -Environment $Environment
    Invoke-VdeSql -Project $Project -Scalar -Sql "SELECT $Column FROM `"$schema`".`"$Model`" WHERE $Where"
}

function Format-VdeValue($Value) {
    if ($null -eq $Value -or $Value -is [DBNull]) { return '<null>' }
    if ($Value -is [datetime]) { return $Value.ToString('o') }
    [Convert]::ToString($Value, [Globalization.CultureInfo]::InvariantCulture)
}

function Get-VdeSnapshot {
    <#
    .SYNOPSIS
        Everything a command could change, as one comparable text: every state table's rows (sorted)
        and the catalog (relations, kinds, view definitions, columns) of the project's schemas.
        -ExcludeJournal leaves state_operations / state_operation_events out (a failed command records
        its failure there by design).
    #>
    param([Parameter(Mandatory)] $Project, [switch] $ExcludeJournal, [string[]] $ExcludeTable = @())
    if (-not (Test-VdeDatabase -Project $Project)) { return 'no database file' }
    $session = Open-VdeSession -Project $Project
    try {
        $stmt = Get-SqbType 'SQLBuild.Core.Adapters.SqlStatement'
        $lines = [Collections.Generic.List[string]]::new()
        $prefixes = @($Project.Schema, $Project.ProdSchema, $Project.StateSchema)
        $schemas = @($session.Query($stmt::new('TEST', 'schemata', 'SELECT schema_name FROM information_schema.schemata', $null)) |
                ForEach-Object { [string]$_[0] } | Where-Object { $s = $_; @($prefixes | Where-Object { $s.StartsWith($_) }).Count -gt 0 } |
                Sort-Object -Unique -CaseSensitive)
        $lines.Add("schemas: $($schemas -join ', ')")
        if ($schemas.Count -gt 0) {
            $catalog = $session.ReadCatalog([string[]]$schemas, $true)
            foreach ($r in @($catalog.Relations | Sort-Object { "$($_.Schema).$($_.Name)" } -CaseSensitive)) {
                $columns = @($catalog.ColumnsOf($r.Relation) | ForEach-Object { "$($_.Name) $($_.DataType)" }) -join ', '
                $lines.Add("relation $($r.Schema).$($r.Name) $($r.Kind) [$columns] $($r.ViewDefinition)")
            }
        }
        if ($schemas -contains $Project.StateSchema) {
            foreach ($table in (Get-SqbType 'SQLBuild.Core.State.StateSchema')::Tables) {
                if ($ExcludeJournal -and $table.Name -in 'state_operations', 'state_operation_events') { continue }
                if ($table.Name -in $ExcludeTable) { continue }
                $rows = @($session.Query($stmt::new('TEST', 'state', "SELECT * FROM `"$($Project.StateSchema)`".`"$($table.Name)`"", $null)) |
                        ForEach-Object { (@($_) | ForEach-Object { Format-VdeValue $_ }) -join ' | ' } | Sort-Object -CaseSensitive)
                $lines.Add("table $($table.Name): $($rows.Count) row(s)")
                foreach ($row in $rows) { $lines.Add("  $row") }
            }
        }
        $lines -join "`n"
    }
    finally { $session.Dispose() }
}

function Stop-VdePgQuery {
    <#
    .SYNOPSIS
        PostgreSQL keeps running a statement whose client was killed until the statement ends (e.g. a
        pg_sleep); its open CREATE TABLE would block a later DROP SCHEMA. Terminates the backends whose
        active pg_sleep statement writes into this project's physical schema. Returns how many it terminated.
    #>
    param([Parameter(Mandatory)] $Project)
    if ($Project.Engine -ne 'postgres') { return 0 }
    [int](Invoke-VdeSql -Project $Project -Scalar -Sql ("SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity " +
            "WHERE pid <> pg_backend_pid() AND state = 'active' AND query LIKE '%pg_sleep%' " +
            "AND query LIKE '%$($Project.Schema)__sqb_physical%' AND query NOT LIKE '%pg_terminate_backend%'"))
}

function Remove-VdeProject {
    <# Best effort: drops the project's PostgreSQL schemas (views first, then tables; no CASCADE) and deletes the folder. #>
    param($Project)
    if (-not $Project) { return }
    if ($Project.Engine -eq 'postgres' -and (Get-SqbTestPostgres).Available) {
        try {
            $session = Open-VdeSession -Project $Project
            try {
                $stmt = Get-SqbType 'SQLBuild.Core.Adapters.SqlStatement'
                $prefixes = @($Project.Schema, $Project.ProdSchema, $Project.StateSchema)
                $schemas = @($session.Query($stmt::new('TEST', 'schemata', 'SELECT schema_name FROM information_schema.schemata', $null)) |
                        ForEach-Object { [string]$_[0] } | Where-Object { $s = $_; @($prefixes | Where-Object { $s.StartsWith($_) }).Count -gt 0 })
                if ($schemas.Count -gt 0) {
                    $d = $session.Dialect
                    # Views may read views: drop in passes until nothing more goes.
                    for ($pass = 0; $pass -lt 6; $pass++) {
                        $left = @($session.ReadCatalog([string[]]$schemas, $false).Relations)
                        if ($left.Count -eq 0) { break }
                        foreach ($r in $left | Sort-Object { $_.Kind -ne 'View' }) {
                            try {
                                if ("$($r.Kind)" -eq 'View') { $null = $session.Execute($d.DropViewIfExists($r.Relation)) }
                                else { $null = $session.Execute($d.DropTableIfExists($r.Relation)) }
                            }
                            catch { }
                        }
                    }
                    foreach ($s in $schemas) {
                        try { $null = $session.Execute($stmt::new('DROP SCHEMA', $s, "DROP SCHEMA IF EXISTS $($d.QuoteIdentifier($s))", $null)) } catch { }
                    }
                }
            }
            finally { $session.Dispose() }
        }
        catch { }
    }
    Remove-Item -LiteralPath $Project.Path -Recurse -Force -ErrorAction SilentlyContinue
}

#endregion
#region child processes ------------------------------------------------------------------------

function Get-VdePwshCommand {
    <# This session's PowerShell: `dotnet pwsh.dll` when it runs as a dotnet tool (dotnet tool run pwsh). #>
    $exe = (Get-Process -Id $PID).Path
    $leaf = [IO.Path]::GetFileNameWithoutExtension($exe)
    if ($leaf -eq 'pwsh') { return @{ FilePath = $exe; Prefix = @() } }
    $dll = Join-Path $PSHOME 'pwsh.dll'
    if ($leaf -eq 'dotnet' -and (Test-Path -LiteralPath $dll)) { return @{ FilePath = $exe; Prefix = @($dll) } }
    @{ FilePath = (Join-Path $PSHOME ($IsWindows ? 'pwsh.exe' : 'pwsh')); Prefix = @() }
}

function Start-VdeChild {
    <#
    .SYNOPSIS
        Starts `pwsh -NoProfile` running $Body in the project folder with the built module imported.
        The body sees $ResultFile, $LogFile, $ReadyFile, $GoFile and the functions Save-Result,
        Write-Log, ConvertFrom-Err, Wait-Go. Returns the child (Process, files); extra environment
        variables go in -Environment (e.g. SQB_TEST_KILL_AT).
    #>
    param(
        [Parameter(Mandatory)] $Project,
        [Parameter(Mandatory)] [string] $Body,
        [hashtable] $Environment = @{},
        [string] $Name = 'child'
    )
    $dir = Join-Path $Project.Path ".children" ("$Name-" + [Guid]::NewGuid().ToString('N').Substring(0, 6))
    $null = New-Item -ItemType Directory -Path $dir -Force
    $q = { param($s) "'" + ($s -replace "'", "''") + "'" }
    $files = @{
        Script = Join-Path $dir 'child.ps1'; Result = Join-Path $dir 'result.json'; Log = Join-Path $dir 'log.txt'
        Ready = Join-Path $dir 'ready'; Go = Join-Path $dir 'go'; Out = Join-Path $dir 'stdout.txt'; Err = Join-Path $dir 'stderr.txt'
    }
    $script = @"
`$ErrorActionPreference = 'Stop'
`$ProgressPreference = 'SilentlyContinue'
`$PSStyle.OutputRendering = 'PlainText'
`$ResultFile = $(& $q $files.Result)
`$LogFile = $(& $q $files.Log)
`$ReadyFile = $(& $q $files.Ready)
`$GoFile = $(& $q $files.Go)
function Save-Result(`$Object) {
    `$Object | ConvertTo-Json -Depth 5 | Set-Content -LiteralPath "`$ResultFile.tmp" -Encoding utf8
    Move-Item -LiteralPath "`$ResultFile.tmp" -Destination `$ResultFile -Force
}
function Write-Log([string] `$Line) { [IO.File]::AppendAllText(`$LogFile, `$Line + [Environment]::NewLine) }
function ConvertFrom-Err(`$ErrorRecord) {
    [ordered]@{
        Outcome = 'failed'; ErrorId = `$ErrorRecord.FullyQualifiedErrorId; Category = "`$(`$ErrorRecord.CategoryInfo.Category)"
        Target = "`$(`$ErrorRecord.TargetObject)"; Message = `$ErrorRecord.Exception.Message
        RecommendedAction = if (`$ErrorRecord.ErrorDetails) { `$ErrorRecord.ErrorDetails.RecommendedAction } else { `$null }
    }
}
function Wait-Go {
    `$null = New-Item -ItemType File -Path `$ReadyFile -Force
    while (-not (Test-Path -LiteralPath `$GoFile)) { Start-Sleep -Milliseconds 10 }
}
try {
    Import-Module -Name $(& $q (Get-SqbModuleManifestPath))
    Set-Location -LiteralPath $(& $q $Project.Path)
$Body
}
catch {
    Save-Result ([ordered]@{ Outcome = 'crashed'; Message = "`$_"; ErrorId = `$_.FullyQualifiedErrorId })
    exit 3
}
"@
    [IO.File]::WriteAllText($files.Script, $script, [Text.UTF8Encoding]::new($false))
    $pwsh = Get-VdePwshCommand
    $envVars = @{ SQB_TEST_KILL_AT = $null; NO_COLOR = '1' }
    foreach ($k in $Environment.Keys) { $envVars[$k] = $Environment[$k] }
    $arguments = @($pwsh.Prefix) + @('-NoProfile', '-NonInteractive', '-File', $files.Script)
    $process = Start-Process -FilePath $pwsh.FilePath -ArgumentList $arguments -PassThru -NoNewWindow `
        -RedirectStandardOutput $files.Out -RedirectStandardError $files.Err -Environment $envVars
    [pscustomobject]@{
        PSTypeName = 'SQLBuild.Tests.VdeChild'
        Name = $Name; Process = $process; Id = $process.Id
        ResultFile = $files.Result; LogFile = $files.Log; ReadyFile = $files.Ready; GoFile = $files.Go
        OutFile = $files.Out; ErrFile = $files.Err
    }
}

function Get-VdeChildOutput {
    <# stdout, stderr and the log of a child, for failure messages. #>
    param([Parameter(Mandatory)] $Child)
    $parts = foreach ($f in $Child.OutFile, $Child.ErrFile, $Child.LogFile) {
        if (Test-Path -LiteralPath $f) { "--- $(Split-Path -Leaf $f)`n" + (Get-Content -LiteralPath $f -Raw) }
    }
    ($parts -join "`n") -replace '\x1b\[[0-9;?]*[A-Za-z]', ''
}

function Wait-VdeCondition {
    <# Polls $Condition until it returns a truthy value or the timeout passes (then throws $Because). #>
    param(
        [Parameter(Mandatory)] [scriptblock] $Condition,
        [double] $TimeoutSeconds = 60,
        [string] $Because = 'condition',
        $Child
    )
    $watch = [Diagnostics.Stopwatch]::StartNew()
    while ($watch.Elapsed.TotalSeconds -lt $TimeoutSeconds) {
        $value = & $Condition
        if ($value) { return $value }
        Start-Sleep -Milliseconds 50
    }
    $detail = if ($Child) { "`n" + (Get-VdeChildOutput -Child $Child) } else { '' }
    throw "timed out after $TimeoutSeconds s waiting for $Because$detail"
}

function Wait-VdeChildLog {
    <# Waits until the child's log has a line matching $Pattern (or the child exits). #>
    param([Parameter(Mandatory)] $Child, [Parameter(Mandatory)] [string] $Pattern, [double] $TimeoutSeconds = 60)
    Wait-VdeCondition -Child $Child -TimeoutSeconds $TimeoutSeconds -Because "log line /$Pattern/ of child $($Child.Id)" -Condition {
        if ($Child.Process.HasExited) { throw "child $($Child.Id) exited ($($Child.Process.ExitCode)) before logging /$Pattern/`n$(Get-VdeChildOutput -Child $Child)" }
        (Test-Path -LiteralPath $Child.LogFile) -and ((Get-Content -LiteralPath $Child.LogFile) -match $Pattern)
    }
}

function Wait-VdeChild {
    <# Waits for the child to exit; returns its result (the JSON it saved, or $null) with ExitCode. #>
    param([Parameter(Mandatory)] $Child, [double] $TimeoutSeconds = 120)
    if (-not $Child.Process.WaitForExit([int]($TimeoutSeconds * 1000))) {
        Stop-VdeChild -Child $Child
        throw "child $($Child.Id) did not exit within $TimeoutSeconds s`n$(Get-VdeChildOutput -Child $Child)"
    }
    $Child.Process.WaitForExit()
    $result = if (Test-Path -LiteralPath $Child.ResultFile) { Get-Content -LiteralPath $Child.ResultFile -Raw | ConvertFrom-Json } else { $null }
    [pscustomobject]@{ ExitCode = $Child.Process.ExitCode; Result = $result; Output = (Get-VdeChildOutput -Child $Child) }
}

function Stop-VdeChild {
    <# Kills the child (SIGKILL on Unix: no cleanup runs) if it is still running, and waits for it. #>
    param($Child)
    if (-not $Child) { return }
    if (-not $Child.Process.HasExited) {
        Stop-Process -Id $Child.Id -Force -ErrorAction SilentlyContinue
        $null = $Child.Process.WaitForExit(30000)
    }
}

#endregion


function Assert-VdeError {
    <#
    .SYNOPSIS
        Asserts what a user sees of an SQLBuild error: FullyQualifiedErrorId starting with
        "<code>.<Name>," (the cmdlet follows the comma), the category, the target object, and a
        recommended action (wildcard).
    #>
    param(
        [Parameter(Mandatory)] [System.Management.Automation.ErrorRecord] $ErrorRecord,
        [Parameter(Mandatory)] [string] $ErrorId,
        [Parameter(Mandatory)] [System.Management.Automation.ErrorCategory] $Category,
        $Target,
        [string] $ActionLike,
        [string] $MessageLike
    )
    $ErrorRecord.FullyQualifiedErrorId | Should -BeLike "$ErrorId,*"
    $ErrorRecord.CategoryInfo.Category | Should -Be $Category
    if ($PSBoundParameters.ContainsKey('Target')) { "$($ErrorRecord.TargetObject)" | Should -Be "$Target" }
    if ($ActionLike) {
        $ErrorRecord.ErrorDetails | Should -Not -BeNullOrEmpty
        $ErrorRecord.ErrorDetails.RecommendedAction | Should -BeLike $ActionLike
    }
    if ($MessageLike) { $ErrorRecord.Exception.Message | Should -BeLike $MessageLike }
    # Expected failures carry no .NET stack trace in what the user reads.
    "$($ErrorRecord.Exception.Message)" | Should -Not -Match '\bat SQLBuild\.'
}

Export-ModuleMember -Function Get-VdeEngine, New-VdeProject, Set-VdeModel, Edit-VdeStgCustomers, Get-VdeLogicalSchema, Open-VdeSession,
    Test-VdeDatabase, Enter-VdeLock, Invoke-VdeSql, Get-VdeReaderValue, Get-VdeSnapshot, Remove-VdeProject, Stop-VdePgQuery, Get-VdePwshCommand, Start-VdeChild, Get-VdeChildOutput,
    Wait-VdeCondition, Wait-VdeChildLog, Wait-VdeChild, Stop-VdeChild, Assert-VdeError
