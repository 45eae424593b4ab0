#Requires -Version 7.4
# Default views (SQLBuild.Format.ps1xml), default property sets (SQLBuild.Types.ps1xml) and the
# [SQLBuild.*] type accelerators. Data-driven: every type a cmdlet declares in [OutputType], and
# every SQLBuild type those types carry in their properties, must have a view; a cmdlet merged with
# a new output type fails here until its view exists.

BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'SQLBuild.TestHelpers.psm1') -Force
    Import-SqbTestModule

    # The SQLBuild types reachable from the cmdlets' [OutputType]: the declared types and, through
    # their properties (element types of lists included), the SQLBuild types they carry.
    $declared = @(Get-Command -Module SQLBuild -CommandType Cmdlet | ForEach-Object { $_.OutputType } | ForEach-Object Name | Sort-Object -Unique)
    $seen = [System.Collections.Generic.SortedSet[string]]::new([StringComparer]::Ordinal)
    $queue = [System.Collections.Generic.Queue[type]]::new()
    foreach ($name in $declared | Where-Object { $_ -like 'SQLBuild.*' }) { $queue.Enqueue((Get-SqbType $name)) }
    while ($queue.Count) {
        $type = $queue.Dequeue()
        if (-not $seen.Add($type.FullName)) { continue }
        foreach ($property in $type.GetProperties()) {
            $candidates = @($property.PropertyType) + @($property.PropertyType.GetGenericArguments()) + @($property.PropertyType.GetElementType() | Where-Object { $_ })
            foreach ($c in $candidates) { if ($c.Namespace -eq 'SQLBuild' -and $c.IsClass) { $queue.Enqueue($c) } }
        }
    }
    $script:ViewTypes = @($seen | ForEach-Object { @{ TypeName = $_ } })
    $script:DeclaredTypes = @($declared | ForEach-Object { @{ TypeName = $_ } })
    $script:PublicTypes = @((Get-SqbType 'SQLBuild.SqbBuildResult').Assembly.GetExportedTypes() |
            Where-Object { $_.Namespace -eq 'SQLBuild' -and -not $_.IsNested } | ForEach-Object { @{ TypeName = $_.FullName } })
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'SQLBuild.TestHelpers.psm1') -Force
    $script:Module = Import-SqbTestModule -PassThru
    [xml] $script:FormatXml = Get-Content -LiteralPath (Join-Path $Module.ModuleBase 'SQLBuild.Format.ps1xml') -Raw
    [xml] $script:TypesXml = Get-Content -LiteralPath (Join-Path $Module.ModuleBase 'SQLBuild.Types.ps1xml') -Raw
    $script:Views = @($FormatXml.Configuration.ViewDefinitions.View)
    $script:Width = 120

    # A default instance of an output type (required members are a compile-time rule only).
    function New-SqbInstance([string] $TypeName) { [Activator]::CreateInstance((Get-SqbType $TypeName)) }
}

Describe 'Format view for <TypeName>' -ForEach $ViewTypes {
    BeforeAll {
        $script:TypeViews = @($Views | Where-Object { $_.ViewSelectedBy.TypeName -eq $TypeName })
        $script:Table = $TypeViews | Where-Object { $_.TableControl } | Select-Object -First 1
    }

    It 'has a table view keyed on the full type name' {
        $Table | Should -Not -BeNullOrEmpty -Because "add a <View> for $TypeName to src/SQLBuild.PowerShell/SQLBuild.Format.ps1xml"
        $data = Get-FormatData -TypeName $TypeName
        $data | Should -Not -BeNullOrEmpty
        @($data.FormatViewDefinition | Where-Object { $_.Control -is [System.Management.Automation.TableControl] }).Count | Should -BeGreaterThan 0
    }

    It 'is concise: at most 9 columns that fit in 120 characters' {
        $headers = @($Table.TableControl.TableHeaders.TableColumnHeader)
        $headers.Count | Should -BeLessOrEqual 9
        $fixed = ($headers | ForEach-Object { if ($_.Width) { [int]$_.Width } else { 8 } } | Measure-Object -Sum).Sum
        ($fixed + $headers.Count - 1) | Should -BeLessOrEqual $Width
    }

    It 'names only properties the type has' {
        $type = Get-SqbType $TypeName
        foreach ($view in $TypeViews) {
            foreach ($name in @($view.SelectNodes('.//PropertyName') | ForEach-Object InnerText)) {
                $type.GetProperty($name) | Should -Not -BeNullOrEmpty -Because "view '$($view.Name)' shows $name"
            }
        }
    }

    It 'renders an instance as a table with its headers' {
        $text = New-SqbInstance $TypeName | Format-Table | Out-String -Width $Width
        foreach ($label in @($Table.TableControl.TableHeaders.TableColumnHeader | ForEach-Object Label)) {
            $text | Should -Match ([regex]::Escape($label))
        }
    }
}

