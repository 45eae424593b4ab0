<#
    The one helper module of the Pester tests. Import it in BeforeDiscovery (for the engine list) and
    in BeforeAll:

        BeforeDiscovery {
            Import-Module (Join-Path $PSScriptRoot 'SQLBuild.TestHelpers.psm1') -Force
            $script:Engines = Get-SqbTestEngine
        }
        BeforeAll {
            Import-Module (Join-Path $PSScriptRoot 'SQLBuild.TestHelpers.psm1') -Force
            Import-SqbTestModule
        }

    The module under test is the BUILT one (out/SQLBuild, from build.ps1 -Task Build), never the
    source tree; set SQB_MODULE_PATH to test another copy (a folder or its .psd1).

    One function per job, by region: the module under test; engines; test projects (the shop template
    on DuckDB or PostgreSQL, or files given by the test); reading and damaging an engine through the
    module's own core; child `pwsh -NoProfile` processes (one-shot scripts, and long-running children
    for races, kills and interrupted runs); the interactive host of a typed confirmation; error
    assertions; the pinned command surface.
#>

Set-StrictMode -Version Latest

$script:RepoRoot = (Resolve-Path -LiteralPath (Join-Path $PSScriptRoot '..' '..')).Path

#region the module under test -----------------------------------------------------------------

function Get-SqbRepoRoot {
    [OutputType([string])]
    param()
    $script:RepoRoot
}

function Get-SqbModuleManifestPath {
    <# Path of the built module's manifest (out/SQLBuild/SQLBuild.psd1, or SQB_MODULE_PATH). #>
    [OutputType([string])]
    param()
    $path = if ($env:SQB_MODULE_PATH) { $env:SQB_MODULE_PATH } else { Join-Path $script:RepoRoot 'out' 'SQLBuild' }
    if (Test-Path -LiteralPath $path -PathType Container) { $path = Join-Path $path 'SQLBuild.psd1' }
    if (-not (Test-Path -LiteralPath $path)) {
        throw "The built module was not found at '$path'. Run: dotnet tool run pwsh -NoProfile -File ./build.ps1 -Task Build"
    }
    (Resolve-Path -LiteralPath $path).Path
}

function Import-SqbTestModule {
    <# Imports the built module into the test session (global scope, so tests see its cmdlets). #>
    [OutputType([System.Management.Automation.PSModuleInfo])]
    param([switch] $PassThru)
    $module = Import-Module -Name (Get-SqbModuleManifestPath) -Global -PassThru -ErrorAction Stop
    if ($PassThru) { $module }
}

function Get-SqbType {
    <#
    .SYNOPSIS
        A type from SQLBuild.Core by full name, e.g. Get-SqbType 'SQLBuild.SqbNodeStatus'. Needed
        because PowerShell's [type] literals do not see assemblies in the module's private load
        context. Prefer matching PSTypeNames ('SQLBuild.SqbBuildResult') where that is enough.
    #>
    [OutputType([type])]
    param([Parameter(Mandatory)] [string] $FullName)
    $context = [System.Runtime.Loader.AssemblyLoadContext]::All | Where-Object Name -EQ 'SQLBuild' | Select-Object -First 1
    if (-not $context) { throw "The 'SQLBuild' load context does not exist: import the module first (Import-SqbTestModule)." }
    foreach ($assembly in $context.Assemblies) {
        $type = $assembly.GetType($FullName, $false)
        if ($type) { return $type }
    }
    throw "Type '$FullName' was not found in the 'SQLBuild' load context."
}

#endregion
#region engines ------------------------------------------------------------------------------

function New-SqbTestSchemaName {
    <# A fresh, valid, lowercase schema name no other test uses: sqbt_<12 hex>. #>
    [OutputType([string])]
    param([string] $Prefix = 'sqbt')
    '{0}_{1}' -f $Prefix, [Guid]::NewGuid().ToString('N').Substring(0, 12)
}

function Get-SqbTestPostgres {
    <#
    .SYNOPSIS
        Connection info for the throwaway PostgreSQL that build.ps1 -Task Test starts, plus a fresh
        unique schema name. Available is $false (with SkipReason) when the SQB_TEST_PG_* variables
        are not set; use it as  It ... -Skip:(-not (Get-SqbTestPostgres).Available)
    #>
    param()
    $names = 'SQB_TEST_PG_HOST', 'SQB_TEST_PG_PORT', 'SQB_TEST_PG_USER', 'SQB_TEST_PG_PASSWORD', 'SQB_TEST_PG_DATABASE'
    $missing = @($names | Where-Object { [string]::IsNullOrEmpty([Environment]::GetEnvironmentVariable($_)) })
    [pscustomobject]@{
        PSTypeName       = 'SQLBuild.Tests.PostgresInfo'
        Available        = ($missing.Count -eq 0)
        SkipReason       = if ($missing.Count) { "PostgreSQL not available ($($missing -join ', ') not set; run build.ps1 -Task Test)" } else { $null }
        Host             = $env:SQB_TEST_PG_HOST
        Port             = if ($env:SQB_TEST_PG_PORT) { [int]$env:SQB_TEST_PG_PORT } else { $null }
        User             = $env:SQB_TEST_PG_USER
        Password         = $env:SQB_TEST_PG_PASSWORD
        Database         = $env:SQB_TEST_PG_DATABASE
        ConnectionString = $env:SQB_TEST_POSTGRES
        Schema           = New-SqbTestSchemaName
    }
}

function Get-SqbTestEngine {
    <# The engines every scenario runs on, for Describe -ForEach: @{ Engine; Skip; SkipReason }; PostgreSQL skips without SQB_TEST_PG_*. #>
    $pg = Get-SqbTestPostgres
    @(
        @{ Engine = 'duckdb'; Skip = $false; SkipReason = $null }
        @{ Engine = 'postgres'; Skip = -not $pg.Available; SkipReason = $pg.SkipReason }
    )
}

#endregion
#region test projects ------------------------------------------------------------------------

