<#
.SYNOPSIS
    The demo behind build.ps1 -Task Demo, run in a fresh pwsh -NoProfile.

.DESCRIPTION
    1. Direct mode: create demo/shop from the direct template, build it, show the results, and
       query one mart named by the build's output.
    2. Virtual data environments: create demo/vshop from the virtual template, build dev, change a
       mart, build the change into pr_1, compare, promote pr_1 into dev, and roll dev back.
    Output goes to the host (this script, not the module, writes it).
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $ModuleManifest,
    [Parameter(Mandatory)] [string] $RepoRoot
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
if ($env:NO_COLOR) { $PSStyle.OutputRendering = 'PlainText' }

Import-Module -Name $ModuleManifest
Set-Location -LiteralPath $RepoRoot

# Tables at the terminal's width, or 150 columns when the output goes to a log.
$width = if ([Console]::IsOutputRedirected) { 150 } else { [Math]::Max(80, $Host.UI.RawUI.WindowSize.Width) }

$shop = Join-Path 'demo' 'shop'
Write-Host "--- New-SqbProject -Path $shop -Template direct"
New-SqbProject -Path $shop -Template direct | ForEach-Object { '    ' + [IO.Path]::GetRelativePath($RepoRoot, $_.FullName) } | Write-Host

Write-Host "--- `$r = Invoke-SqbBuild -Path $shop"
$r = Invoke-SqbBuild -Path $shop
Write-Host ($r | Format-Table | Out-String -Width $width).TrimEnd()
Write-Host ($r.Nodes | Format-Table | Out-String -Width $width).TrimEnd()

# The mart to query: a model under models/marts (from Get-SqbModel), else the last model built.
$built = @($r.Nodes | Where-Object { $_.NodeType -eq 'model' -and "$($_.Status)" -in 'Succeeded', 'Warned' -and $_.Relation })
if ($built.Count -eq 0) { throw 'The demo build produced no model to query.' }
$martNames = @(Get-SqbModel -Path $shop | Where-Object {
        $p = $_.PSObject.Properties['Path']; $p -and "$($p.Value)" -match '(^|[\\/])marts?[\\/]' } | ForEach-Object Name)
$mart = ($built | Where-Object Name -In $martNames | Select-Object -Last 1) ?? ($built | Select-Object -Last 1)

$toml = Get-Content -LiteralPath (Join-Path $shop 'sqlbuild_project.toml') -Raw
$adapter = if ($toml -match '(?m)^\s*adapter\s*=\s*"([^"]+)"') { $Matches[1] } else { 'duckdb' }
if ($adapter -ne 'duckdb' -or $toml -notmatch '(?m)^\s*database\s*=\s*"([^"]+)"') {
    throw "The demo project is not a DuckDB project ($adapter)."
}
$database = Join-Path (Resolve-Path $shop).Path $Matches[1]

# DuckDB.NET lives in the module's private load context; reach it there rather than loading a second copy.
$context = [System.Runtime.Loader.AssemblyLoadContext]::All | Where-Object Name -EQ 'SQLBuild' | Select-Object -First 1
if (-not $context) { throw "The module's 'SQLBuild' assembly load context was not found." }
$duckdb = $context.LoadFromAssemblyName([System.Reflection.AssemblyName]::new('DuckDB.NET.Data'))
$connectionType = $duckdb.GetType('DuckDB.NET.Data.DuckDBConnection', $true)
$quoted = ($mart.Relation -split '\.' | ForEach-Object { '"' + ($_ -replace '"', '""') + '"' }) -join '.'

Write-Host "--- SELECT * FROM $quoted LIMIT 10   (mart '$($mart.Name)' from `$r.Nodes, in $database)"
$connection = [Activator]::CreateInstance($connectionType, @("Data Source=$database"))
try {
    $connection.Open()
    $command = $connection.CreateCommand()
    $command.CommandText = "SELECT * FROM $quoted LIMIT 10"
    $table = [System.Data.DataTable]::new()
    $reader = $command.ExecuteReader()
    try { $table.Load($reader) } finally { $reader.Dispose() }
    Write-Host ($table | Format-Table | Out-String -Width $width)
}
finally {
    $connection.Dispose()
}

# --- 2. Virtual data environments: build, change, compare, promote, roll back -------------------

function Show([string] $Line, [scriptblock] $Command) {
    Write-Host "--- $Line"
    Write-Host (& $Command | Out-String -Width $width).TrimEnd()
    Write-Host ''
}

$vshop = Join-Path 'demo' 'vshop'
Show "New-SqbProject -Path $vshop -Template virtual; Initialize-SqbState" {
    $null = New-SqbProject -Path $vshop -Template virtual
    Initialize-SqbState -Path $vshop
}
Show 'Invoke-SqbBuild   (the VDE "dev": one physical version per model, views in schema dev)' { Invoke-SqbBuild -Path $vshop }

$fct = Join-Path $vshop 'models' 'marts' 'fct_orders.sql'
$sql = Get-Content -LiteralPath $fct -Raw
Set-Content -LiteralPath $fct -Value ($sql -replace '(?m)^(\s*)o\.status,\s*$', "`$1o.status,`n`$1UPPER(o.status) AS status_label,") -NoNewline
Show 'Get-SqbPlan -Environment pr_1 | Where-Object Action -NE unchanged   (after adding status_label to fct_orders)' {
    Get-SqbPlan -Path $vshop -Environment pr_1 | Where-Object Action -NE 'unchanged' | Format-Table Name, Action, Reason
}
Show 'Invoke-SqbBuild -Environment pr_1   (new versions for what changed; the other tables refreshed in their versions)' {
    (Invoke-SqbBuild -Path $vshop -Environment pr_1).Nodes | Format-Table Name, Action, Status, Relation
}
Show 'Compare-SqbEnvironment -Reference dev -Difference pr_1' { Compare-SqbEnvironment -Path $vshop -Reference dev -Difference pr_1 }
Show 'Publish-SqbEnvironment -From pr_1 -To dev   (a view swap in one transaction; nothing rebuilt)' {
    Publish-SqbEnvironment -Path $vshop -From pr_1 -To dev
}
Show 'Get-SqbCheckpoint -Environment dev' { Get-SqbCheckpoint -Path $vshop -Environment dev }
Show 'Restore-SqbCheckpoint -Environment dev   (back to before the promotion)' { Restore-SqbCheckpoint -Path $vshop -Environment dev }
Show 'Compare-SqbEnvironment -Reference dev -Difference pr_1   (the change is in pr_1 only again)' {
    Compare-SqbEnvironment -Path $vshop -Reference dev -Difference pr_1
}
Show 'Get-SqbOperation -First 4' { Get-SqbOperation -Path $vshop -First 4 }

