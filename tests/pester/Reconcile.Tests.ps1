#Requires -Version 7.4
# Reconcile and repair (SPEC §7) on DuckDB and PostgreSQL: the "Warehouse drift" rows of the recovery
# page, each damage caused for real and then recovered with the documented cmdlets; pipeline binding,
# non-terminating errors, -WhatIf, the VDE lock and the typed confirmation of Set-SqbModelRef.

BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:Pg = Get-SqbTestPostgres
    $script:Engines = @(
        @{ Engine = 'duckdb'; Skip = $false }
        @{ Engine = 'postgres'; Skip = -not $Pg.Available }
    )
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-SqbTestModule

    function script:New-VdeProject {
        <# The virtual shop template on the engine, unique schemas (target and state), state initialized, dev built. #>
        param([Parameter(Mandatory)] [string] $Engine, [switch] $NoBuild)
        $path = Join-Path ([IO.Path]::GetTempPath()) ('sqb-rec-' + [Guid]::NewGuid().ToString('N').Substring(0, 10))
        $null = New-SqbProject -Path $path -Template virtual -Confirm:$false
        $suffix = [Guid]::NewGuid().ToString('N').Substring(0, 8)
        $schema = if ($Engine -eq 'postgres') { "t_$suffix" } else { 'dev' }
        $state = if ($Engine -eq 'postgres') { "st_$suffix" } else { 'sqlbuild_state' }
        $connection = if ($Engine -eq 'postgres') {
            "host = `"`${ENV:SQB_TEST_PG_HOST}`"`nport = $($env:SQB_TEST_PG_PORT)`nuser = `"`${ENV:SQB_TEST_PG_USER}`"`n" +
            "password = `"`${ENV:SQB_TEST_PG_PASSWORD}`"`ndbname = `"`${ENV:SQB_TEST_PG_DATABASE}`""
        }
        else { 'database = "shop.duckdb"' }
        $toml = @"
name = "shop"
adapter = "$Engine"
default_target = "dev"

[settings]
virtual_environments = true
concurrency = 2

[connections.local]
$connection

[targets.dev]
connection = "local"
schema = "$schema"

[targets.dev.state]
backend = "$Engine"
schema = "$state"
unsuffixed_virtual_env = "dev"
"@
        [IO.File]::WriteAllText((Join-Path $path 'sqlbuild_project.toml'), $toml)
        $null = Initialize-SqbState -Path $path -Confirm:$false
        if (-not $NoBuild) {
            $build = Invoke-SqbBuild -Path $path -Confirm:$false
            $build.Status | Should -Be 'succeeded'
        }
        [pscustomobject]@{ Path = $path; Engine = $Engine; Schema = $schema; State = $state; Physical = "${schema}__sqb_physical" }
    }

    function script:Open-TestSession([string] $Path) {
        $project = (Get-SqbType 'SQLBuild.Core.Project.ProjectCompiler')::Compile($Path, [NullString]::Value, $null)
        $log = (Get-SqbType 'SQLBuild.Core.Logging.NullLog')::Instance
        (Get-SqbType 'SQLBuild.Core.Adapters.WarehouseFactory')::Create($project.Config.ActiveTarget.Connection, $log).OpenSession()
    }

    function script:New-Statement([string] $Sql) { (Get-SqbType 'SQLBuild.Core.Adapters.SqlStatement')::new('TEST', 'damage', $Sql, $null) }

    function script:Invoke-TestSql {
        <# Damage or check the warehouse for real, through the module's own driver. Returns the rows of a query. #>
        param([Parameter(Mandatory)] $Project, [Parameter(Mandatory)] [string] $Sql, [switch] $Query)
        $s = Open-TestSession $Project.Path
        try {
            # One pipeline object per row (a row is an object[]: keep it whole); callers wrap the call in @().
            if ($Query) { foreach ($row in $s.Query((New-Statement $Sql))) { , $row } } else { $null = $s.Execute((New-Statement $Sql)) }
        }
        finally { $s.Dispose() }
    }

    function script:Get-TestCount($Project, [string] $Relation) {
        [long](@(Invoke-TestSql $Project "SELECT COUNT(*) FROM $Relation" -Query)[0][0])
    }

    function script:Get-TestRefs($Project) {
        @(Invoke-TestSql $Project "SELECT node_type, node_name, version_hash FROM $($Project.State).virtual_environment_node_refs WHERE virtual_environment_name = 'dev' ORDER BY node_type, node_name" -Query |
                ForEach-Object { '{0}:{1}={2}' -f $_[0], $_[1], $_[2] })
    }

    function script:Get-PhysicalOf($Project, [string] $Node, [string] $Environment = 'dev') {
        $hash = @(Invoke-TestSql $Project "SELECT version_hash FROM $($Project.State).virtual_environment_node_refs WHERE virtual_environment_name = '$Environment' AND node_name = '$Node'" -Query)[0][0]
        '{0}.{1}__v_{2}' -f $Project.Physical, $Node, $hash.Substring(0, 8)
    }

    function script:Remove-VdeProject($Project) {
        if (-not $Project) { return }
        if ($Project.Engine -eq 'postgres') {
            try {
                $s = Open-TestSession $Project.Path
                try {
                    $schemas = [System.Collections.Generic.List[string]]@($Project.Schema, "$($Project.Schema)__pr_1", $Project.Physical, $Project.State)
                    for ($round = 0; $round -lt 5; $round++) {
                        $views = @($s.ReadCatalog($schemas, $false).Relations | Where-Object { "$($_.Kind)" -eq 'View' })
                        if (-not $views) { break }
                        foreach ($v in $views) { try { $null = $s.Execute($s.Dialect.DropViewIfExists($v.Relation)) } catch { } }
                    }
                    foreach ($t in @($s.ReadCatalog($schemas, $false).Relations)) { try { $null = $s.Execute($s.Dialect.DropTableIfExists($t.Relation)) } catch { } }
                    foreach ($n in $schemas) { try { $null = $s.Execute($s.Dialect.DropSchemaIfExists($n)) } catch { } }
                }
                finally { $s.Dispose() }
            }
            catch { }
        }
        Remove-Item -LiteralPath $Project.Path -Recurse -Force -ErrorAction SilentlyContinue
    }

    # A host that "types" a scripted answer when asked to read a line, and keeps what it was shown:
    # the interactive path of a typed confirmation, without a terminal.
    Add-Type -TypeDefinition @'
