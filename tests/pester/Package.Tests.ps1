#Requires -Version 7.4
# The module package (build.ps1 -Task Package): the built module packed by build/ModulePackage.psm1
# (what the Package task runs), saved with PSResourceGet from a local file repository into a clean
# folder, and imported from there in a fresh pwsh -NoProfile. No network. The repository lives in a
# private PSResourceGet store (XDG_DATA_HOME, honoured on Linux) and is unregistered again, so the
# user's repositories are never touched.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'SQLBuild.TestHelpers.psm1') -Force
    $script:RepoRoot = Get-SqbRepoRoot
    $script:ModuleDir = Split-Path -Parent (Get-SqbModuleManifestPath)
    $script:Source = Import-PowerShellDataFile -LiteralPath (Join-Path $RepoRoot 'SQLBuild.psd1')
    $script:Version = $Source.ModuleVersion

    # The changelog section of this version, read line by line (independently of the build's parser).
    $lines = (Get-Content -LiteralPath (Join-Path $RepoRoot 'CHANGELOG.md') -Raw) -replace "`r`n", "`n" -split "`n"
    $start = [array]::FindIndex($lines, [Predicate[string]] { param($l) $l.StartsWith("## [$Version]") })
    $end = [array]::FindIndex($lines, $start + 1, [Predicate[string]] { param($l) $l.StartsWith('## ') })
    if ($end -lt 0) { $end = $lines.Count }
    $script:ExpectedNotes = if ($start -ge 0) { ($lines[($start + 1)..($end - 1)] -join "`n").Trim() } else { $null }

    $script:Work = Join-Path ([IO.Path]::GetTempPath()) ('sqb_pkg_' + [Guid]::NewGuid().ToString('N').Substring(0, 8))
    $script:Feed = Join-Path $Work 'feed'
    $script:Saved = Join-Path $Work 'saved'
    # Must exist: .NET gives an empty application-data folder for a missing one, and PSResourceGet
    # would then write its store under the current directory.
    $script:Store = Join-Path $Work 'store'
    $script:RepositoryName = 'SqbPackageTest_' + [Guid]::NewGuid().ToString('N').Substring(0, 8)
    $null = New-Item -ItemType Directory -Path $Saved, $Store -Force
    function Format-Literal([string] $Text) { "'" + ($Text -replace "'", "''") + "'" }

    $script:Publish = Invoke-SqbChildScript -Environment @{ XDG_DATA_HOME = $Store; NO_COLOR = '1' } -Script @"
