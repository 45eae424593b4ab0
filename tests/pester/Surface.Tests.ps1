#Requires -Version 7.4
# One consistent command surface (SPEC §12): approved verbs, singular Sqb nouns, the common -Path,
# -Target and -Credential everywhere, [OutputType] on every cmdlet, SupportsShouldProcess with
# SPEC's ConfirmImpact on every cmdlet that changes anything, each cmdlet's parameters and sets
# pinned in CommandSurface.psd1, and -WhatIf that changes nothing. Data-driven over
# Get-Command -Module SQLBuild: a merged cmdlet is held to the same rules.

BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'SQLBuild.TestHelpers.psm1') -Force
    Import-SqbTestModule
    $script:Commands = @(Get-Command -Module SQLBuild -CommandType Cmdlet | Sort-Object Name | ForEach-Object { @{ Name = $_.Name } })
    $surface = Import-PowerShellDataFile -LiteralPath (Join-Path $PSScriptRoot 'CommandSurface.psd1')
    $script:WhatIfCases = @(foreach ($name in $surface.Keys | Sort-Object) {
            $sets = @($surface[$name]['WhatIf'])
            for ($i = 0; $i -lt $sets.Count; $i++) {
                if ($sets[$i] -is [hashtable]) {
                    $shown = @($sets[$i].GetEnumerator() | Sort-Object Key | ForEach-Object { "-$($_.Key) $($_.Value)" }) -join ' '
                    @{ Name = $name; Arguments = $sets[$i]; Shown = $shown }
                }
            }
        })
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'SQLBuild.TestHelpers.psm1') -Force
    Import-SqbTestModule
    $script:Surface = Import-PowerShellDataFile -LiteralPath (Join-Path $PSScriptRoot 'CommandSurface.psd1')
    $script:ApprovedVerbs = @(Get-Verb | ForEach-Object Verb)

    # SPEC §12: every cmdlet of the product and its ConfirmImpact ('-': changes nothing).
    $script:SpecConfirmImpact = @{
        'New-SqbProject'                    = 'Low'
        'Get-SqbModel'                      = '-'
        'Get-SqbPlan'                       = '-'
        'Invoke-SqbBuild'                   = 'Medium'
        'Get-SqbEnvironment'                = '-'
        'Publish-SqbEnvironment'            = 'Medium'
        'Restore-SqbCheckpoint'             = 'Medium'
        'Compare-SqbEnvironment'            = '-'
        'Get-SqbCheckpoint'                 = '-'
        'Compare-SqbCheckpoint'             = '-'
        'Get-SqbReconcile'                  = '-'
        'Repair-SqbView'                    = 'Low'
        'Set-SqbModelRef'                   = 'High'
        'Initialize-SqbState'               = 'Low'
        'Update-SqbState'                   = 'Medium'
        'Get-SqbStateBackup'                = '-'
        'Restore-SqbState'                  = 'High'
        'Reset-SqbState'                    = 'High'
        'Get-SqbLock'                       = '-'
        'Clear-SqbLock'                     = 'High'
        'ConvertTo-SqbVirtualEnvironment'   = 'High'
        'ConvertFrom-SqbVirtualEnvironment' = 'High'
        'Get-SqbOperation'                  = '-'
        'Invoke-SqbJanitor'                 = 'High'
    }

    function Get-CmdletAttribute([string] $Name) {
        (Get-Command -Name $Name).ImplementingType.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $true) | Select-Object -First 1
    }
}