using System;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Security;
using System.Text;

public sealed class SqbScriptedHost : PSHost
{
    private readonly SqbScriptedUI _ui;
    public SqbScriptedHost(string answer) { _ui = new SqbScriptedUI(answer); }
    public string Shown => _ui.Shown.ToString();
    public int Reads => _ui.Reads;
    public override string Name => "SqbScriptedHost";
    public override Version Version => new Version(1, 0);
    public override Guid InstanceId { get; } = Guid.NewGuid();
    public override PSHostUserInterface UI => _ui;
    public override CultureInfo CurrentCulture => CultureInfo.InvariantCulture;
    public override CultureInfo CurrentUICulture => CultureInfo.InvariantCulture;
    public override void SetShouldExit(int exitCode) { }
    public override void EnterNestedPrompt() => throw new NotSupportedException();
    public override void ExitNestedPrompt() => throw new NotSupportedException();
    public override void NotifyBeginApplication() { }
    public override void NotifyEndApplication() { }
}

public sealed class SqbScriptedUI : PSHostUserInterface
{
    private readonly string _answer;
    public SqbScriptedUI(string answer) { _answer = answer; }
    public readonly StringBuilder Shown = new StringBuilder();
    public int Reads;
    public override PSHostRawUserInterface RawUI => null;
    public override string ReadLine() { Reads++; return _answer; }
    public override SecureString ReadLineAsSecureString() => throw new NotSupportedException();
    public override void Write(string value) => Shown.Append(value);
    public override void Write(ConsoleColor foregroundColor, ConsoleColor backgroundColor, string value) => Shown.Append(value);
    public override void WriteLine(string value) => Shown.AppendLine(value);
    public override void WriteErrorLine(string value) => Shown.AppendLine(value);
    public override void WriteDebugLine(string message) { }
    public override void WriteProgress(long sourceId, ProgressRecord record) { }
    public override void WriteVerboseLine(string message) { }
    public override void WriteWarningLine(string message) { }
    public override Dictionary<string, PSObject> Prompt(string caption, string message, Collection<FieldDescription> descriptions) => throw new NotSupportedException();
    public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName) => throw new NotSupportedException();
    public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName,
        PSCredentialTypes allowedCredentialTypes, PSCredentialUIOptions options) => throw new NotSupportedException();
    public override int PromptForChoice(string caption, string message, Collection<ChoiceDescription> choices, int defaultChoice) => throw new NotSupportedException();
}
'@

    function script:Invoke-WithAnswer($Project, [string] $Model, [string] $Relation, [string] $Answer) {
        <# Set-SqbModelRef without -Confirmation in a runspace whose host answers $Answer; returns what the host showed and the outcome. #>
        $h = [SqbScriptedHost]::new($Answer)
        $rs = [runspacefactory]::CreateRunspace($h)
        $rs.Open()
        $ps = [powershell]::Create()
        try {
            $ps.Runspace = $rs
            $null = $ps.AddCommand('Import-Module').AddParameter('Name', (Get-SqbModuleManifestPath)).AddStatement().
                AddCommand('Set-SqbModelRef').AddParameter('Path', $Project.Path).AddParameter('Model', $Model).AddParameter('PhysicalRelation', $Relation)
            $result = try { @($ps.Invoke()) | ForEach-Object Result }
            catch { ($_.Exception.InnerException ?? $_.Exception).ErrorRecord.FullyQualifiedErrorId }
            if ($ps.Streams.Error.Count -gt 0) { $result = $ps.Streams.Error[0].FullyQualifiedErrorId }
            [pscustomobject]@{ Shown = $h.Shown; Reads = $h.Reads; Result = $result }
        }
        finally { $ps.Dispose(); $rs.Dispose() }
    }

    function script:Build-SecondVersion($Project) {
        <# A changed stg_customers (6 of 8 rows) built into pr_1: two tracked versions of it. Returns pr_1's relation. #>
        $file = Join-Path $Project.Path 'models/staging/stg_customers.sql'
        $sql = (Get-Content -LiteralPath $file -Raw) -replace 'FROM __seed\("raw_customers"\)', "FROM __seed(`"raw_customers`")`nWHERE id <= 6"
        [IO.File]::WriteAllText($file, $sql)
        (Invoke-SqbBuild -Path $Project.Path -Environment pr_1 -Confirm:$false).Status | Should -Be 'succeeded'
        Get-PhysicalOf $Project 'stg_customers' 'pr_1'
    }
}

