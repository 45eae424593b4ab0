#Requires -Version 7.4
<#
.SYNOPSIS
    How much Import-Module SQLBuild adds to a PowerShell start: median wall time of
    `pwsh -NoProfile -c 'Import-Module <module>'` against a bare `pwsh -NoProfile -c 'exit'`.

.DESCRIPTION
    Starts -Runs processes of each kind, interleaved (bare, import, bare, import, ...) so that
    machine load drifts affect both alike, after one warm-up of each. Reports the medians, the
    difference and the target (SPEC §12: Import-Module SQLBuild stays under 0.5 s on top of pwsh's
    own start). Also times one first command (Get-SqbModel on a fresh project) for information:
    drivers load on first use, not on import.

    Wall time is what the target is about; CPU time (all threads of the child) is reported beside it
    because it hardly moves when other work loads the machine.

    Emits one result object per measurement (Name, MedianSeconds, MedianCpuSeconds, MinSeconds,
    Runs, Samples) and a summary object (Name = 'import overhead', with TargetSeconds and Pass);
    writes a table to the host.
    Exits 1 when the overhead misses the target and -FailOnTarget is given.

.EXAMPLE
    pwsh -NoProfile -File build/bench/Import.Bench.ps1 -Runs 10
#>
[CmdletBinding()]
param(
    # The module to import; default: the built one (out/SQLBuild/SQLBuild.psd1).
    [string] $ModuleManifest = (Join-Path $PSScriptRoot '..' '..' 'out' 'SQLBuild' 'SQLBuild.psd1'),
    [ValidateRange(3, 100)] [int] $Runs = 10,
    [double] $TargetSeconds = 0.5,
    [switch] $FailOnTarget
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$manifest = (Resolve-Path -LiteralPath $ModuleManifest).Path
$quoted = $manifest -replace "'", "''"

# This same PowerShell: pwsh itself, or `dotnet pwsh.dll` when it runs as a .NET tool.
$process = [Environment]::ProcessPath
$prefix = @()
if ([IO.Path]::GetFileNameWithoutExtension($process) -ne 'pwsh') {
    $dll = Join-Path $PSHOME 'pwsh.dll'
    if (Test-Path -LiteralPath $dll) { $prefix = @($dll) } else { $process = Join-Path $PSHOME ($IsWindows ? 'pwsh.exe' : 'pwsh') }
}

$project = Join-Path ([IO.Path]::GetTempPath()) ('sqb_bench_' + [Guid]::NewGuid().ToString('N').Substring(0, 8))
$cases = [ordered]@{
    'pwsh (bare)'                  = '$null'
    'pwsh + Import-Module SQLBuild' = "Import-Module '$quoted'"
    'pwsh + import + Get-SqbModel' = "Import-Module '$quoted'; `$null = Get-SqbModel -Path '$($project -replace "'", "''")'"
}

# One process start: wall time, and the CPU time (user + kernel, all threads) the child reports as
# its last act. CPU time barely moves when other work shares the machine, so it shows the module's
# own cost even on a busy build agent.
function Measure-Start([string] $Command) {
    $info = [System.Diagnostics.ProcessStartInfo]::new($process)
    $report = '[Console]::Out.Write([Diagnostics.Process]::GetCurrentProcess().TotalProcessorTime.TotalSeconds.ToString([cultureinfo]::InvariantCulture))'
    foreach ($a in @($prefix) + @('-NoProfile', '-NonInteractive', '-Command', "$Command; $report")) { $info.ArgumentList.Add($a) }
    $info.RedirectStandardOutput = $true
    $info.UseShellExecute = $false
    $watch = [Diagnostics.Stopwatch]::StartNew()
    $child = [System.Diagnostics.Process]::Start($info)
    try {
        $output = $child.StandardOutput.ReadToEnd()
        $child.WaitForExit()
        $watch.Stop()
        if ($child.ExitCode -ne 0) { throw "'$Command' exited with $($child.ExitCode)" }
        [pscustomobject]@{ Wall = $watch.Elapsed.TotalSeconds; Cpu = [double]::Parse(($output.Trim() -split '\s+')[-1], [cultureinfo]::InvariantCulture) }
    }
    finally { $child.Dispose() }
}

function Get-Median([double[]] $Values) {
    $sorted = @($Values | Sort-Object)
    $middle = [int][Math]::Floor($sorted.Count / 2)
    if ($sorted.Count % 2) { $sorted[$middle] } else { ($sorted[$middle - 1] + $sorted[$middle]) / 2 }
}

try {
    # The first-command case needs a project (created with the module itself, outside the timing).
    & $process @prefix -NoProfile -NonInteractive -Command "Import-Module '$quoted'; `$null = New-SqbProject -Path '$($project -replace "'", "''")' -Confirm:`$false" | Out-Null

    $samples = [ordered]@{}
    foreach ($name in $cases.Keys) { $samples[$name] = [System.Collections.Generic.List[object]]::new(); $null = Measure-Start $cases[$name] }   # warm-up
    for ($i = 0; $i -lt $Runs; $i++) {
        foreach ($name in $cases.Keys) { $samples[$name].Add((Measure-Start $cases[$name])) }
    }

    $results = foreach ($name in $cases.Keys) {
        $wall = [double[]]@($samples[$name] | ForEach-Object Wall)
        $cpu = [double[]]@($samples[$name] | ForEach-Object Cpu)
        [pscustomobject]@{
            Name = $name; MedianSeconds = [Math]::Round((Get-Median $wall), 3); MedianCpuSeconds = [Math]::Round((Get-Median $cpu), 3)
            MinSeconds = [Math]::Round(($wall | Measure-Object -Minimum).Minimum, 3); Runs = $Runs; Samples = $wall
        }
    }
    $bare = $results[0]
    $import = $results[1]
    $overhead = [Math]::Round($import.MedianSeconds - $bare.MedianSeconds, 3)
    $cpuOverhead = [Math]::Round($import.MedianCpuSeconds - $bare.MedianCpuSeconds, 3)
    $summary = [pscustomobject]@{
        Name = 'import overhead'; MedianSeconds = $overhead; MedianCpuSeconds = $cpuOverhead; Runs = $Runs
        TargetSeconds = $TargetSeconds; Pass = $overhead -lt $TargetSeconds
    }

    $results | Format-Table Name, @{ n = 'Median (s)'; e = 'MedianSeconds' }, @{ n = 'Min (s)'; e = 'MinSeconds' }, @{ n = 'Median CPU (s)'; e = 'MedianCpuSeconds' }, Runs | Out-Host
    Write-Host ("Import-Module SQLBuild adds {0:0.000} s wall (median of {1}; {2:0.000} s CPU) to a bare pwsh start of {3:0.000} s; target < {4} s: {5}" -f
        $overhead, $Runs, $cpuOverhead, $bare.MedianSeconds, $TargetSeconds, ($summary.Pass ? 'met' : 'MISSED'))
    $results
    $summary
    if ($FailOnTarget -and -not $summary.Pass) { exit 1 }
}
finally {
    Remove-Item -LiteralPath $project -Recurse -Force -ErrorAction Ignore
}