Describe 'Surface of <Name>' -ForEach $Commands {
    BeforeAll {
        $script:Command = Get-Command -Name $Name
        $script:Attribute = Get-CmdletAttribute $Name
        $script:Pinned = $Surface[$Name]
        $script:Current = Format-SqbCommandSurface $Command
    }

    It 'uses an approved verb' {
        $ApprovedVerbs | Should -Contain $Command.Verb
    }

    It 'has a singular noun that starts with Sqb' {
        $Command.Noun | Should -MatchExactly '^Sqb[A-Z][A-Za-z]*$'
        $Command.Noun | Should -Not -MatchExactly '[^s]s$' -Because 'nouns are singular'
    }

    It 'takes the common -Path, -Target and -Credential' {
        $Command.Parameters['Path'].ParameterType | Should -Be ([string])
        $Command.Parameters['Target'].ParameterType | Should -Be ([string])
        $Command.Parameters['Credential'].ParameterType | Should -Be ([pscredential])
    }

    It 'names its output type with [OutputType]' {
        @($Command.OutputType).Count | Should -BeGreaterThan 0
    }

    It 'calls an environment parameter -Environment, with the alias VirtualEnv' {
        foreach ($p in $Command.Parameters.Values | Where-Object Name -EQ 'Environment') { $p.Aliases | Should -Contain 'VirtualEnv' }
        foreach ($p in $Command.Parameters.Values | Where-Object { $_.Name -in 'VirtualEnvironment', 'Vde', 'Env' }) {
            $p.Name | Should -Be 'Environment' -Because 'SPEC §12: the environment parameter is -Environment'
        }
    }

    It 'is in SPEC §12 with its ConfirmImpact' {
        $SpecConfirmImpact.ContainsKey($Name) | Should -BeTrue -Because 'every cmdlet is listed in SPEC §12'
        $impact = $SpecConfirmImpact[$Name]
        if ($impact -eq '-') {
            $Attribute.SupportsShouldProcess | Should -BeFalse -Because "$Name changes nothing"
        }
        else {
            $Attribute.SupportsShouldProcess | Should -BeTrue -Because "$Name changes something"
            "$($Attribute.ConfirmImpact)" | Should -Be $impact
            $Command.Parameters.ContainsKey('WhatIf') | Should -BeTrue
            $Command.Parameters.ContainsKey('Confirm') | Should -BeTrue
        }
    }

    It 'is pinned in CommandSurface.psd1' {
        $Pinned | Should -Not -BeNullOrEmpty -Because "a new cmdlet must be pinned; add to tests/pester/CommandSurface.psd1:`n$Current"
    }

    It 'has the pinned parameter sets and parameters' {
        if (-not $Pinned) { Set-ItResult -Skipped -Because 'not pinned (see the test above)' }
        $because = "the surface changed; if that is deliberate, pin it in tests/pester/CommandSurface.psd1:`n$Current"
        $default = if ($Command.DefaultParameterSet) { $Command.DefaultParameterSet } else { '__AllParameterSets' }
        $default | Should -Be $Pinned.DefaultParameterSet -Because $because
        @($Command.ParameterSets.Name | Sort-Object) | Should -Be @($Pinned.ParameterSets.Keys | Sort-Object) -Because $because
        foreach ($set in $Command.ParameterSets) {
            @(Get-SqbParameterSignature $set) | Should -Be @($Pinned.ParameterSets[$set.Name]) -Because $because
        }
    }

    It 'has -WhatIf test arguments when it supports ShouldProcess' {
        if (-not $Attribute.SupportsShouldProcess) { return }
        @($Pinned.WhatIf | Where-Object { $_ -is [hashtable] }).Count | Should -BeGreaterThan 0 -Because 'add WhatIf argument sets to its CommandSurface.psd1 entry'
    }
}

Describe 'CommandSurface.psd1' {
    It 'pins only exported cmdlets (a removed cmdlet is removed from the file too)' {
        $exported = @(Get-Command -Module SQLBuild -CommandType Cmdlet | ForEach-Object Name)
        @($Surface.Keys | Where-Object { $_ -notin $exported }) | Should -BeNullOrEmpty
    }
}

Describe '-WhatIf changes nothing' {
    BeforeAll {
        # One fixture for every case (they change nothing, which is the point), in this block's TestDrive.
        $script:Fixture = New-SqbTestTemplateProject -AllowReset -WithHistory -WithBackup -WithOrphanedLock
    }

    Context '<Name> <Shown>' -ForEach $WhatIfCases {
        It 'leaves the warehouse, the state store and the project folder as they were' {
            $newFolder = Join-Path ([IO.Path]::GetTempPath()) ('sqb_whatif_' + [Guid]::NewGuid().ToString('N').Substring(0, 8))
            $values = @{
                '{NewFolder}'  = $newFolder
                '{LockKey}'    = $Fixture.LockKey
                '{Checkpoint}' = $Fixture.Checkpoints[-1]
                '{BackupId}'   = $Fixture.BackupId
            }
            $splat = @{}
            foreach ($entry in $Arguments.GetEnumerator()) {
                $splat[$entry.Key] = if ($entry.Value -is [string] -and $values.ContainsKey($entry.Value)) { $values[$entry.Value] } else { $entry.Value }
            }
            if (-not $splat.ContainsKey('Path')) { $splat['Path'] = $Fixture.Path }

            $filesBefore = @(Get-ChildItem -LiteralPath $Fixture.Path -Recurse -Force | ForEach-Object FullName | Sort-Object)
            $before = Get-SqbDuckDbSnapshot -Database $Fixture.Database
            # -ErrorAction Stop: the cmdlet must get as far as asking ("What if:" goes to the host, not a stream).
            $output = @(& $Name @splat -WhatIf -ErrorAction Stop)
            $after = Get-SqbDuckDbSnapshot -Database $Fixture.Database
            $filesAfter = @(Get-ChildItem -LiteralPath $Fixture.Path -Recurse -Force | ForEach-Object FullName | Sort-Object)

            $output | Should -BeNullOrEmpty -Because '-WhatIf emits no result objects'
            $after | Should -Be $before
            $filesAfter | Should -Be $filesBefore
            $newFolder | Should -Not -Exist
        }
    }
}
