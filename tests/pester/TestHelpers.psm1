<#
    Shared helpers for the Pester tests. Import in BeforeDiscovery / BeforeAll:

        BeforeAll {
            Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
            Import-SqbTestModule
        }

    The module under test is the BUILT one (out/SQLBuild, from build.ps1 -Task Build), never the
    source tree; set SQB_MODULE_PATH to test another copy (a folder or its .psd1).
#>

Set-StrictMode -Version Latest

$script:RepoRoot = (Resolve-Path -LiteralPath (Join-Path $PSScriptRoot '..' '..')).Path

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
    if (-not $Parent) {
        $Parent = if (Test-Path -LiteralPath 'TestDrive:\') { (Get-PSDrive -Name TestDrive).Root } else { [IO.Path]::GetTempPath() }
    }
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
    $process = [Environment]::ProcessPath
    $leaf = [IO.Path]::GetFileNameWithoutExtension($process)
    $prefix = @()
    if ($leaf -ne 'pwsh') {
        $dll = Join-Path $PSHOME 'pwsh.dll'
        if ($leaf -eq 'dotnet' -and (Test-Path -LiteralPath $dll)) { $prefix = @($dll) }
        else { $process = Join-Path $PSHOME ($IsWindows ? 'pwsh.exe' : 'pwsh') }
    }
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
    $lines = & $process @prefix -NoProfile -NonInteractive -EncodedCommand $encoded 2>&1 |
        ForEach-Object { "$_" -replace '\x1b\[[0-9;?]*[A-Za-z]', '' }
    if ($LASTEXITCODE -ne 0) { throw "child pwsh exited with $LASTEXITCODE`n$($lines -join "`n")" }
    $marker = [array]::LastIndexOf([string[]]$lines, '<<<SQB-JSON>>>')
    if ($marker -lt 0) { throw "child pwsh returned no result`n$($lines -join "`n")" }
    ($lines[($marker + 1)..($lines.Count - 1)] -join "`n") | ConvertFrom-Json
}

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

function Invoke-SqbChildScript {
    <#
    .SYNOPSIS
        Runs a script text in a fresh `pwsh -NoProfile -NonInteractive` with extra environment
        variables and returns its exit code and every line it wrote to stdout and stderr (plain text).
        Unlike Invoke-SqbChildPwsh it does not throw on a non-zero exit: for crashes and host output.
    #>
    param(
        [Parameter(Mandatory)] [string] $Script,
        [hashtable] $Environment = @{}
    )
    $pwsh = Get-SqbPwshCommand
    # A script file, not -EncodedCommand: with -EncodedCommand pwsh writes warnings past a redirected stdout.
    $file = Join-Path ([IO.Path]::GetTempPath()) ('sqb_child_' + [Guid]::NewGuid().ToString('N') + '.ps1')
    [IO.File]::WriteAllText($file, "`$PSStyle.OutputRendering = 'PlainText'`n" + $Script, [Text.UTF8Encoding]::new($false))
    $saved = @{}
    foreach ($name in $Environment.Keys) {
        $saved[$name] = [Environment]::GetEnvironmentVariable($name)
        [Environment]::SetEnvironmentVariable($name, $Environment[$name])
    }
    try {
        $lines = @(& $pwsh.FilePath @($pwsh.Prefix) -NoProfile -NonInteractive -File $file 2>&1 |
                ForEach-Object { "$_" -replace '\x1b\[[0-9;?]*[A-Za-z]', '' })
        $code = $LASTEXITCODE
    }
    finally {
        foreach ($name in $Environment.Keys) { [Environment]::SetEnvironmentVariable($name, $saved[$name]) }
        Remove-Item -LiteralPath $file -Force -ErrorAction Ignore
    }
    [pscustomobject]@{ ExitCode = $code; Lines = $lines }
}

function Invoke-SqbDuckDbQuery {
    <#
    .SYNOPSIS
        Runs SQL on a DuckDB database file through the module's own DuckDB.NET (in its private load
        context) and returns the rows as object arrays. For test setup and inspection only.
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
        Everything a cmdlet could change in a DuckDB database, as sorted text lines: every schema,
        every table with its row count and a hash of its content, every view with its definition. Two equal snapshots mean
        nothing was written.
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

function New-SqbTestVirtualProject {
    <#
    .SYNOPSIS
        A DuckDB virtual-mode project from the module's own template, with history: state initialized,
        dev built, pr_1 built after a change to fct_orders, pr_1 promoted into dev (so dev has two
        checkpoints), and optionally an orphaned lock (a build of pr_crash killed at its "plan" step)
        and a state backup schema. Returns the facts the tests need.
    #>
    param(
        [string] $Parent,
        [switch] $WithOrphanedLock,
        [switch] $WithBackup
    )
    $parentDir = if ($Parent) { $Parent } elseif (Test-Path -LiteralPath 'TestDrive:\') { (Get-PSDrive -Name TestDrive).Root } else { [IO.Path]::GetTempPath() }
    $path = Join-Path $parentDir ('vproj_' + [Guid]::NewGuid().ToString('N').Substring(0, 8))
    $null = New-SqbProject -Path $path -Template virtual -Name shop -Confirm:$false
    # dev may be reset, so that Reset-SqbState -WhatIf gets as far as asking.
    $toml = Join-Path $path 'sqlbuild_project.toml'
    [IO.File]::WriteAllText($toml, ([regex]'allow_reset = false').Replace([IO.File]::ReadAllText($toml), 'allow_reset = true', 1))
    $null = Initialize-SqbState -Path $path -Confirm:$false
    $null = Invoke-SqbBuild -Path $path -Confirm:$false
    Add-Content -LiteralPath (Join-Path $path 'models/marts/fct_orders.sql') -Value "`n-- reviewed"
    $null = Invoke-SqbBuild -Path $path -Environment pr_1 -Confirm:$false
    $null = Publish-SqbEnvironment -Path $path -From pr_1 -To dev -Confirm:$false
    # A real backup (Update-SqbState), taken before any orphaned lock exists.
    $backupId = $null
    if ($WithBackup) { $backupId = (Update-SqbState -Path $path -Confirm:$false).BackupId }
    $lockKey = $null
    if ($WithOrphanedLock) {
        $script = "Import-Module '$((Get-SqbModuleManifestPath) -replace "'", "''")'; Invoke-SqbBuild -Path '$($path -replace "'", "''")' -Environment pr_crash -Confirm:`$false"
        $run = Invoke-SqbChildScript -Script $script -Environment @{ SQB_TEST_KILL_AT = 'plan' }
        if ($run.ExitCode -eq 0) { throw "the build of pr_crash was meant to be killed at 'plan' but exited 0:`n$($run.Lines -join "`n")" }
        $lockKey = 'virtual_env:pr_crash'
    }
    [pscustomobject]@{
        Path        = $path
        Database    = Join-Path $path 'shop.duckdb'
        Checkpoints = @(Get-SqbCheckpoint -Path $path -Environment dev | ForEach-Object Id)
        LockKey     = $lockKey
        BackupId    = $backupId
    }
}

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

Export-ModuleMember -Function Get-SqbRepoRoot, Get-SqbModuleManifestPath, Import-SqbTestModule, Get-SqbType, New-SqbTestProject,
    New-SqbTestSchemaName, Get-SqbTestPostgres, Invoke-SqbChildPwsh,
    Get-SqbPwshCommand, Invoke-SqbChildScript, Invoke-SqbDuckDbQuery, Get-SqbDuckDbSnapshot, New-SqbTestVirtualProject,
    Get-SqbParameterSignature, Format-SqbCommandSurface
