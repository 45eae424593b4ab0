<#
    What every build task shares: the build context (where the repository, the layout and the built
    module are), console output, running native commands and child pwsh processes, the runtime
    identifier, and the Pester download. build.ps1 and the task modules import it.
#>
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

# Where everything is, for one build.ps1 run. -Runtime: the runtime identifier to publish for
# (default: the one this pwsh process runs on).
function New-BuildContext {
    param([Parameter(Mandatory)] [string] $RepoRoot, [string] $Runtime)
    $layout = Import-PowerShellDataFile -LiteralPath (Join-Path $RepoRoot 'build/module-layout.psd1')
    $moduleDir = Join-Path $RepoRoot $layout.OutputRoot $layout.ModuleName
    [pscustomobject]@{
        RepoRoot       = $RepoRoot
        Runtime        = $Runtime
        Layout         = $layout
        ModuleDir      = $moduleDir
        ModuleManifest = Join-Path $moduleDir "$($layout.ModuleName).psd1"
        PesterVersion  = '5.7.1'
    }
}

#region output ----------------------------------------------------------------------------------

function Write-Step([string] $Message) {
    if ($env:NO_COLOR) { Write-Host "==> $Message" }
    else { Write-Host "==> $Message" -ForegroundColor Cyan }
}

function Write-Loud([string] $Message) {
    $line = '!' * 78
    if ($env:NO_COLOR) { Write-Host "$line`n!! $Message`n$line" }
    else { Write-Host "$line`n!! $Message`n$line" -ForegroundColor Yellow }
}

function Format-Elapsed([TimeSpan] $Elapsed) { '{0:0.0}s' -f $Elapsed.TotalSeconds }

function Test-Truthy([string] $Value) {
    -not [string]::IsNullOrWhiteSpace($Value) -and $Value.Trim() -notin @('0', 'false', 'no', 'off')
}

#endregion
#region processes -------------------------------------------------------------------------------

# Runs a native command; throws on a non-zero exit code unless -AllowFailure. Its output goes to
# the host (never into the caller's pipeline); -Capture holds it back and shows it only on failure.
function Invoke-Native {
    param(
        [Parameter(Mandatory)] [string] $FilePath,
        [string[]] $ArgumentList = @(),
        [switch] $AllowFailure,
        [switch] $Quiet,
        [switch] $Capture
    )
    $display = "$FilePath $($ArgumentList -join ' ')"
    if (-not $Quiet) { Write-Host "   > $display" }
    if ($Capture) {
        $output = & $FilePath @ArgumentList 2>&1 | ForEach-Object { "$_" }
        $code = $LASTEXITCODE
        if ($code -ne 0) { $output | Out-Host }
    }
    else {
        & $FilePath @ArgumentList | Out-Host
        $code = $LASTEXITCODE
    }
    if ($code -ne 0 -and -not $AllowFailure) { throw "'$display' exited with code $code." }
    return $code
}

# The dotnet options that keep MSBuild output plain when NO_COLOR is set.
function Get-DotnetLogArgs {
    if ($env:NO_COLOR) { @('-tl:off', '-clp:DisableConsoleColor') } else { @() }
}

# How to start a child pwsh that is this same PowerShell (a dotnet tool runs as `dotnet pwsh.dll`).
function Get-PwshCommand {
    $process = [Environment]::ProcessPath
    $leaf = [IO.Path]::GetFileNameWithoutExtension($process)
    if ($leaf -eq 'pwsh') { return @{ FilePath = $process; Prefix = @() } }
    $dll = Join-Path $PSHOME 'pwsh.dll'
    if ($leaf -eq 'dotnet' -and (Test-Path -LiteralPath $dll)) { return @{ FilePath = $process; Prefix = @($dll) } }
    $pwsh = Join-Path $PSHOME ($IsWindows ? 'pwsh.exe' : 'pwsh')
    if (Test-Path -LiteralPath $pwsh) { return @{ FilePath = $pwsh; Prefix = @() } }
    return @{ FilePath = 'pwsh'; Prefix = @() }
}

# Runs a fresh `pwsh -NoProfile -NonInteractive` with these arguments; returns its exit code.
function Invoke-ChildPwsh {
    param([string[]] $ArgumentList, [switch] $AllowFailure)
    $pwsh = Get-PwshCommand
    Invoke-Native -FilePath $pwsh.FilePath -ArgumentList (@($pwsh.Prefix) + @('-NoProfile', '-NonInteractive') + $ArgumentList) -AllowFailure:$AllowFailure -Quiet
}

#endregion
#region runtime identifier ----------------------------------------------------------------------

# The runtime identifier to publish for: $Runtime when given, else the one this process runs on.
function Get-RuntimeId([string] $Runtime) {
    if ($Runtime) { return $Runtime }
    $arch = switch ([System.Runtime.InteropServices.RuntimeInformation]::ProcessArchitecture) {
        'X64' { 'x64' }
        'Arm64' { 'arm64' }
        'X86' { 'x86' }
        'Arm' { 'arm' }
        default { throw "Unsupported process architecture '$_'." }
    }
    if ($IsWindows) { return "win-$arch" }
    if ($IsMacOS) { return "osx-$arch" }
    $musl = (Test-Path '/etc/alpine-release') -or
        @(Get-ChildItem -Path '/lib/ld-musl-*', '/usr/lib/ld-musl-*' -ErrorAction SilentlyContinue).Count -gt 0
    if ($musl) { return "linux-musl-$arch" }
    return "linux-$arch"
}

# RID fallback chain for flattening runtimes/<rid>/... folders: linux-x64 -> linux -> unix.
function Get-RuntimeIdChain([string] $Rid) {
    $os = ($Rid -split '-')[0]
    $chain = [System.Collections.Generic.List[string]]::new()
    $chain.Add($Rid)
    if ($Rid -like 'linux-musl-*') { $chain.Add('linux-musl'); $chain.Add('linux') }
    elseif ($os -ne $Rid) { $chain.Add($os) }
    if ($os -ne 'win') { $chain.Add('unix') }
    return $chain
}

#endregion
#region Pester ----------------------------------------------------------------------------------

function Get-NuGetPackageRoot {
    if ($env:NUGET_PACKAGES) { return $env:NUGET_PACKAGES }
    return Join-Path ([Environment]::GetFolderPath('UserProfile')) '.nuget' 'packages'
}

# Pester.psd1 from the NuGet cache; restores build/tools.csproj first when it is not there yet.
function Get-PesterManifest($Context) {
    $version = $Context.PesterVersion
    $path = Join-Path (Get-NuGetPackageRoot) 'pester' $version 'tools' 'Pester.psd1'
    if (-not (Test-Path -LiteralPath $path)) {
        Write-Step "Restoring Pester $version (build/tools.csproj)"
        $null = Invoke-Native dotnet @('restore', (Join-Path $Context.RepoRoot 'build/tools.csproj'), '--nologo')
        if (-not (Test-Path -LiteralPath $path)) { throw "Pester $version was not found at '$path' after restore." }
    }
    return $path
}

#endregion