function New-SqbTestProject {
    <#
    .SYNOPSIS
        Writes a project folder from a hashtable of relative path -> file content and returns its path.
    .EXAMPLE
        $p = New-SqbTestProject @{
            'sqlbuild_project.toml' = "name = 't'`nadapter = 'duckdb'`n..."
            'models/stg/a.sql'      = 'SELECT 1 AS id'
        }
    #>
    [OutputType([string])]
    param(
        [Parameter(Mandatory, Position = 0)] [System.Collections.IDictionary] $Files,
        # Parent folder; default: Pester's TestDrive when inside a test, else the system temp folder.
        [string] $Parent,
        # Folder name; default: a unique name.
        [string] $Name = ('sqbproj_' + [Guid]::NewGuid().ToString('N').Substring(0, 8))
    )
    if (-not $Parent) { $Parent = Get-SqbTestParent }
    $root = Join-Path $Parent $Name
    $null = New-Item -ItemType Directory -Path $root -Force
    $utf8 = [System.Text.UTF8Encoding]::new($false)
    foreach ($entry in $Files.GetEnumerator()) {
        $relative = [string]$entry.Key
        if ([IO.Path]::IsPathRooted($relative) -or $relative -match '(^|[\\/])\.\.([\\/]|$)') {
            throw "New-SqbTestProject: '$relative' must be a relative path inside the project."
        }
        $target = Join-Path $root $relative
        $null = New-Item -ItemType Directory -Path (Split-Path -Parent $target) -Force
        [IO.File]::WriteAllText($target, [string]$entry.Value, $utf8)
    }
    (Resolve-Path -LiteralPath $root).Path
}

function Set-SqbTestPgConnection([string] $Toml) {
    <# The toml with its [connections.local] table pointed at the test PostgreSQL: every value but the port
       through ${ENV:SQB_TEST_PG_*}, so no project file holds them. #>
    $connection = @(
        '[connections.local]'
        'host = "${ENV:SQB_TEST_PG_HOST}"'
        "port = $([int]$env:SQB_TEST_PG_PORT)"
        'user = "${ENV:SQB_TEST_PG_USER}"'
        'password = "${ENV:SQB_TEST_PG_PASSWORD}"'
        'dbname = "${ENV:SQB_TEST_PG_DATABASE}"'
    ) -join "`n"
    [regex]::Replace($Toml, '(?ms)^\[connections\.local\]\n.*?(?=^\[)', "$connection`n`n")
}