`$ErrorActionPreference = 'Stop'
Import-Module $(Format-Literal (Join-Path $RepoRoot 'build' 'ModulePackage.psm1'))
`$package = New-ModulePackage -ModuleDir $(Format-Literal $ModuleDir) -DestinationPath $(Format-Literal $Feed)
'PACKAGE:' + `$package.Name
Register-PSResourceRepository -Name $(Format-Literal $RepositoryName) -Uri $(Format-Literal $Feed) -Trusted
try {
    'FOUND:' + (Find-PSResource -Name SQLBuild -Repository $(Format-Literal $RepositoryName)).Version
    Save-PSResource -Name SQLBuild -Repository $(Format-Literal $RepositoryName) -Path $(Format-Literal $Saved) -TrustRepository
}
finally {
    Unregister-PSResourceRepository -Name $(Format-Literal $RepositoryName)
}
'REPOSITORIES:' + ((Get-PSResourceRepository | ForEach-Object Name) -join ',')
"@

    $script:Project = Join-Path $Work 'project'
    $script:Import = Invoke-SqbChildScript -Environment @{ NO_COLOR = '1' } -Script @"
`$ErrorActionPreference = 'Stop'
`$env:PSModulePath = $(Format-Literal $Saved) + [IO.Path]::PathSeparator + `$env:PSModulePath
`$module = Import-Module -Name SQLBuild -RequiredVersion $(Format-Literal $Version) -PassThru
'BASE:' + `$module.ModuleBase
'CMDLETS:' + ((Get-Command -Module SQLBuild -CommandType Cmdlet | ForEach-Object Name | Sort-Object) -join ',')
`$null = New-SqbProject -Path $(Format-Literal $Project) -Template direct
'MODELS:' + ((Get-SqbModel -Path $(Format-Literal $Project) | ForEach-Object Name | Sort-Object) -join ',')
"@

    function Get-Tagged($Run, [string] $Tag) {
        @($Run.Lines | Where-Object { $_.StartsWith("${Tag}:") } | ForEach-Object { $_.Substring($Tag.Length + 1) })
    }
    $script:Installed = Join-Path $Saved 'SQLBuild' $Version
    $script:PackagePath = Join-Path $Feed "SQLBuild.$Version.nupkg"
}

AfterAll {
    Remove-Item -LiteralPath $Work -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'The source manifest and its release files' {
    It 'has no placeholder URIs' {
        @($Source.PrivateData.PSData.Values | Where-Object { "$_" -match 'example\.(invalid|com|org)' }) | Should -BeNullOrEmpty
        [uri]$Source.PrivateData.PSData.LicenseUri | Should -Not -BeNullOrEmpty
        ([uri]$Source.PrivateData.PSData.LicenseUri).IsAbsoluteUri | Should -BeTrue
    }

    It 'has a LICENSE and a CHANGELOG.md section for its version' {
        Join-Path $RepoRoot 'LICENSE' | Should -FileContentMatch 'MIT License'
        $ExpectedNotes | Should -Not -BeNullOrEmpty
    }
}

Describe 'The module package' {
    It 'is named after the module and its ModuleVersion' {
        $Publish.ExitCode | Should -Be 0 -Because ($Publish.Lines -join "`n")
        Get-Tagged $Publish 'PACKAGE' | Should -Be "SQLBuild.$Version.nupkg"
        $PackagePath | Should -Exist
    }

    It 'holds the module with its LICENSE and CHANGELOG.md, and metadata from the manifest and changelog' {
        Add-Type -AssemblyName System.IO.Compression.FileSystem
        $zip = [IO.Compression.ZipFile]::OpenRead($PackagePath)
        try {
            $entries = @($zip.Entries | ForEach-Object FullName)
            foreach ($name in 'SQLBuild.psd1', 'SQLBuild.dll', 'LICENSE', 'CHANGELOG.md', 'dependencies/SQLBuild.Core.dll') {
                $entries | Should -Contain $name
            }
            $reader = [IO.StreamReader]::new(($zip.Entries | Where-Object FullName -EQ 'SQLBuild.nuspec').Open())
            try { [xml] $nuspec = $reader.ReadToEnd() } finally { $reader.Dispose() }
        }
        finally { $zip.Dispose() }
        $metadata = $nuspec.package.metadata
        $metadata.id | Should -Be 'SQLBuild'
        $metadata.version | Should -Be $Version
        $metadata.licenseUrl | Should -Be $Source.PrivateData.PSData.LicenseUri
        $nuspec.OuterXml | Should -Not -Match 'example\.invalid'
        ($metadata.releaseNotes -replace "`r`n", "`n") | Should -Be $ExpectedNotes
    }
}

Describe 'Saving the package from a local file repository' {
    It 'finds it and saves it into a clean folder' {
        $Publish.ExitCode | Should -Be 0 -Because ($Publish.Lines -join "`n")
        Get-Tagged $Publish 'FOUND' | Should -Be $Version
        Join-Path $Installed 'SQLBuild.psd1' | Should -Exist
        Join-Path $Installed 'LICENSE' | Should -Exist
    }

    It 'leaves the repository unregistered afterwards' {
        $registered = @((Get-Tagged $Publish 'REPOSITORIES') -split ',')
        $registered | Should -Not -Contain $RepositoryName
    }

    It 'keeps the repository in the private store, not the user''s' -Skip:(-not $IsLinux) {
        Join-Path $Store 'PSResourceGet' 'PSResourceRepository.xml' | Should -Exist
    }

    It 'installs a manifest whose release notes are the changelog section of its version' {
        $manifest = Import-PowerShellDataFile -LiteralPath (Join-Path $Installed 'SQLBuild.psd1')
        ($manifest.PrivateData.PSData.ReleaseNotes -replace "`r`n", "`n") | Should -Be $ExpectedNotes
    }
}

Describe 'The saved module in a fresh pwsh' {
    It 'imports by name from the saved folder' {
        $Import.ExitCode | Should -Be 0 -Because ($Import.Lines -join "`n")
        Get-Tagged $Import 'BASE' | Should -Be (Resolve-Path -LiteralPath $Installed).Path
    }

    It 'exports its 24 cmdlets' {
        $cmdlets = @((Get-Tagged $Import 'CMDLETS') -split ',')
        $cmdlets.Count | Should -Be 24
        $cmdlets | Should -Be @($Source.CmdletsToExport | Sort-Object)
    }

    It 'builds a model list: New-SqbProject and Get-SqbModel on DuckDB' {
        $Import.ExitCode | Should -Be 0 -Because ($Import.Lines -join "`n")
        $models = @((Get-Tagged $Import 'MODELS') -split ',')
        $models | Should -Contain 'fct_orders'
        $models | Should -Contain 'stg_orders'
    }
}
