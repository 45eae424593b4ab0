#
# The pinned public surface of every SQLBuild cmdlet (tests/pester/Surface.Tests.ps1 checks it).
# A cmdlet that is exported but missing here fails, and so does any change to a parameter's name,
# type, mandatory flag, position, pipeline binding or aliases, or to the parameter sets: a rename
# is a deliberate act. When a change is intended, the failing test prints the entry as it is now;
# paste it here.
#
# Parameter lines: 'Name <Type> [mandatory] [position=N] [pipeline=ByPropertyName,ByValue] [aliases=a,b]',
# sorted by name; common parameters are left out, WhatIf and Confirm stay.
#
# WhatIf: argument sets for the generic "-WhatIf changes nothing" test, required for every cmdlet
# that supports ShouldProcess. They run with -Path <fixture> -WhatIf against a DuckDB virtual project
# (New-SqbTestTemplateProject -AllowReset -WithHistory -WithBackup -WithOrphanedLock: dev, pr_1
# promoted into dev, a state backup, an orphaned lock).
# Placeholders: '{NewFolder}' (a folder that does not exist), '{LockKey}' (the orphaned lock),
# '{Checkpoint}' (dev's oldest checkpoint), '{BackupId}' (the backup).
#
@{
    'Clear-SqbLock' = @{
        DefaultParameterSet = 'Key'
        ParameterSets       = @{
            'Key' = @(
                'Confirm <SwitchParameter> aliases=cf'
                'Credential <PSCredential>'
                'Force <SwitchParameter>'
                'Key <String> mandatory position=0 pipeline=ByPropertyName'
                'Path <String>'
                'Target <String>'
                'WhatIf <SwitchParameter> aliases=wi'
            )
            'Orphaned' = @(
                'Confirm <SwitchParameter> aliases=cf'
                'Credential <PSCredential>'
                'Orphaned <SwitchParameter> mandatory'
                'Path <String>'
                'Target <String>'
                'WhatIf <SwitchParameter> aliases=wi'
            )
        }
        WhatIf              = @(
            @{ Key = '{LockKey}' }
            @{ Orphaned = $true }
        )
    }
    'Compare-SqbCheckpoint' = @{
        DefaultParameterSet = '__AllParameterSets'
        ParameterSets       = @{
            '__AllParameterSets' = @(
                'CheckpointId <String> mandatory position=0 pipeline=ByPropertyName aliases=Id'
                'Credential <PSCredential>'
                'Path <String>'
                'Target <String>'
            )
        }
    }
    'Compare-SqbEnvironment' = @{
        DefaultParameterSet = '__AllParameterSets'
        ParameterSets       = @{
            '__AllParameterSets' = @(
                'Credential <PSCredential>'
                'Difference <String> mandatory position=1 pipeline=ByPropertyName aliases=Environment,Name'
                'Path <String>'
                'Reference <String> mandatory position=0'
                'Target <String>'
            )
        }
    }
    'ConvertFrom-SqbVirtualEnvironment' = @{
        DefaultParameterSet = '__AllParameterSets'
        ParameterSets       = @{
            '__AllParameterSets' = @(
                'AllowCopy <SwitchParameter>'
                'Confirm <SwitchParameter> aliases=cf'
                'Confirmation <String>'
                'Credential <PSCredential>'
                'Environment <String> position=0 pipeline=ByPropertyName aliases=Name,VirtualEnv'
                'Path <String>'
                'Target <String>'
                'WhatIf <SwitchParameter> aliases=wi'
            )
        }
        # DuckDB: dev's versions are shared with pr_1 (promoted), so they have to be copied.
        WhatIf              = @(
            @{ AllowCopy = $true }
            @{ Environment = 'dev'; AllowCopy = $true; Confirmation = 'detach dev' }
        )
    }
    'ConvertTo-SqbVirtualEnvironment' = @{
        DefaultParameterSet = '__AllParameterSets'
        ParameterSets       = @{
            '__AllParameterSets' = @(
                'AllowCopy <SwitchParameter>'
                'Confirm <SwitchParameter> aliases=cf'
                'Confirmation <String>'
                'Credential <PSCredential>'
                'Path <String>'
                'Target <String>'
                'WhatIf <SwitchParameter> aliases=wi'
            )
        }
        # dev is virtual and up to date: adopt has nothing to do (it refuses a VDE that is not, C280).
        WhatIf              = @(
            @{ AllowCopy = $true }
            @{ AllowCopy = $true; Confirmation = 'adopt dev' }
        )
    }
    'Get-SqbCheckpoint' = @{
        DefaultParameterSet = 'List'
        ParameterSets       = @{
            'Id' = @(
                'Credential <PSCredential>'
                'Id <String> mandatory pipeline=ByPropertyName aliases=CheckpointId'
                'IncludeRefs <SwitchParameter>'
                'Path <String>'
                'Target <String>'
            )
            'List' = @(
                'Credential <PSCredential>'
                'Environment <String> position=0 pipeline=ByPropertyName aliases=VirtualEnv'
                'IncludeRefs <SwitchParameter>'
                'Path <String>'
                'Target <String>'
            )
        }
    }
    'Get-SqbEnvironment' = @{
        DefaultParameterSet = '__AllParameterSets'
        ParameterSets       = @{
            '__AllParameterSets' = @(
                'Credential <PSCredential>'
                'Name <String[]> position=0 pipeline=ByPropertyName aliases=Environment,VirtualEnv'
                'Path <String>'
                'Target <String>'
            )
        }
    }
    'Get-SqbLock' = @{
        DefaultParameterSet = '__AllParameterSets'
        ParameterSets       = @{
            '__AllParameterSets' = @(
                'Credential <PSCredential>'
                'Key <String[]> position=0 pipeline=ByPropertyName'
                'Path <String>'
                'Target <String>'
            )
        }
    }
    'Get-SqbModel' = @{
        DefaultParameterSet = '__AllParameterSets'
        ParameterSets       = @{
            '__AllParameterSets' = @(
                'Credential <PSCredential>'
                'Exclude <String[]>'
                'Name <String[]> position=0 pipeline=ByPropertyName aliases=Model'
                'NodeType <String[]>'
                'Path <String>'
                'Select <String[]>'
                'Target <String>'
            )
        }
    }
    'Get-SqbOperation' = @{
        DefaultParameterSet = '__AllParameterSets'
        ParameterSets       = @{
            '__AllParameterSets' = @(
                'Credential <PSCredential>'
                'Environment <String> pipeline=ByPropertyName aliases=VirtualEnv'
                'First <Int32?>'
                'Id <String> position=0 pipeline=ByPropertyName aliases=OperationId'
                'Path <String>'
                'Since <DateTime?>'
                'Status <String[]>'
                'Target <String>'
                'Type <String>'
            )
        }
    }
    'Get-SqbPlan' = @{
        DefaultParameterSet = '__AllParameterSets'
        ParameterSets       = @{
            '__AllParameterSets' = @(
                'ChangesOnly <SwitchParameter>'
                'Credential <PSCredential>'
                'DeferTo <String>'
                'Environment <String> aliases=VirtualEnv'
                'Exclude <String[]>'
                'FullRefresh <SwitchParameter>'
                'IncludeStaleUpstreams <SwitchParameter>'
                'NoAudits <SwitchParameter>'
                'NoTests <SwitchParameter>'
                'Path <String>'
                'Select <String[]> position=0'
                'Target <String>'
            )
        }
    }
    'Initialize-SqbState' = @{
        DefaultParameterSet = '__AllParameterSets'
        ParameterSets       = @{
            '__AllParameterSets' = @(
                'Confirm <SwitchParameter> aliases=cf'
                'Credential <PSCredential>'
                'Path <String>'
                'Target <String>'
                'WhatIf <SwitchParameter> aliases=wi'
            )
        }
        WhatIf              = @(
            @{}
        )
    }
    'Invoke-SqbBuild' = @{
        DefaultParameterSet = '__AllParameterSets'
        ParameterSets       = @{
            '__AllParameterSets' = @(
                'ChangesOnly <SwitchParameter>'
                'Concurrency <Int32>'
                'Confirm <SwitchParameter> aliases=cf'
                'Credential <PSCredential>'
                'DeferTo <String>'
                'Environment <String> aliases=VirtualEnv'
                'Exclude <String[]>'
                'FullRefresh <SwitchParameter>'
                'IncludeStaleUpstreams <SwitchParameter>'
                'NoAudits <SwitchParameter>'
                'NoTests <SwitchParameter>'
                'Path <String>'
                'Select <String[]> position=0'
                'Target <String>'
                'WhatIf <SwitchParameter> aliases=wi'
            )
        }
        WhatIf              = @(
            @{ Environment = 'pr_whatif' }
        )
    }
    'Invoke-SqbJanitor' = @{
        DefaultParameterSet = '__AllParameterSets'
        ParameterSets       = @{
            '__AllParameterSets' = @(
                'Confirm <SwitchParameter> aliases=cf'
                'Credential <PSCredential>'
                'Force <SwitchParameter>'
                'HistoryDays <Int32?>'
                'MaxCheckpoints <Int32?>'
                'Path <String>'
                'RetentionDays <Int32?>'
                'Target <String>'
                'WhatIf <SwitchParameter> aliases=wi'
            )
        }
        WhatIf              = @(
            @{}
            @{ RetentionDays = 0; MaxCheckpoints = 1; Force = $true }
        )
    }
    'New-SqbProject' = @{
        DefaultParameterSet = '__AllParameterSets'
        ParameterSets       = @{
            '__AllParameterSets' = @(
                'Adapter <String>'
                'Confirm <SwitchParameter> aliases=cf'
                'Credential <PSCredential>'
                'Force <SwitchParameter>'
                'Name <String>'
                'Path <String>'
                'Target <String>'
                'Template <String>'
                'WhatIf <SwitchParameter> aliases=wi'
            )
        }
        WhatIf              = @(
            @{ Path = '{NewFolder}' }
        )
    }
    'Publish-SqbEnvironment' = @{
        DefaultParameterSet = '__AllParameterSets'
        ParameterSets       = @{
            '__AllParameterSets' = @(
                'AllowPartialPromotion <SwitchParameter>'
                'Confirm <SwitchParameter> aliases=cf'
                'Credential <PSCredential>'
                'Exclude <String[]>'
                'From <String> mandatory position=0 pipeline=ByPropertyName aliases=Environment,Name'
                'IncludeStaleUpstreams <SwitchParameter>'
                'Path <String>'
                'Select <String[]>'
                'Target <String>'
                'To <String> mandatory position=1'
                'WhatIf <SwitchParameter> aliases=wi'
            )
        }
        WhatIf              = @(
            @{ From = 'pr_1'; To = 'pr_whatif' }
        )
    }
    'Restore-SqbCheckpoint' = @{
        DefaultParameterSet = '__AllParameterSets'
        ParameterSets       = @{
            '__AllParameterSets' = @(
                'AllowPartialRollback <SwitchParameter>'
                'CheckpointId <String> position=0 pipeline=ByPropertyName'
                'Confirm <SwitchParameter> aliases=cf'
                'Credential <PSCredential>'
                'Environment <String> pipeline=ByPropertyName aliases=VirtualEnv'
                'Exclude <String[]>'
                'IncludeStaleUpstreams <SwitchParameter>'
                'Path <String>'
                'Select <String[]>'
                'Target <String>'
                'WhatIf <SwitchParameter> aliases=wi'
            )
        }
        WhatIf              = @(
            @{ Environment = 'dev' }
            @{ Environment = 'dev'; CheckpointId = '{Checkpoint}' }
        )
    }

    'Get-SqbReconcile' = @{
        DefaultParameterSet = '__AllParameterSets'
        ParameterSets       = @{
            '__AllParameterSets' = @(
                'Credential <PSCredential>'
                'Environment <String> position=0 pipeline=ByPropertyName aliases=VirtualEnv'
                'Model <String>'
                'Path <String>'
                'Target <String>'
            )
        }
    }
    'Repair-SqbView' = @{
        DefaultParameterSet = '__AllParameterSets'
        ParameterSets       = @{
            '__AllParameterSets' = @(
                'Confirm <SwitchParameter> aliases=cf'
                'Credential <PSCredential>'
                'Environment <String> pipeline=ByPropertyName aliases=VirtualEnv'
                'InputObject <SqbReconcileFinding> pipeline=ByValue'
                'Name <String[]> mandatory position=0 pipeline=ByPropertyName aliases=Model'
                'NodeType <String> pipeline=ByPropertyName'
                'Path <String>'
                'Target <String>'
                'WhatIf <SwitchParameter> aliases=wi'
            )
        }
        WhatIf              = @(
            @{ Name = 'fct_orders' }
            @{ Name = 'fct_orders', 'raw_orders'; Environment = 'pr_1' }
        )
    }
    'Set-SqbModelRef' = @{
        DefaultParameterSet = '__AllParameterSets'
        ParameterSets       = @{
            '__AllParameterSets' = @(
                'Confirm <SwitchParameter> aliases=cf'
                'Confirmation <String>'
                'Credential <PSCredential>'
                'Environment <String> pipeline=ByPropertyName aliases=VirtualEnv'
                'Model <String> mandatory position=0 pipeline=ByPropertyName aliases=Name'
                'Path <String>'
                'PhysicalRelation <String> mandatory position=1'
                'Target <String>'
                'WhatIf <SwitchParameter> aliases=wi'
            )
        }
        WhatIf              = @(
            @{ Model = 'fct_orders'; PhysicalRelation = 'fct_orders__v_00000000'; Confirmation = 'attach fct_orders' }
        )
    }

    'Get-SqbStateBackup' = @{
        DefaultParameterSet = '__AllParameterSets'
        ParameterSets       = @{
            '__AllParameterSets' = @(
                'BackupId <String[]> position=0 pipeline=ByPropertyName'
                'Credential <PSCredential>'
                'Path <String>'
                'Target <String>'
            )
        }
    }

    'Reset-SqbState' = @{
        DefaultParameterSet = '__AllParameterSets'
        ParameterSets       = @{
            '__AllParameterSets' = @(
                'Confirm <SwitchParameter> aliases=cf'
                'Credential <PSCredential>'
                'Force <SwitchParameter>'
                'Path <String>'
                'Target <String>'
                'WhatIf <SwitchParameter> aliases=wi'
            )
        }
        WhatIf              = @(
            @{ Force = $true }
            @{}
        )
    }

    'Restore-SqbState' = @{
        DefaultParameterSet = '__AllParameterSets'
        ParameterSets       = @{
            '__AllParameterSets' = @(
                'BackupId <String> position=0 pipeline=ByPropertyName'
                'Confirm <SwitchParameter> aliases=cf'
                'Credential <PSCredential>'
                'Force <SwitchParameter>'
                'Path <String>'
                'Target <String>'
                'WhatIf <SwitchParameter> aliases=wi'
            )
        }
        WhatIf              = @(
            @{ BackupId = '{BackupId}' }
            @{ Force = $true }
        )
    }

    'Update-SqbState' = @{
        DefaultParameterSet = '__AllParameterSets'
        ParameterSets       = @{
            '__AllParameterSets' = @(
                'Confirm <SwitchParameter> aliases=cf'
                'Credential <PSCredential>'
                'Path <String>'
                'Target <String>'
                'WhatIf <SwitchParameter> aliases=wi'
            )
        }
        WhatIf              = @(
            @{}
        )
    }

}