function New-SqbTestTemplateProject {
    <#
    .SYNOPSIS
        New-SqbProject's template (project shop) in a fresh folder, pointed at the engine with schemas
        of its own: target dev -> t_<id> (VDE dev is unsuffixed: logical schema t_<id>; pr_1 ->
        t_<id>__pr_1; physical versions in t_<id>__sqb_physical), target prod -> p_<id>, state ->
        st_<id> (prod's: st_<id>_prod). DuckDB keeps shop.duckdb in the folder; on PostgreSQL every
        connection value but the port comes through ${ENV:SQB_TEST_PG_*}, so no project file holds
        them. Remove it with Remove-SqbTestProject.

        The steps after it, each optional and in this order:
        -ReadyToAdopt      the direct template, built, then switched to virtual mode with dev's state
                           store (unsuffixed VDE dev unless -NoUnsuffixed) initialized: not adopted yet.
        -Initialize        Initialize-SqbState.
        -Build             ... and dev built.
        -WithHistory       ... then pr_1 built after a change to fct_orders and promoted into dev, so dev
                           has two checkpoints (Checkpoints, newest first).
        -WithBackup        ... then a real state backup, taken before any orphaned lock (BackupId).
        -WithOrphanedLock  ... then a build of pr_crash killed at its "plan" step (LockKey).
    #>
    param(
        [ValidateSet('duckdb', 'postgres')] [string] $Engine = 'duckdb',
        [ValidateSet('virtual', 'direct')] [string] $Template = 'virtual',
        # allow_reset = true for every target, so that Reset-SqbState gets as far as asking.
        [switch] $AllowReset,
        [switch] $ReadyToAdopt,
        [switch] $NoUnsuffixed,
        [switch] $Initialize,
        [switch] $Build,
        [switch] $WithHistory,
        [switch] $WithBackup,
        [switch] $WithOrphanedLock
    )
    $id = [Guid]::NewGuid().ToString('N').Substring(0, 10)
    $path = Join-Path (Get-SqbTestParent) "shop_$id"
    $null = New-SqbProject -Path $path -Name shop -Template ($ReadyToAdopt ? 'direct' : $Template) -Adapter $Engine -Confirm:$false
    $path = (Resolve-Path -LiteralPath $path).Path
    $toml = Join-Path $path 'sqlbuild_project.toml'
    $text = [IO.File]::ReadAllText($toml).Replace('schema = "dev"', "schema = `"t_$id`"").Replace('schema = "prod"', "schema = `"p_$id`"").
        Replace('schema = "sqlbuild_state', "schema = `"st_$id")
    if ($Engine -eq 'postgres') { $text = Set-SqbTestPgConnection $text }
    if ($AllowReset) { $text = $text.Replace('allow_reset = false', 'allow_reset = true') }
    [IO.File]::WriteAllText($toml, $text, [Text.UTF8Encoding]::new($false))

    if ($ReadyToAdopt) {
        $direct = Invoke-SqbBuild -Path $path
        if ($direct.Status -ne 'succeeded') { throw "the direct build of $path failed: $(($direct.Nodes | ForEach-Object Error) -join '; ')" }
        $state = "[targets.dev.state]`nbackend = `"$Engine`"`nschema = `"st_$id`"`n" + $(if (-not $NoUnsuffixed) { "unsuffixed_virtual_env = `"dev`"`n" })
        $text = [IO.File]::ReadAllText($toml).Replace('virtual_environments = false', 'virtual_environments = true').Replace('[targets.prod]', "$state`n[targets.prod]")
        [IO.File]::WriteAllText($toml, $text, [Text.UTF8Encoding]::new($false))
    }
    $Build = $Build -or $WithHistory
    if ($ReadyToAdopt -or $Initialize -or $Build -or $WithBackup -or $WithOrphanedLock) { $null = Initialize-SqbState -Path $path -Confirm:$false }
    if ($Build) {
        $result = Invoke-SqbBuild -Path $path -Confirm:$false
        if ($result.Status -ne 'succeeded') { throw "the initial build of $path failed: $(($result.Nodes | ForEach-Object Error) -join '; ')" }
    }
    if ($WithHistory) {
        Add-Content -LiteralPath (Join-Path $path 'models/marts/fct_orders.sql') -Value "`n-- reviewed"
        $null = Invoke-SqbBuild -Path $path -Environment pr_1 -Confirm:$false
        $null = Publish-SqbEnvironment -Path $path -From pr_1 -To dev -Confirm:$false
    }
    $backupId = if ($WithBackup) { (Update-SqbState -Path $path -Confirm:$false).BackupId }
    $lockKey = $null
    if ($WithOrphanedLock) {
        $run = Invoke-SqbChildScript -ImportModule -Environment @{ SQB_TEST_KILL_AT = 'build:plan' } `
            -Script "Invoke-SqbBuild -Path '$($path -replace "'", "''")' -Environment pr_crash -Confirm:`$false"
        if ($run.ExitCode -eq 0) { throw "the build of pr_crash was meant to be killed at 'plan' but exited 0:`n$($run.Output)" }
        $lockKey = 'virtual_env:pr_crash'
    }
    $checkpoints = @(if ($Build) { Get-SqbCheckpoint -Path $path -Environment dev | ForEach-Object Id })
    [pscustomobject]@{
        PSTypeName     = 'SQLBuild.Tests.Project'
        Path           = $path
        Engine         = $Engine
        Id             = $id
        Schema         = "t_$id"
        ProdSchema     = "p_$id"
        StateSchema    = "st_$id"
        PhysicalSchema = "t_${id}__sqb_physical"
        # The DuckDB file (created by the first command that opens it); none on PostgreSQL.
        Database       = if ($Engine -eq 'duckdb') { Join-Path $path 'shop.duckdb' } else { $null }
        # Adopt and detach may copy tables on DuckDB, which cannot move a table to another schema.
        AllowCopy      = ($Engine -eq 'duckdb')
        # dev's checkpoints, newest first (once dev is built).
        Checkpoints    = $checkpoints
        LockKey        = $lockKey
        BackupId       = $backupId
    }
}

function New-SqbTestFixtureProject {
    <#
    .SYNOPSIS
        A copy of tests/fixtures/<Fixture> in a fresh folder, pointed at the engine with schemas of its
        own: the target schema (upstream_shop in the fixture) -> u_<id> (physical versions in
        u_<id>__sqb_physical), the raw schema of sources/*.yml -> raw_<id>, holding the raw tables the
        fixture's sources read (created here), and with -Virtual virtual mode with dev's state store in
        st_<id> (unsuffixed VDE dev, initialized). On PostgreSQL the connection comes through
        ${ENV:SQB_TEST_PG_*}. Remove it with Remove-SqbTestProject.
    #>
    param(
        [string] $Fixture = 'upstream_shop',
        [ValidateSet('duckdb', 'postgres')] [string] $Engine = 'duckdb',
        [switch] $Virtual,
        # Only the files: no raw tables, no state store (nothing is opened or created).
        [switch] $FilesOnly
    )
    $id = [Guid]::NewGuid().ToString('N').Substring(0, 10)
    $path = Join-Path (Get-SqbTestParent) "${Fixture}_$id"
    Copy-Item -LiteralPath (Join-Path $script:RepoRoot 'tests' 'fixtures' $Fixture) -Destination $path -Recurse
    $utf8 = [Text.UTF8Encoding]::new($false)
    $toml = Join-Path $path 'sqlbuild_project.toml'
    $text = [IO.File]::ReadAllText($toml).Replace('schema = "upstream_shop"', "schema = `"u_$id`"")
    if ($Engine -eq 'postgres') { $text = Set-SqbTestPgConnection $text.Replace('adapter = "duckdb"', 'adapter = "postgres"') }
    if ($Virtual) {
        $text = $text.Replace('virtual_environments = false', 'virtual_environments = true').
            Replace('[targets.dev.vars]', "[targets.dev.state]`nbackend = `"$Engine`"`nschema = `"st_$id`"`nunsuffixed_virtual_env = `"dev`"`n`n[targets.dev.vars]")
    }
    [IO.File]::WriteAllText($toml, $text, $utf8)
    foreach ($yml in Get-ChildItem -LiteralPath (Join-Path $path 'sources') -Filter *.yml) {
        [IO.File]::WriteAllText($yml.FullName, [IO.File]::ReadAllText($yml.FullName).Replace('schema: raw', "schema: raw_$id"), $utf8)
    }
    $project = [pscustomobject]@{
        PSTypeName     = 'SQLBuild.Tests.Project'
        Path           = (Resolve-Path -LiteralPath $path).Path
        Engine         = $Engine
        Id             = $id
        Schema         = "u_$id"
        ProdSchema     = "u_${id}_prod"
        StateSchema    = "st_$id"
        PhysicalSchema = "u_${id}__sqb_physical"
        RawSchema      = "raw_$id"
        Database       = if ($Engine -eq 'duckdb') { Join-Path $path 'shop.duckdb' } else { $null }
    }
    if ($FilesOnly) { return $project }
    Invoke-SqbTestSql -Project $project -NonQuery (@(
            "CREATE SCHEMA raw_$id"
            "CREATE TABLE raw_$id.orders (id INTEGER, customer_id INTEGER, amount DECIMAL(10, 2), status VARCHAR(20), ordered_at TIMESTAMP)"
            ("INSERT INTO raw_$id.orders VALUES (1, 1, 25.00, 'paid', '2024-01-01 10:00:00'), (2, 2, 5.00, 'new', '2024-01-01 11:00:00'), " +
            "(3, 1, 40.50, 'shipped', '2024-01-02 09:00:00'), (4, 3, 12.00, 'paid', '2024-01-02 12:00:00')")
        ) -join ";`n")
    if ($Virtual) { $null = Initialize-SqbState -Path $project.Path -Confirm:$false -WarningAction SilentlyContinue }
    $project
}

function Remove-SqbTestProject {
    <# Best effort: drops the project's PostgreSQL schemas (views first, then tables; no CASCADE) and deletes the folder. #>
    param($Project)
    if (-not $Project) { return }
    if ($Project.Engine -eq 'postgres' -and (Get-SqbTestPostgres).Available) {
        try {
            $session = Open-SqbTestSession -Project $Project
            try {
                $stmt = Get-SqbType 'SQLBuild.Core.Adapters.SqlStatement'
                $schemas = @(Get-SqbTestSchemas -Session $session -Project $Project)
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

function Set-SqbTestModel {
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

function Edit-SqbTestStgCustomers {
    <# The change the scenarios promote: first_name upper-cased and a new trailing column 'edition'
       (stg_customers and its descendant dim_customers get new versions). #>
    param([Parameter(Mandatory)] $Project)
    Set-SqbTestModel -Project $Project -Folder 'staging' -Name 'stg_customers' -Sql @'
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

function Get-SqbTestLogicalSchema {
    param([Parameter(Mandatory)] $Project, [string] $Environment = 'dev')
    if ($Environment -eq 'dev') { $Project.Schema } else { "$($Project.Schema)__$Environment" }
}

function Get-SqbTestParent {
    <# Where a new test project goes: Pester's TestDrive inside a test, else the system temp folder. #>
    if (Test-Path -LiteralPath 'TestDrive:\') { (Get-PSDrive -Name TestDrive).Root } else { [IO.Path]::GetTempPath() }
}

#endregion
#region reading and damaging an engine through the module's core ------------------------------

function Open-SqbTestSession {
    <# A session on the dev target's warehouse connection (where the state store lives too). Dispose it. #>
    param([Parameter(Mandatory)] $Project)
    $compiled = (Get-SqbType 'SQLBuild.Core.Project.ProjectCompiler')::Compile($Project.Path, [NullString]::Value, $null)
    $log = (Get-SqbType 'SQLBuild.Core.Logging.NullLog')::Instance
    (Get-SqbType 'SQLBuild.Core.Adapters.WarehouseFactory')::Create($compiled.Config.ActiveTarget.Connection, $log).OpenSession()
}

function Invoke-SqbTestSql {
    <#
    .SYNOPSIS
        Runs SQL on the project's warehouse through the module's own core, only to damage it and read
        it back: each row as one pipeline object (an object[]; wrap the call in @()), one value with
        -Scalar, nothing with -NonQuery. -Parameters fill $1, $2, ...
    #>
    param(
        [Parameter(Mandatory, Position = 0)] $Project,
        [Parameter(Mandatory, Position = 1)] [string] $Sql,
        [object[]] $Parameters,
        [switch] $Scalar,
        [switch] $NonQuery
    )
    $session = Open-SqbTestSession -Project $Project
    try {
        $statement = (Get-SqbType 'SQLBuild.Core.Adapters.SqlStatement')::new('TEST', 'query', $Sql, $Parameters)
        if ($NonQuery) { $null = $session.Execute($statement); return }
        if ($Scalar) { return $session.ExecuteScalar($statement) }
        # The comma keeps a row (an object[]) from being unrolled.
        foreach ($row in $session.Query($statement)) { , $row }
    }
    finally { $session.Dispose() }
}

function Get-SqbTestReaderValue {
    <# What a reader of the logical view sees: SELECT <column> FROM <logical schema>.<model> WHERE <where>. #>
    param(
        [Parameter(Mandatory)] $Project,
        [string] $Environment = 'dev',
        [string] $Model = 'stg_customers',
        [string] $Column = 'first_name',
        [string] $Where = 'customer_id = 1'
    )
    $schema = Get-SqbTestLogicalSchema -Project $Project -Environment $Environment
    Invoke-SqbTestSql -Project $Project -Scalar -Sql "SELECT $Column FROM `"$schema`".`"$Model`" WHERE $Where"
}

function Get-SqbTestRelation {
    <# The catalog entry (Kind, ViewDefinition, ...) of <schema>.<name> in the project's warehouse, or $null when it does not exist. #>
    param([Parameter(Mandatory)] $Project, [Parameter(Mandatory)] [string] $Schema, [Parameter(Mandatory)] [string] $Name)
    $session = Open-SqbTestSession -Project $Project
    try { $session.ReadCatalog([string[]]@($Schema), $false).Find((Get-SqbType 'SQLBuild.Core.Adapters.RelationName')::new($Schema, $Name)) }
    finally { $session.Dispose() }
}

function Get-SqbTestPhysical {
    <# The physical relation a VDE's ref of $Node points at, from the state store: '<schema>__sqb_physical.<node>__v_<hash8>'. #>
    param([Parameter(Mandatory)] $Project, [Parameter(Mandatory)] [string] $Node, [string] $Environment = 'dev')
    $hash = Invoke-SqbTestSql -Project $Project -Scalar -Sql ("SELECT version_hash FROM `"$($Project.StateSchema)`".virtual_environment_node_refs " +
        "WHERE virtual_environment_name = '$Environment' AND node_name = '$Node'")
    '{0}.{1}__v_{2}' -f $Project.PhysicalSchema, $Node, $hash.Substring(0, 8)
}

function Get-SqbTestSchemas {
    <# The existing schemas of the project: its target, prod and state schemas and every schema named after them. #>
    param([Parameter(Mandatory)] $Session, [Parameter(Mandatory)] $Project)
    $stmt = Get-SqbType 'SQLBuild.Core.Adapters.SqlStatement'
    $raw = $Project.PSObject.Properties['RawSchema']
    $prefixes = @($Project.Schema, $Project.ProdSchema, $Project.StateSchema, ($raw ? $raw.Value : $null)) | Where-Object { $_ }
    @($Session.Query($stmt::new('TEST', 'schemata', 'SELECT schema_name FROM information_schema.schemata', $null)) |
            ForEach-Object { [string]$_[0] } | Where-Object { $s = $_; @($prefixes | Where-Object { $s.StartsWith($_) }).Count -gt 0 })
}

function Format-SqbTestValue($Value) {
    if ($null -eq $Value -or $Value -is [DBNull]) { return '<null>' }
    if ($Value -is [datetime]) { return $Value.ToString('o') }
    [Convert]::ToString($Value, [Globalization.CultureInfo]::InvariantCulture)
}

function Get-SqbTestSnapshot {
    <#
    .SYNOPSIS
        Everything a command could change, as one comparable text: every state table's rows (sorted)
        and the catalog (relations, kinds, view definitions, columns) of the project's schemas.
        -ExcludeJournal leaves state_operations / state_operation_events out (a failed command records
        its failure there by design).
    #>
    param([Parameter(Mandatory)] $Project, [switch] $ExcludeJournal, [string[]] $ExcludeTable = @())
    # Opening a DuckDB file that does not exist yet would create it.
    if ($Project.Database -and -not (Test-Path -LiteralPath $Project.Database)) { return 'no database file' }
    $session = Open-SqbTestSession -Project $Project
    try {
        $stmt = Get-SqbType 'SQLBuild.Core.Adapters.SqlStatement'
        $lines = [Collections.Generic.List[string]]::new()
        $schemas = @(Get-SqbTestSchemas -Session $session -Project $Project | Sort-Object -Unique -CaseSensitive)
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
                        ForEach-Object { (@($_) | ForEach-Object { Format-SqbTestValue $_ }) -join ' | ' } | Sort-Object -CaseSensitive)
                $lines.Add("table $($table.Name): $($rows.Count) row(s)")
                foreach ($row in $rows) { $lines.Add("  $row") }
            }
        }
        $lines -join "`n"
    }
    finally { $session.Dispose() }
}

function Enter-SqbTestLock {
    <# Takes a lock through the core's LockManager in THIS process (a live holder); dispose the returned lease to release it. #>
    param([Parameter(Mandatory)] $Project, [string] $Key = 'virtual_env:dev', [string] $Owner = ('test:' + [Guid]::NewGuid().ToString('N')))
    $compiled = (Get-SqbType 'SQLBuild.Core.Project.ProjectCompiler')::Compile($Project.Path, [NullString]::Value, $null)
    $log = (Get-SqbType 'SQLBuild.Core.Logging.NullLog')::Instance
    $store = (Get-SqbType 'SQLBuild.Core.State.StateStore')::Open($compiled, $log, 'tests')
    (Get-SqbType 'SQLBuild.Core.State.LockManager')::new($store, $log).Acquire($Key, $Owner, 'S014')
}

function Stop-SqbTestPgQuery {
    <#
    .SYNOPSIS
        PostgreSQL keeps running a statement whose client was killed until the statement ends (e.g. a
        pg_sleep); its open CREATE TABLE would block a later DROP SCHEMA. Terminates the backends whose
        active pg_sleep statement writes into this project's physical schema. Returns how many it terminated.
    #>
    param([Parameter(Mandatory)] $Project)
    if ($Project.Engine -ne 'postgres') { return 0 }
    [int](Invoke-SqbTestSql -Project $Project -Scalar -Sql ("SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity " +
            "WHERE pid <> pg_backend_pid() AND state = 'active' AND query LIKE '%pg_sleep%' " +
            "AND query LIKE '%$($Project.Schema)__sqb_physical%' AND query NOT LIKE '%pg_terminate_backend%'"))
}

function Invoke-SqbDuckDbQuery {
    <#
    .SYNOPSIS
        Runs SQL on a DuckDB database file through the module's own DuckDB.NET (in its private load
        context), without the core, and returns the rows as object arrays. For test setup and inspection only.
    #>
    param(
        [Parameter(Mandatory)] [string] $Database,
        [Parameter(Mandatory)] [string] $Sql
    )
    $context = [System.Runtime.Loader.AssemblyLoadContext]::All | Where-Object Name -EQ 'SQLBuild' | Select-Object -First 1
    if (-not $context) { throw "Import the module first: the 'SQLBuild' load context does not exist." }
    $duckdb = $context.LoadFromAssemblyName([System.Reflection.AssemblyName]::new('DuckDB.NET.Data'))
    $type = $duckdb.GetType('DuckDB.NET.Data.DuckDBConnection', $true)
    # The same data source text the module uses (full path), so both share one database instance.
    $connection = [Activator]::CreateInstance($type, @("Data Source=$([IO.Path]::GetFullPath($Database))"))
    try {
        $connection.Open()
        $command = $connection.CreateCommand()
        $command.CommandText = $Sql
        $reader = $command.ExecuteReader()
        try {
            while ($reader.Read()) {
                $row = [object[]]::new($reader.FieldCount)
                $null = $reader.GetValues($row)
                , $row
            }
        }
        finally { $reader.Dispose() }
    }
    finally { $connection.Dispose() }
}

function Get-SqbDuckDbSnapshot {
    <#
    .SYNOPSIS
        Everything a cmdlet could change in a DuckDB database file, as sorted text lines: every schema,
        every table with its row count and a hash of its content, every view with its definition. Two
        equal snapshots mean nothing was written.
    #>
    [OutputType([string[]])]
    param([Parameter(Mandatory)] [string] $Database)
    if (-not (Test-Path -LiteralPath $Database)) { return @('(no database file)') }
    $lines = [System.Collections.Generic.List[string]]::new()
    foreach ($r in Invoke-SqbDuckDbQuery -Database $Database -Sql "SELECT schema_name FROM duckdb_schemas() WHERE database_name = current_database() AND NOT internal") {
        $lines.Add("schema $($r[0])")
    }
    foreach ($r in Invoke-SqbDuckDbQuery -Database $Database -Sql "SELECT schema_name, view_name, sql FROM duckdb_views() WHERE database_name = current_database() AND NOT internal") {
        $lines.Add("view $($r[0]).$($r[1]) $($r[2])")
    }
    $tables = @(Invoke-SqbDuckDbQuery -Database $Database -Sql "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database() AND NOT internal")
    foreach ($t in $tables) {
        $quoted = '"{0}"."{1}"' -f ($t[0] -replace '"', '""'), ($t[1] -replace '"', '""')
        $rows = @(Invoke-SqbDuckDbQuery -Database $Database -Sql "SELECT * FROM $quoted" | ForEach-Object { ($_ | ForEach-Object { "$_" }) -join [char]31 } | Sort-Object)
        $hash = [Convert]::ToHexString([Security.Cryptography.SHA256]::HashData([Text.Encoding]::UTF8.GetBytes($rows -join [char]30))).Substring(0, 16)
        $lines.Add("table $($t[0]).$($t[1]) rows=$($rows.Count) content=$hash")
    }
    @($lines | Sort-Object)
}

#endregion
#region child processes ------------------------------------------------------------------------

function Get-SqbPwshCommand {
    <# How to start a child pwsh that is this same PowerShell: @{ FilePath; Prefix } (a dotnet tool runs as `dotnet pwsh.dll`). #>
    $process = [Environment]::ProcessPath
    $leaf = [IO.Path]::GetFileNameWithoutExtension($process)
    $prefix = @()
    if ($leaf -ne 'pwsh') {
        $dll = Join-Path $PSHOME 'pwsh.dll'
        if ($leaf -eq 'dotnet' -and (Test-Path -LiteralPath $dll)) { $prefix = @($dll) }
        else { $process = Join-Path $PSHOME ($IsWindows ? 'pwsh.exe' : 'pwsh') }
    }
    @{ FilePath = $process; Prefix = $prefix }
}

function Invoke-SqbChildPwsh {
    <#
    .SYNOPSIS
        Runs a script block in a fresh `pwsh -NoProfile` (the same PowerShell as this session) and
        returns its output deserialized from JSON. For checks that need a clean process, such as
        what Import-Module loads.
    #>
    param(
        [Parameter(Mandatory)] [scriptblock] $ScriptBlock,
        [object[]] $ArgumentList = @()
    )
    $pwsh = Get-SqbPwshCommand
    $payload = [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes((ConvertTo-Json -InputObject @($ArgumentList) -Depth 5 -Compress)))
    $wrapper = @"
`$ErrorActionPreference = 'Stop'
`$PSStyle.OutputRendering = 'PlainText'
`$argsIn = @([Text.Encoding]::UTF8.GetString([Convert]::FromBase64String('$payload')) | ConvertFrom-Json)
`$out = & { $ScriptBlock } @argsIn
'<<<SQB-JSON>>>'
ConvertTo-Json -InputObject `$out -Depth 6 -Compress
"@
    $encoded = [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes($wrapper))
    # Plain text: an escape character in a failure message would break Pester's XML report.
    $lines = & $pwsh.FilePath @($pwsh.Prefix) -NoProfile -NonInteractive -EncodedCommand $encoded 2>&1 |
        ForEach-Object { "$_" -replace '\x1b\[[0-9;?]*[A-Za-z]', '' }
    if ($LASTEXITCODE -ne 0) { throw "child pwsh exited with $LASTEXITCODE`n$($lines -join "`n")" }
    $marker = [array]::LastIndexOf([string[]]$lines, '<<<SQB-JSON>>>')
    if ($marker -lt 0) { throw "child pwsh returned no result`n$($lines -join "`n")" }
    ($lines[($marker + 1)..($lines.Count - 1)] -join "`n") | ConvertFrom-Json
}

function Invoke-SqbChildScript {
    <#
    .SYNOPSIS
        Runs a script text in a fresh `pwsh -NoProfile -NonInteractive` with extra environment
        variables (e.g. SQB_TEST_KILL_AT) and returns its exit code and every line it wrote to stdout
        and stderr (plain text): Lines, and Output, the same lines as one text. Unlike
        Invoke-SqbChildPwsh it does not throw on a non-zero exit: for crashes and host output.
    #>
    param(
        [Parameter(Mandatory)] [string] $Script,
        [hashtable] $Environment = @{},
        # Imports the built module before the script.
        [switch] $ImportModule,
        # Text for the child's standard input, which is then a pipe (as a CI agent's console is).
        [string] $InputText,
        # Starts pwsh without -NonInteractive.
        [switch] $Interactive
    )
    $pwsh = Get-SqbPwshCommand
    # A script file, not -EncodedCommand: with -EncodedCommand pwsh writes warnings past a redirected stdout.
    $file = Join-Path ([IO.Path]::GetTempPath()) ('sqb_child_' + [Guid]::NewGuid().ToString('N') + '.ps1')
    $prelude = "`$PSStyle.OutputRendering = 'PlainText'`n"
    if ($ImportModule) { $prelude += "Import-Module -Name '$((Get-SqbModuleManifestPath) -replace "'", "''")'`n" }
    [IO.File]::WriteAllText($file, $prelude + $Script, [Text.UTF8Encoding]::new($false))
    $arguments = @($pwsh.Prefix) + @('-NoProfile') + @(if (-not $Interactive) { '-NonInteractive' }) + @('-File', $file)
    $piped = $PSBoundParameters.ContainsKey('InputText')
    $saved = @{}
    foreach ($name in $Environment.Keys) {
        $saved[$name] = [Environment]::GetEnvironmentVariable($name)
        [Environment]::SetEnvironmentVariable($name, $Environment[$name])
    }
    try {
        $lines = @(& {
                if ($piped) { $InputText | & $pwsh.FilePath @arguments 2>&1 } else { & $pwsh.FilePath @arguments 2>&1 }
            } | ForEach-Object { "$_" -replace '\x1b\[[0-9;?]*[A-Za-z]', '' })
        $code = $LASTEXITCODE
    }
    finally {
        foreach ($name in $Environment.Keys) { [Environment]::SetEnvironmentVariable($name, $saved[$name]) }
        Remove-Item -LiteralPath $file -Force -ErrorAction Ignore
    }
    [pscustomobject]@{ ExitCode = $code; Lines = $lines; Output = $lines -join "`n" }
}

function Start-SqbTestChild {
    <#
    .SYNOPSIS
        Starts `pwsh -NoProfile` running $Body in the project folder with the built module imported,
        and returns at once (for races, kills and interrupted runs). The body sees $ResultFile,
        $LogFile, $ReadyFile, $GoFile and the functions Save-Result, Write-Log, ConvertFrom-Err,
        Wait-Go. Returns the child (Process, files); extra environment variables go in -Environment
        (e.g. SQB_TEST_KILL_AT).
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
    $pwsh = Get-SqbPwshCommand
    $envVars = @{ SQB_TEST_KILL_AT = $null; NO_COLOR = '1' }
    foreach ($k in $Environment.Keys) { $envVars[$k] = $Environment[$k] }
    $arguments = @($pwsh.Prefix) + @('-NoProfile', '-NonInteractive', '-File', $files.Script)
    $process = Start-Process -FilePath $pwsh.FilePath -ArgumentList $arguments -PassThru -NoNewWindow `
        -RedirectStandardOutput $files.Out -RedirectStandardError $files.Err -Environment $envVars
    [pscustomobject]@{
        PSTypeName = 'SQLBuild.Tests.Child'
        Name = $Name; Process = $process; Id = $process.Id
        ResultFile = $files.Result; LogFile = $files.Log; ReadyFile = $files.Ready; GoFile = $files.Go
        OutFile = $files.Out; ErrFile = $files.Err
    }
}

function Get-SqbTestChildOutput {
    <# stdout, stderr, the log and the saved result of a child (a body that threw saves 'crashed' there), for failure messages. #>
    param([Parameter(Mandatory)] $Child)
    $parts = foreach ($f in $Child.OutFile, $Child.ErrFile, $Child.LogFile, $Child.ResultFile) {
        if (Test-Path -LiteralPath $f) { "--- $(Split-Path -Leaf $f)`n" + (Get-Content -LiteralPath $f -Raw) }
    }
    ($parts -join "`n") -replace '\x1b\[[0-9;?]*[A-Za-z]', ''
}

function Wait-SqbTestCondition {
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
    $detail = if ($Child) { "`n" + (Get-SqbTestChildOutput -Child $Child) } else { '' }
    throw "timed out after $TimeoutSeconds s waiting for $Because$detail"
}

function Wait-SqbTestChildLog {
    <# Waits until the child's log has a line matching $Pattern (or the child exits). #>
    param([Parameter(Mandatory)] $Child, [Parameter(Mandatory)] [string] $Pattern, [double] $TimeoutSeconds = 60)
    Wait-SqbTestCondition -Child $Child -TimeoutSeconds $TimeoutSeconds -Because "log line /$Pattern/ of child $($Child.Id)" -Condition {
        if ($Child.Process.HasExited) { throw "child $($Child.Id) exited ($($Child.Process.ExitCode)) before logging /$Pattern/`n$(Get-SqbTestChildOutput -Child $Child)" }
        (Test-Path -LiteralPath $Child.LogFile) -and ((Get-Content -LiteralPath $Child.LogFile) -match $Pattern)
    }
}

function Wait-SqbTestChild {
    <# Waits for the child to exit; returns its result (the JSON it saved, or $null) with ExitCode. #>
    param([Parameter(Mandatory)] $Child, [double] $TimeoutSeconds = 120)
    if (-not $Child.Process.WaitForExit([int]($TimeoutSeconds * 1000))) {
        Stop-SqbTestChild -Child $Child
        throw "child $($Child.Id) did not exit within $TimeoutSeconds s`n$(Get-SqbTestChildOutput -Child $Child)"
    }
    $Child.Process.WaitForExit()
    $result = if (Test-Path -LiteralPath $Child.ResultFile) { Get-Content -LiteralPath $Child.ResultFile -Raw | ConvertFrom-Json } else { $null }
    [pscustomobject]@{ ExitCode = $Child.Process.ExitCode; Result = $result; Output = (Get-SqbTestChildOutput -Child $Child) }
}

function Stop-SqbTestChild {
    <# Kills the child (SIGKILL on Unix: no cleanup runs) if it is still running, and waits for it. #>
    param($Child)
    if (-not $Child) { return }
    if (-not $Child.Process.HasExited) {
        Stop-Process -Id $Child.Id -Force -ErrorAction SilentlyContinue
        $null = $Child.Process.WaitForExit(30000)
    }
}

#endregion
#region the interactive host of a typed confirmation -------------------------------------------

# A host that "types" a scripted answer when asked to read a line and keeps everything it was shown.
$script:ScriptedHostSource = @'
using System;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Security;
using System.Text;

public sealed class SqbScriptedHost : PSHost
{
    private readonly SqbScriptedUI _ui;
    public SqbScriptedHost(string answer) { _ui = new SqbScriptedUI(answer); }
    public string Shown => _ui.Shown.ToString();
    public int Reads => _ui.Reads;
    public override string Name => "SqbScriptedHost";
    public override Version Version => new Version(1, 0);
    public override Guid InstanceId { get; } = Guid.NewGuid();
    public override PSHostUserInterface UI => _ui;
    public override CultureInfo CurrentCulture => CultureInfo.InvariantCulture;
    public override CultureInfo CurrentUICulture => CultureInfo.InvariantCulture;
    public override void SetShouldExit(int exitCode) { }
    public override void EnterNestedPrompt() => throw new NotSupportedException();
    public override void ExitNestedPrompt() => throw new NotSupportedException();
    public override void NotifyBeginApplication() { }
    public override void NotifyEndApplication() { }
}

public sealed class SqbScriptedUI : PSHostUserInterface
{
    private readonly string _answer;
    public SqbScriptedUI(string answer) { _answer = answer; }
    public readonly StringBuilder Shown = new StringBuilder();
    public int Reads;
    public override PSHostRawUserInterface RawUI => null;
    public override string ReadLine() { Reads++; return _answer; }
    public override SecureString ReadLineAsSecureString() => throw new NotSupportedException();
    public override void Write(string value) => Shown.Append(value);
    public override void Write(ConsoleColor foregroundColor, ConsoleColor backgroundColor, string value) => Shown.Append(value);
    public override void WriteLine(string value) => Shown.AppendLine(value);
    public override void WriteErrorLine(string value) => Shown.AppendLine(value);
    public override void WriteDebugLine(string message) { }
    public override void WriteProgress(long sourceId, ProgressRecord record) { }
    public override void WriteVerboseLine(string message) { }
    public override void WriteWarningLine(string message) { }
    public override Dictionary<string, PSObject> Prompt(string caption, string message, Collection<FieldDescription> descriptions) => throw new NotSupportedException();
    public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName) => throw new NotSupportedException();
    public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName,
        PSCredentialTypes allowedCredentialTypes, PSCredentialUIOptions options) => throw new NotSupportedException();
    public override int PromptForChoice(string caption, string message, Collection<ChoiceDescription> choices, int defaultChoice) => throw new NotSupportedException();
}
'@

function Invoke-SqbTestWithAnswer {
    <#
    .SYNOPSIS
        Runs one cmdlet of the built module in a runspace whose host "types" $Answer when asked to read
        a line: the interactive path of a typed confirmation, without a terminal. Returns Shown (all the
        host was shown), Reads (how many lines it was asked for) and Result: the -Property of each
        output object, or the FullyQualifiedErrorId of the first error.
    #>
    param(
        [Parameter(Mandatory)] [string] $Answer,
        [Parameter(Mandatory)] [string] $Command,
        [Parameter(Mandatory)] [hashtable] $Parameters,
        [Parameter(Mandatory)] [string] $Property
    )
    if (-not ('SqbScriptedHost' -as [type])) { Add-Type -TypeDefinition $script:ScriptedHostSource }
    $h = ('SqbScriptedHost' -as [type])::new($Answer)
    $rs = [runspacefactory]::CreateRunspace($h)
    $rs.Open()
    $ps = [powershell]::Create()
    try {
        $ps.Runspace = $rs
        $null = $ps.AddCommand('Import-Module').AddParameter('Name', (Get-SqbModuleManifestPath)).AddStatement().
            AddCommand($Command).AddParameters($Parameters)
        $result = try { @($ps.Invoke()) | ForEach-Object $Property }
        catch { ($_.Exception.InnerException ?? $_.Exception).ErrorRecord.FullyQualifiedErrorId }
        if ($ps.Streams.Error.Count -gt 0) { $result = $ps.Streams.Error[0].FullyQualifiedErrorId }
        [pscustomobject]@{ Shown = $h.Shown; Reads = $h.Reads; Result = $result }
    }
    finally { $ps.Dispose(); $rs.Dispose() }
}

#endregion
#region assertions ----------------------------------------------------------------------------

function Assert-SqbTestError {
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

#endregion
#region the command surface --------------------------------------------------------------------

function Get-SqbParameterSignature {
    <#
    .SYNOPSIS
        One line per parameter of a parameter set, sorted by name, as CommandSurface.psd1 pins them:
        'Name <Type> [mandatory] [position=N] [pipeline=ByPropertyName,ByValue] [aliases=a,b]'.
        Common parameters are left out; WhatIf and Confirm stay.
    #>
    [OutputType([string[]])]
    param([Parameter(Mandatory)] [System.Management.Automation.CommandParameterSetInfo] $ParameterSet)
    $common = [System.Management.Automation.Cmdlet]::CommonParameters
    @(foreach ($p in $ParameterSet.Parameters | Where-Object { $_.Name -notin $common } | Sort-Object Name) {
            $type = $p.ParameterType
            $typeName = if ($type.IsGenericType -and $type.GetGenericTypeDefinition() -eq [Nullable`1]) { $type.GetGenericArguments()[0].Name + '?' } else { $type.Name }
            $line = "$($p.Name) <$typeName>"
            if ($p.IsMandatory) { $line += ' mandatory' }
            if ($p.Position -ge 0) { $line += " position=$($p.Position)" }
            $pipe = @(if ($p.ValueFromPipelineByPropertyName) { 'ByPropertyName' }; if ($p.ValueFromPipeline) { 'ByValue' })
            if ($pipe) { $line += " pipeline=$($pipe -join ',')" }
            if ($p.Aliases.Count) { $line += " aliases=$(@($p.Aliases | Sort-Object) -join ',')" }
            $line
        })
}

function Format-SqbCommandSurface {
    <# The CommandSurface.psd1 entry of a command as it is now: paste it into the file to pin a deliberate change. #>
    [OutputType([string])]
    param(
        [Parameter(Mandatory)] [System.Management.Automation.CommandInfo] $Command,
        # The -WhatIf argument sets, as psd1 text (e.g. "@{ Environment = 'dev' }").
        [string[]] $WhatIf
    )
    $default = if ($Command.DefaultParameterSet) { $Command.DefaultParameterSet } else { '__AllParameterSets' }
    $text = [System.Text.StringBuilder]::new()
    $null = $text.AppendLine("    '$($Command.Name)' = @{")
    $null = $text.AppendLine("        DefaultParameterSet = '$default'")
    $null = $text.AppendLine('        ParameterSets       = @{')
    foreach ($set in $Command.ParameterSets | Sort-Object Name) {
        $null = $text.AppendLine("            '$($set.Name)' = @(")
        foreach ($line in Get-SqbParameterSignature $set) { $null = $text.AppendLine("                '$line'") }
        $null = $text.AppendLine('            )')
    }
    $null = $text.AppendLine('        }')
    if ($WhatIf) {
        $null = $text.AppendLine('        WhatIf              = @(')
        foreach ($w in $WhatIf) { $null = $text.AppendLine("            $w") }
        $null = $text.AppendLine('        )')
    }
    $null = $text.AppendLine('    }')
    $text.ToString()
}

#endregion

Export-ModuleMember -Function Get-SqbRepoRoot, Get-SqbModuleManifestPath, Import-SqbTestModule, Get-SqbType,
    New-SqbTestSchemaName, Get-SqbTestPostgres, Get-SqbTestEngine,
    New-SqbTestProject, New-SqbTestTemplateProject, New-SqbTestFixtureProject, Remove-SqbTestProject, Set-SqbTestModel, Edit-SqbTestStgCustomers, Get-SqbTestLogicalSchema,
    Open-SqbTestSession, Invoke-SqbTestSql, Get-SqbTestReaderValue, Get-SqbTestRelation, Get-SqbTestPhysical, Get-SqbTestSnapshot,
    Enter-SqbTestLock, Stop-SqbTestPgQuery,
    Invoke-SqbDuckDbQuery, Get-SqbDuckDbSnapshot,
    Invoke-SqbChildPwsh, Invoke-SqbChildScript, Start-SqbTestChild, Get-SqbTestChildOutput, Wait-SqbTestCondition, Wait-SqbTestChildLog,
    Wait-SqbTestChild, Stop-SqbTestChild,
    Invoke-SqbTestWithAnswer, Assert-SqbTestError, Get-SqbParameterSignature, Format-SqbCommandSurface
