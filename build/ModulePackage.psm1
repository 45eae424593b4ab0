<#
    The module as something to publish: the release notes of its manifest come from CHANGELOG.md
    (the Build task writes them into the built manifest), and a built module folder becomes a
    PSResourceGet module package (.nupkg) that Save-PSResource/Install-PSResource can install.
    tests/pester/Package.Tests.ps1 imports this module to package the built module it tests.
#>
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

# The body of the "## [<Version>] - <date>" section of a Keep a Changelog file, up to the next
# "## " heading, trimmed. Throws when the file has no section for that version.
function Get-ChangelogSection {
    param([Parameter(Mandatory)] [string] $Path, [Parameter(Mandatory)] [string] $Version)
    $text = (Get-Content -LiteralPath $Path -Raw) -replace "`r`n", "`n"
    $heading = '(?m)^## \[' + [regex]::Escape($Version) + '\][^\n]*\n'
    $match = [regex]::Match($text, $heading + '(?<body>.*?)(?=^## |\z)', 'Singleline, Multiline')
    if (-not $match.Success -or -not $match.Groups['body'].Value.Trim()) {
        throw "$Path has no section '## [$Version]' with text: add one for the manifest's ModuleVersion."
    }
    $match.Groups['body'].Value.Trim()
}

# Replaces the ReleaseNotes value in PrivateData.PSData of a module manifest (the one line
# "ReleaseNotes = '...'") and checks that the manifest reads back with exactly that text.
function Set-ManifestReleaseNotes {
    param([Parameter(Mandatory)] [string] $ManifestPath, [Parameter(Mandatory)] [string] $ReleaseNotes)
    $text = Get-Content -LiteralPath $ManifestPath -Raw
    $quote = "['\u2018\u2019\u201A\u201B]"
    $pattern = "(?m)^(?<key>\s*ReleaseNotes\s*=\s*)$quote(?:(?!$quote)[\s\S]|$quote{2})*$quote"
    if ([regex]::Matches($text, $pattern).Count -ne 1) {
        throw "$ManifestPath must hold exactly one line ReleaseNotes = '...' (in PrivateData.PSData)."
    }
    # A single-quoted string: PowerShell reads the typographic single quotes as quotes too.
    $quoted = "'" + ($ReleaseNotes -replace $quote, '$0$0') + "'"
    $text = [regex]::Replace($text, $pattern, { param($m) $m.Groups['key'].Value + $quoted })
    [IO.File]::WriteAllText($ManifestPath, $text, [Text.UTF8Encoding]::new($false))
    $written = (Import-PowerShellDataFile -LiteralPath $ManifestPath).PrivateData.PSData.ReleaseNotes
    if ($written -ne $ReleaseNotes) { throw "$ManifestPath does not read back the release notes it was given." }
}

# Packs a built module folder (<ModuleName>/<ModuleName>.psd1 and everything beside it) into
# <DestinationPath>/<ModuleName>.<ModuleVersion>.nupkg with PSResourceGet's Compress-PSResource:
# no repository, no network. Returns the package file.
function New-ModulePackage {
    param([Parameter(Mandatory)] [string] $ModuleDir, [Parameter(Mandatory)] [string] $DestinationPath)
    # Compress-PSResource came in PSResourceGet 1.1 (PowerShell 7.5; the pinned 7.6.9 has 1.2).
    Import-Module -Name Microsoft.PowerShell.PSResourceGet -MinimumVersion 1.1.0
    $name = Split-Path -Leaf $ModuleDir
    $version = (Import-PowerShellDataFile -LiteralPath (Join-Path $ModuleDir "$name.psd1")).ModuleVersion
    $null = New-Item -ItemType Directory -Path $DestinationPath -Force
    $package = Join-Path $DestinationPath "$name.$version.nupkg"
    if (Test-Path -LiteralPath $package) { Remove-Item -LiteralPath $package -Force }
    Compress-PSResource -Path $ModuleDir -DestinationPath $DestinationPath
    if (-not (Test-Path -LiteralPath $package)) { throw "Compress-PSResource did not write '$package'." }
    Get-Item -LiteralPath $package
}