Describe 'Warehouse drift on <Engine> (recovery page)' -ForEach $Engines {
    BeforeEach { $script:P = if (-not $Skip) { New-VdeProject $Engine } }
    AfterEach { Remove-VdeProject $P }

    It 'Missing logical VDE view: Get-SqbReconcile reports it, Get-SqbReconcile | Repair-SqbView repairs it' -Skip:$Skip {
        $rows = Get-TestCount $P "$($P.Schema).fct_orders"
        Invoke-TestSql $P "DROP VIEW $($P.Schema).fct_orders"

        $finding = @(Get-SqbReconcile -Path $P.Path)
        $finding.Count | Should -Be 1
        $finding[0].PSTypeNames | Should -Contain 'SQLBuild.SqbReconcileFinding'
        "$($finding[0].Kind)" | Should -Be 'MissingView'
        $finding[0].Message | Should -Be 'missing logical target: fct_orders'
        $finding[0].Recovery | Should -Be 'Repair-SqbView -Environment dev -Name fct_orders'

        $result = @(Get-SqbReconcile -Path $P.Path | Repair-SqbView -Path $P.Path -ErrorVariable errs)
        $errs | Should -BeNullOrEmpty
        $result.Count | Should -Be 1
        $result[0].PSTypeNames | Should -Contain 'SQLBuild.SqbRepairResult'
        $result[0].Result | Should -Be 'repaired'
        $result[0].Message | Should -Be 'repaired view for fct_orders'
        @(Get-SqbReconcile -Path $P.Path) | Should -BeNullOrEmpty
        Get-TestCount $P "$($P.Schema).fct_orders" | Should -Be $rows
    }

    It 'Missing physical relation: Get-SqbReconcile reports it, Repair-SqbView blocks, Invoke-SqbBuild -Select rebuilds it' -Skip:$Skip {
        $physical = Get-PhysicalOf $P 'fct_orders'
        $rows = Get-TestCount $P "$($P.Schema).fct_orders"
        # PostgreSQL binds the view to the table; it goes first (the damage is a lost table, never a CASCADE).
        if ($Engine -eq 'postgres') { Invoke-TestSql $P "DROP VIEW $($P.Schema).fct_orders" }
        Invoke-TestSql $P "DROP TABLE $physical"

        $finding = @(Get-SqbReconcile -Path $P.Path)
        $finding.Count | Should -Be 1
        "$($finding[0].Kind)" | Should -Be 'MissingPhysical'
        $finding[0].Message | Should -Be 'missing physical relation: fct_orders'
        $finding[0].Expected | Should -Be $physical
        $finding[0].Recovery | Should -Be 'Invoke-SqbBuild -Environment dev -Select fct_orders'

        $result = @(Repair-SqbView -Path $P.Path -Name fct_orders -ErrorVariable errs -ErrorAction SilentlyContinue)
        $result.Count | Should -Be 1
        $result[0].Result | Should -Be 'blocked'
        $errs.Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'C252.MissingPhysical,*'
        $errs[0].Exception.Message | Should -Be "missing physical relation for 'fct_orders'"
        $errs[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $errs[0].ErrorDetails.RecommendedAction | Should -Be 'Invoke-SqbBuild -Environment dev -Select fct_orders'

        # The same refusal through the pipeline names the finding.
        $null = Get-SqbReconcile -Path $P.Path | Repair-SqbView -Path $P.Path -ErrorVariable piped -ErrorAction SilentlyContinue
        $piped.Count | Should -Be 1
        $piped[0].FullyQualifiedErrorId | Should -BeLike 'C252.MissingPhysical,*'
        $piped[0].TargetObject.PSTypeNames | Should -Contain 'SQLBuild.SqbReconcileFinding'

        $build = Invoke-SqbBuild -Path $P.Path -Select fct_orders -Confirm:$false
        $build.Status | Should -Be 'succeeded'
        ($build.Nodes | Where-Object Name -EQ 'fct_orders').Relation | Should -Be $physical
        @(Get-SqbReconcile -Path $P.Path) | Should -BeNullOrEmpty
        Get-TestCount $P "$($P.Schema).fct_orders" | Should -Be $rows
    }

    It 'Logical target is a table: Repair-SqbView and Set-SqbModelRef block; after dropping the table by hand Repair-SqbView works' -Skip:$Skip {
        $physical = Get-PhysicalOf $P 'fct_orders'
        $rows = Get-TestCount $P "$($P.Schema).fct_orders"
        Invoke-TestSql $P "DROP VIEW $($P.Schema).fct_orders"
        Invoke-TestSql $P "CREATE TABLE $($P.Schema).fct_orders AS SELECT * FROM $physical WHERE order_id < 105"
        $refs = Get-TestRefs $P

        $finding = @(Get-SqbReconcile -Path $P.Path)
        "$($finding.Kind)" | Should -Be 'LogicalIsTable'
        $finding[0].Message | Should -Be 'logical target is table: fct_orders'

        $null = Get-SqbReconcile -Path $P.Path | Repair-SqbView -Path $P.Path -ErrorVariable errs -ErrorAction SilentlyContinue
        $errs.Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'C250.LogicalIsTable,*'
        $errs[0].Exception.Message | Should -Be "logical target for 'fct_orders' is a table; repair-view will not overwrite it"
        $errs[0].ErrorDetails.RecommendedAction | Should -Be $finding[0].Recovery

        { Set-SqbModelRef -Path $P.Path -Model fct_orders -PhysicalRelation $physical -Confirmation 'attach fct_orders' -ErrorAction Stop } |
            Should -Throw -ErrorId 'C250.LogicalIsTable*'
        Get-TestCount $P "$($P.Schema).fct_orders" | Should -Be 4
        Get-TestRefs $P | Should -Be $refs

        Invoke-TestSql $P "DROP TABLE $($P.Schema).fct_orders"
        (Repair-SqbView -Path $P.Path -Name fct_orders).Result | Should -Be 'repaired'
        Get-TestCount $P "$($P.Schema).fct_orders" | Should -Be $rows
        # Only the refused attach remains, until it is retried.
        $left = @(Get-SqbReconcile -Path $P.Path)
        "$($left.Kind)" | Should -Be 'FailedOperation'
        $left[0].Recovery | Should -Be "Set-SqbModelRef -Environment dev -Model fct_orders -PhysicalRelation $physical"
    }
}

Describe 'Repair-SqbView on <Engine>' -ForEach $Engines {
    BeforeEach { $script:P = if (-not $Skip) { New-VdeProject $Engine } }
    AfterEach { Remove-VdeProject $P }

    It 'repairs what it can and passes every other finding through as a non-terminating error' -Skip:$Skip {
        $dim = Get-PhysicalOf $P 'dim_customers'
        $stg = Get-PhysicalOf $P 'stg_customers'
        Invoke-TestSql $P "DROP VIEW $($P.Schema).fct_orders"                                        # MissingView
        Invoke-TestSql $P "DROP VIEW $($P.Schema).stg_orders"                                        # MissingView
        Invoke-TestSql $P "DROP VIEW $($P.Schema).dim_customers"
        Invoke-TestSql $P "DROP TABLE $dim"                                                          # MissingPhysical
        Invoke-TestSql $P "DROP VIEW $($P.Schema).stg_customers"
        Invoke-TestSql $P "CREATE TABLE $($P.Schema).stg_customers AS SELECT * FROM $stg"           # LogicalIsTable
        Invoke-TestSql $P "CREATE VIEW $($P.Schema).old_orders AS SELECT * FROM $(Get-PhysicalOf $P 'fct_orders')" # UnexpectedView
        try { Publish-SqbEnvironment -Path $P.Path -From pr_9 -To dev -Confirm:$false } catch { $_.FullyQualifiedErrorId | Should -BeLike 'S011.*' } # FailedOperation

        $findings = @(Get-SqbReconcile -Path $P.Path)
        @($findings | ForEach-Object { "$($_.Kind):$($_.Name)" } | Where-Object { $_ -notlike 'FailedOperation:*' }) |
            Should -Be @('MissingPhysical:dim_customers', 'MissingView:fct_orders', 'LogicalIsTable:stg_customers', 'MissingView:stg_orders', 'UnexpectedView:old_orders')
        @($findings | Where-Object { "$($_.Kind)" -eq 'FailedOperation' }).Count | Should -Be 1

        $results = @($findings | Repair-SqbView -Path $P.Path -ErrorVariable errs -ErrorAction SilentlyContinue)
        @($results | ForEach-Object { "$($_.Name)=$($_.Result)" }) | Should -Be @('fct_orders=repaired', 'stg_orders=repaired')
        ($results.OperationId | Select-Object -Unique).Count | Should -Be 1
        @($errs | ForEach-Object { $_.FullyQualifiedErrorId.Split(',')[0] }) |
            Should -Be @('C252.MissingPhysical', 'C250.LogicalIsTable', 'R002.UnexpectedView', 'R003.FailedOperation')
        foreach ($e in $errs) {
            $e.TargetObject.PSTypeNames | Should -Contain 'SQLBuild.SqbReconcileFinding'
            $e.ErrorDetails.RecommendedAction | Should -Be $e.TargetObject.Recovery
        }
        ($errs | Where-Object { $_.TargetObject.Kind -eq 'FailedOperation' }).ErrorDetails.RecommendedAction |
            Should -Be 'Publish-SqbEnvironment -From pr_9 -To dev'

        Get-TestCount $P "$($P.Schema).fct_orders" | Should -Be 12
        Get-TestCount $P "$($P.Schema).stg_orders" | Should -Be 12
        @(Get-SqbReconcile -Path $P.Path | ForEach-Object { "$($_.Kind)" } | Where-Object { $_ -in 'MissingView', 'WrongViewTarget' }) |
            Should -BeNullOrEmpty
        # Unhandled findings are never "fixed" behind the user's back.
        Get-TestCount $P "$($P.Schema).stg_customers" | Should -Be 8
        @(Invoke-TestSql $P "SELECT COUNT(*) FROM $($P.Schema).old_orders" -Query)[0][0] | Should -Be 12
    }

    It '-WhatIf lists each view and changes nothing' -Skip:$Skip {
        Invoke-TestSql $P "DROP VIEW $($P.Schema).fct_orders"
        Invoke-TestSql $P "DROP VIEW $($P.Schema).dim_customers"
        $transcript = Join-Path $P.Path 'whatif.txt'
        $null = Start-Transcript -LiteralPath $transcript
        try { $out = @(Get-SqbReconcile -Path $P.Path | Repair-SqbView -Path $P.Path -WhatIf) }
        finally { $null = Stop-Transcript }
        $out | Should -BeNullOrEmpty
        $text = Get-Content -LiteralPath $transcript -Raw
        $text | Should -Match ([regex]::Escape("view $($P.Schema).fct_orders of virtual environment 'dev'"))
        $text | Should -Match ([regex]::Escape("view $($P.Schema).dim_customers of virtual environment 'dev'"))
        @(Get-SqbReconcile -Path $P.Path | ForEach-Object { "$($_.Kind)" }) | Should -Be @('MissingView', 'MissingView')
        @(Get-SqbOperation -Path $P.Path -Type repair) | Should -BeNullOrEmpty
    }

    It 'fails with S014 at once while the environment is locked' -Skip:$Skip {
        Invoke-TestSql $P "DROP VIEW $($P.Schema).fct_orders"
        $log = (Get-SqbType 'SQLBuild.Core.Logging.NullLog')::Instance
        $project = (Get-SqbType 'SQLBuild.Core.Project.ProjectCompiler')::Compile($P.Path, [NullString]::Value, $null)
        $store = (Get-SqbType 'SQLBuild.Core.State.StateStore')::Open($project, $log, 'test')
        $lease = (Get-SqbType 'SQLBuild.Core.State.LockManager')::new($store, $log).Acquire('virtual_env:dev', 'test:holder', 'S014')
        try {
            { Get-SqbReconcile -Path $P.Path | Repair-SqbView -Path $P.Path -ErrorAction Stop } | Should -Throw -ErrorId 'S014.EnvironmentLocked*'
            # The report takes no lock.
            @(Get-SqbReconcile -Path $P.Path).Count | Should -Be 1
        }
        finally { $lease.Dispose() }
        (Get-SqbReconcile -Path $P.Path | Repair-SqbView -Path $P.Path).Result | Should -Be 'repaired'
    }

    It 'does nothing, silently, when the environment is healthy' -Skip:$Skip {
        @(Get-SqbReconcile -Path $P.Path | Repair-SqbView -Path $P.Path -ErrorVariable errs) | Should -BeNullOrEmpty
        $errs | Should -BeNullOrEmpty
        (Repair-SqbView -Path $P.Path -Name fct_orders, raw_orders | ForEach-Object Result) | Should -Be @('unchanged', 'unchanged')
    }
}

Describe 'Set-SqbModelRef on <Engine>' -ForEach $Engines {
    BeforeEach { $script:P = if (-not $Skip) { New-VdeProject $Engine } }
    AfterEach { Remove-VdeProject $P }

    It 'rebinds one ref after the typed confirmation, and a wrong confirmation or -WhatIf changes nothing' -Skip:$Skip {
        $pr = Build-SecondVersion $P
        $refs = Get-TestRefs $P

        { Set-SqbModelRef -Path $P.Path -Model stg_customers -PhysicalRelation $pr -Confirmation 'attach stg_orders' -ErrorAction Stop } |
            Should -Throw -ErrorId 'C262.AttachCancelled*'
        try { Set-SqbModelRef -Path $P.Path -Model stg_customers -PhysicalRelation $pr -Confirmation 'yes' -ErrorAction Stop } catch { $cancel = $_ }
        $cancel.Exception.Message | Should -Be 'reconcile attach cancelled'
        $null = Set-SqbModelRef -Path $P.Path -Model stg_customers -PhysicalRelation $pr -WhatIf
        Get-TestRefs $P | Should -Be $refs
        Get-TestCount $P "$($P.Schema).stg_customers" | Should -Be 8

        { Set-SqbModelRef -Path $P.Path -Model stg_customers -PhysicalRelation "$($P.Physical).stg_orders__v_00000000" -Confirmation 'attach stg_customers' -ErrorAction Stop } |
            Should -Throw -ErrorId 'C253.UntrackedRelation*'

        $result = Set-SqbModelRef -Path $P.Path -Model stg_customers -PhysicalRelation $pr -Confirmation 'attach stg_customers'
        $result.PSTypeNames | Should -Contain 'SQLBuild.SqbRepairResult'
        $result.Result | Should -Be 'attached'
        $result.Message | Should -Be "attached stg_customers to $pr"
        Get-TestCount $P "$($P.Schema).stg_customers" | Should -Be 6
        $changed = @(Compare-Object (Get-TestRefs $P) $refs | Where-Object SideIndicator -EQ '<=' | ForEach-Object InputObject)
        $changed.Count | Should -Be 1
        $changed[0] | Should -BeLike 'model:stg_customers=*'
        @(Get-SqbReconcile -Path $P.Path) | Should -BeNullOrEmpty
    }

    It 'asks an interactive host for the typed confirmation: a wrong answer cancels, the right one attaches' -Skip:$Skip {
        $pr = Build-SecondVersion $P
        $refs = Get-TestRefs $P
        $wrong = Invoke-WithAnswer $P 'stg_customers' $pr 'attach stg_orders'
        $wrong.Shown | Should -Be "Type 'attach stg_customers' to confirm: "
        $wrong.Reads | Should -Be 1
        $wrong.Result | Should -BeLike 'C262.AttachCancelled*'
        Get-TestRefs $P | Should -Be $refs
        (Invoke-WithAnswer $P 'stg_customers' $pr 'attach stg_customers').Result | Should -Be 'attached'
        Get-TestCount $P "$($P.Schema).stg_customers" | Should -Be 6
    }

    It 'an attach killed before its commit changes nothing, is reported interrupted, and a plain retry works' -Skip:$Skip {
        $pr = Build-SecondVersion $P
        $refs = Get-TestRefs $P
        $env:SQB_TEST_KILL_AT = 'attach:before-commit'
        try {
            { Invoke-SqbChildPwsh -ArgumentList (Get-SqbModuleManifestPath), $P.Path, $pr -ScriptBlock {
                    param($Manifest, $Path, $Relation)
                    Import-Module $Manifest
                    Set-SqbModelRef -Path $Path -Model stg_customers -PhysicalRelation $Relation -Confirmation 'attach stg_customers'
                } } | Should -Throw '*child pwsh exited*'
        }
        finally { Remove-Item Env:SQB_TEST_KILL_AT }

        Get-TestRefs $P | Should -Be $refs
        Get-TestCount $P "$($P.Schema).stg_customers" | Should -Be 8
        $finding = @(Get-SqbReconcile -Path $P.Path)
        $finding.Count | Should -Be 1
        "$($finding[0].Kind)" | Should -Be 'FailedOperation'
        $finding[0].Message | Should -BeLike 'interrupted operation: attach:*'
        $finding[0].Recovery | Should -Be "Set-SqbModelRef -Environment dev -Model stg_customers -PhysicalRelation $pr"
        (Get-SqbOperation -Path $P.Path -Id $finding[0].Name).Reason | Should -Be 'interrupted'

        # The dead holder's lock is taken over; the retry is the recovery.
        (Set-SqbModelRef -Path $P.Path -Model stg_customers -PhysicalRelation $pr -Confirmation 'attach stg_customers').Result | Should -Be 'attached'
        Get-TestCount $P "$($P.Schema).stg_customers" | Should -Be 6
        @(Get-SqbReconcile -Path $P.Path) | Should -BeNullOrEmpty
    }

    It 'fails instead of waiting when the session cannot prompt and no -Confirmation is given' -Skip:$Skip {
        $out = Invoke-SqbChildPwsh -ArgumentList (Get-SqbModuleManifestPath), $P.Path -ScriptBlock {
            param($Manifest, $Path)
            Import-Module $Manifest
            try { Set-SqbModelRef -Path $Path -Model stg_customers -PhysicalRelation x -ErrorAction Stop; 'no error' }
            catch { [pscustomobject]@{ Id = $_.FullyQualifiedErrorId; Message = $_.Exception.Message } }
        }
        $out.Id | Should -BeLike 'R010.ConfirmationRequired*'
        $out.Message | Should -BeLike "*'attach stg_customers'*"
    }
}

Describe 'Reconcile guards and binding' {
    It 'blocks Get-SqbReconcile, Repair-SqbView and Set-SqbModelRef in direct mode with C254' {
        $path = Join-Path ([IO.Path]::GetTempPath()) ('sqb-rec-' + [Guid]::NewGuid().ToString('N').Substring(0, 10))
        try {
            $null = New-SqbProject -Path $path -Template direct -Confirm:$false
            foreach ($command in { Get-SqbReconcile -Path $path -ErrorAction Stop },
                { Repair-SqbView -Path $path -Name fct_orders -ErrorAction Stop },
                { Set-SqbModelRef -Path $path -Model fct_orders -PhysicalRelation x -Confirmation 'attach fct_orders' -ErrorAction Stop }) {
                try { & $command; throw 'expected C254' }
                catch {
                    $_.FullyQualifiedErrorId | Should -BeLike 'C254.ReconcileRequiresVirtualMode*'
                    $_.Exception.Message | Should -Be 'reconcile requires virtual_environments = true'
                    $_.CategoryInfo.Category | Should -Be 'InvalidOperation'
                }
            }
            Join-Path $path 'shop.duckdb' | Should -Not -Exist
        }
        finally { Remove-Item -LiteralPath $path -Recurse -Force -ErrorAction SilentlyContinue }
    }

    It 'declares its output types, ShouldProcess and ConfirmImpact' {
        (Get-Command Get-SqbReconcile).OutputType.Name | Should -Be 'SQLBuild.SqbReconcileFinding'
        (Get-Command Repair-SqbView).OutputType.Name | Should -Be 'SQLBuild.SqbRepairResult'
        (Get-Command Set-SqbModelRef).OutputType.Name | Should -Be 'SQLBuild.SqbRepairResult'
        foreach ($c in @{ Name = 'Repair-SqbView'; Impact = 'Low' }, @{ Name = 'Set-SqbModelRef'; Impact = 'High' }) {
            $type = (Get-Command $c.Name).ImplementingType
            $attr = $type.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false)[0]
            $attr.SupportsShouldProcess | Should -BeTrue
            "$($attr.ConfirmImpact)" | Should -Be $c.Impact
        }
        $p = (Get-Command Repair-SqbView).Parameters
        foreach ($name in 'Environment', 'Name', 'NodeType') { $p[$name].ParameterSets.Values.ValueFromPipelineByPropertyName | Should -Contain $true }
        $p['Name'].Aliases | Should -Contain 'Model'
        (Get-Command Get-SqbReconcile).Parameters['Environment'].Aliases | Should -Contain 'VirtualEnv'
    }

    It 'takes environments from Get-SqbEnvironment by property name' {
        $p = New-VdeProject duckdb
        try {
            $null = Invoke-SqbBuild -Path $p.Path -Environment pr_1 -Confirm:$false
            Invoke-TestSql $p "CREATE VIEW dev__pr_1.scratch AS SELECT 1 AS x"
            $findings = @(Get-SqbEnvironment -Path $p.Path | Get-SqbReconcile -Path $p.Path)
            @($findings | ForEach-Object { "$($_.Environment):$($_.Kind):$($_.Name)" }) | Should -Be @('pr_1:UnexpectedView:scratch')
        }
        finally { Remove-VdeProject $p }
    }
}