Describe 'Format data for the declared output type <TypeName>' -ForEach $DeclaredTypes {
    It 'has a view (SQLBuild''s own, or PowerShell''s for framework types)' {
        Get-FormatData -TypeName $TypeName | Should -Not -BeNullOrEmpty
    }
}

Describe 'SQLBuild.Format.ps1xml' {
    It 'keys every view on a full SQLBuild type name' {
        foreach ($view in $Views) { $view.ViewSelectedBy.TypeName | Should -Match '^SQLBuild\.Sqb\w+$' }
    }

    It 'has unique view names' {
        @($Views | Group-Object Name | Where-Object Count -GT 1) | Should -BeNullOrEmpty
    }

    It 'shows a real build as a table with its figures' {
        $project = New-SqbTestProject @{
            'sqlbuild_project.toml' = "name = 'fmt'`nadapter = 'duckdb'`ndefault_target = 'dev'`n[connections.local]`ndatabase = 'fmt.duckdb'`n[targets.dev]`nconnection = 'local'`nschema = 'dev'`n"
            'models/one.sql'        = 'SELECT 1 AS id'
        }
        $result = Invoke-SqbBuild -Path $project -Confirm:$false
        $text = $result | Out-String -Width $Width
        $text | Should -Match 'Environment\s+Mode\s+Status\s+Passed\s+Failed\s+Skipped\s+Duration'
        $text | Should -Match 'dev\s+direct\s+succeeded\s+1\s+0\s+0'
        ($result.Nodes | Out-String -Width $Width) | Should -Match 'one\s+model\s+view\s+Succeeded'
    }
}

Describe 'SQLBuild.Types.ps1xml' {
    It 'names only properties the types have in DefaultDisplayPropertySet' {
        foreach ($t in $TypesXml.Types.Type) {
            $type = Get-SqbType $t.Name
            foreach ($name in @($t.Members.MemberSet.Members.PropertySet.ReferencedProperties.Name)) {
                $type.GetProperty($name) | Should -Not -BeNullOrEmpty -Because "$($t.Name) lists $name"
            }
        }
    }

    It 'makes Format-List show the default property set' {
        $model = Get-SqbModel -Path (New-SqbTestProject @{
                'sqlbuild_project.toml' = "name = 'fl'`nadapter = 'duckdb'`ndefault_target = 'dev'`n[connections.local]`ndatabase = 'fl.duckdb'`n[targets.dev]`nconnection = 'local'`nschema = 'dev'`n"
                'models/one.sql'        = 'SELECT 1 AS id'
            }) | Select-Object -First 1
        $list = $model | Format-List | Out-String
        $list | Should -Match 'VersionHash'
        $list | Should -Not -Match 'CompiledSql'
        ($model | Format-List * | Out-String) | Should -Match 'CompiledSql'
    }
}

Describe 'Type accelerator [<TypeName>]' -ForEach $PublicTypes {
    It 'resolves to the type in the private load context' {
        $type = [type]$TypeName
        $type.FullName | Should -Be $TypeName
        [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext($type.Assembly).Name | Should -Be 'SQLBuild'
    }
}

Describe 'Type accelerators over the module''s life' {
    It 'are registered on import, work in scripts, and are removed with the module' {
        $result = Invoke-SqbChildPwsh -ArgumentList (Get-SqbModuleManifestPath) -ScriptBlock {
            param($ManifestPath)
            $accelerators = [psobject].Assembly.GetType('System.Management.Automation.TypeAccelerators')
            $before = @($accelerators::Get.Keys | Where-Object { $_ -like 'SQLBuild.*' }).Count
            Import-Module -Name $ManifestPath
            $registered = @($accelerators::Get.Keys | Where-Object { $_ -like 'SQLBuild.*' })
            $failed = ([scriptblock]::Create('[SQLBuild.SqbNodeStatus]::Failed')).Invoke()[0]
            $isResult = ([scriptblock]::Create('param($t) $t -eq [SQLBuild.SqbBuildResult]')).Invoke($accelerators::Get['SQLBuild.SqbBuildResult'])[0]
            Remove-Module -Name SQLBuild
            $after = @($accelerators::Get.Keys | Where-Object { $_ -like 'SQLBuild.*' }).Count
            Import-Module -Name $ManifestPath
            $again = @($accelerators::Get.Keys | Where-Object { $_ -like 'SQLBuild.*' }).Count
            [pscustomobject]@{ Before = $before; Registered = $registered; Failed = "$failed"; IsResult = $isResult; After = $after; Again = $again }
        }
        $result.Before | Should -Be 0
        $result.Registered | Should -Contain 'SQLBuild.SqbBuildResult'
        $result.Registered | Should -Contain 'SQLBuild.SqbLock'
        $result.Failed | Should -Be 'Failed'
        $result.IsResult | Should -BeTrue
        $result.After | Should -Be 0
        $result.Again | Should -Be @($result.Registered).Count
    }
}
