<#
.SYNOPSIS
    The demo behind build.ps1 -Task Demo, run in a fresh pwsh -NoProfile: create demo/ from the
    direct template, build it, show the results, and query one mart named by the build's output.
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

Write-Host '--- New-SqbProject -Path demo -Template direct'
New-SqbProject -Path demo -Template direct | Out-Host

Write-Host '--- $r = Invoke-SqbBuild -Path demo'
$r = Invoke-SqbBuild -Path demo
$r | Format-Table | Out-Host
$r.Nodes | Format-Table Name, NodeType, Materialized, Status, Rows, Duration | Out-Host

# The mart to query: a model under models/marts (from Get-SqbModel), else the last model built.
$built = @($r.Nodes | Where-Object { $_.NodeType -eq 'model' -and "$($_.Status)" -in 'Succeeded', 'Warned' -and $_.Relation })
if ($built.Count -eq 0) { throw 'The demo build produced no model to query.' }
$martNames = @(Get-SqbModel -Path demo | Where-Object {
        $p = $_.PSObject.Properties['Path']; $p -and "$($p.Value)" -match '(^|[\\/])marts?[\\/]' } | ForEach-Object Name)
$mart = ($built | Where-Object Name -In $martNames | Select-Object -Last 1) ?? ($built | Select-Object -Last 1)

$toml = Get-Content -LiteralPath (Join-Path 'demo' 'sqlbuild_project.toml') -Raw
$adapter = if ($toml -match '(?m)^\s*adapter\s*=\s*"([^"]+)"') { $Matches[1] } else { 'duckdb' }
if ($adapter -ne 'duckdb' -or $toml -notmatch '(?m)^\s*database\s*=\s*"([^"]+)"') {
    Write-Host "--- mart $($mart.Name) is $($mart.Relation) ($adapter); querying it here is only wired for DuckDB."
    return
}
$database = Join-Path (Resolve-Path 'demo').Path $Matches[1]

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
    $table | Format-Table | Out-Host
}
finally {
    $connection.Dispose()
}
