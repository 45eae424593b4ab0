#Requires -Version 7.4
<#
.SYNOPSIS
    Turns docs/cmdlets/*.md (platyPS markdown) into MAML: en-US/SQLBuild.dll-Help.xml.

.DESCRIPTION
    platyPS is not installable on the build machines, so this is the small part of it the module
    needs. Every markdown file becomes one command:command with details (name, verb, noun, synopsis),
    description, syntax, parameters, inputTypes, returnValues, notes (alertSet), examples and
    relatedLinks.

    With -ModuleManifest (what build.ps1 does), the module is imported and the cmdlet metadata is the
    source of the syntax (one syntaxItem per parameter set) and of every parameter attribute
    (required, position, pipelineInput, globbing, aliases, type); the markdown supplies the text.
    A cmdlet of the module without a markdown file still gets an entry (with empty text, which the
    help tests report). Without -ModuleManifest, the syntax and attributes come from the markdown's
    yaml blocks.

    Run it in its own pwsh (build.ps1 does): importing the module here is the point.

.EXAMPLE
    pwsh -NoProfile -File build/Build-Help.ps1 -DocsPath docs/cmdlets -OutputPath out/SQLBuild/en-US/SQLBuild.dll-Help.xml -ModuleManifest out/SQLBuild/SQLBuild.psd1
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $DocsPath,
    # One or more files (a comma-separated list works from pwsh -File).
    [Parameter(Mandatory)] [string[]] $OutputPath,
    [string] $ModuleManifest
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

#region markdown ----------------------------------------------------------------------------------

# Splits text into paragraphs (blank-line separated). Lines of a list or an indented block keep their
# line breaks; other lines of a paragraph are joined with spaces, as platyPS does.
function Split-Paragraph([string] $Text) {
    $paragraphs = [System.Collections.Generic.List[string]]::new()
    foreach ($block in ($Text.Trim() -split '(?:\r?\n[ \t]*){2,}')) {
        $lines = @($block -split '\r?\n' | ForEach-Object TrimEnd)
        if (-not ($lines -join '').Trim()) { continue }
        $structured = @($lines | Where-Object { $_ -match '^\s*([-*+]|\d+\.)\s|^\s{2,}\S|^\|' }).Count -gt 0
        $paragraphs.Add($(if ($structured) { $lines -join "`n" } else { ($lines | ForEach-Object Trim) -join ' ' }))
    }
    $paragraphs.ToArray()
}

# Reads the "key: value" lines of a platyPS yaml block.
function ConvertFrom-HelpYaml([string] $Yaml) {
    $map = [ordered]@{}
    foreach ($line in $Yaml -split '\r?\n') {
        if ($line -match '^\s*([A-Za-z][A-Za-z ]*?)\s*:\s*(.*?)\s*$') { $map[$Matches[1]] = $Matches[2] }
    }
    $map
}

# Sections of a markdown body: heading text -> body, for headings of exactly $Level '#'s.
# Fenced code blocks are skipped while looking for headings.
function Split-Section([string] $Text, [int] $Level) {
    $sections = [System.Collections.Generic.List[object]]::new()
    $current = $null
    $body = [System.Text.StringBuilder]::new()
    $fence = $false
    $prefix = ('#' * $Level) + ' '
    foreach ($line in $Text -split '\r?\n') {
        if ($line -match '^\s*```') { $fence = -not $fence }
        if (-not $fence -and $line.StartsWith($prefix) -and -not $line.StartsWith($prefix.TrimEnd() + '#')) {
            if ($null -ne $current) { $sections.Add([pscustomobject]@{ Title = $current; Body = $body.ToString() }) }
            $current = $line.Substring($prefix.Length).Trim()
            $null = $body.Clear()
            continue
        }
        if ($null -ne $current) { $null = $body.AppendLine($line) }
    }
    if ($null -ne $current) { $sections.Add([pscustomobject]@{ Title = $current; Body = $body.ToString() }) }
    $sections.ToArray()
}

# The fenced blocks of a body, and the text outside them.
function Split-Fence([string] $Text) {
    $blocks = [System.Collections.Generic.List[object]]::new()
    $outside = [System.Text.StringBuilder]::new()
    $inside = $null
    $lang = ''
    foreach ($line in $Text -split '\r?\n') {
        if ($line -match '^\s*```\s*([\w-]*)\s*$') {
            if ($null -eq $inside) { $inside = [System.Text.StringBuilder]::new(); $lang = $Matches[1]; continue }
            $blocks.Add([pscustomobject]@{ Language = $lang; Code = $inside.ToString().TrimEnd() })
            $inside = $null
            continue
        }
        if ($null -ne $inside) { $null = $inside.AppendLine($line) } else { $null = $outside.AppendLine($line) }
    }
    [pscustomobject]@{ Blocks = $blocks.ToArray(); Text = $outside.ToString() }
}

function Read-HelpMarkdown([string] $Path) {
    $raw = (Get-Content -LiteralPath $Path -Raw) -replace "`r`n", "`n"
    $front = @{}
    if ($raw -match '\A---\n(?<fm>.*?)\n---\n(?<rest>.*)\z' -and $Matches) {
        foreach ($line in $Matches.fm -split '\n') { if ($line -match '^([^:]+):\s*(.*)$') { $front[$Matches[1].Trim()] = $Matches[2].Trim() } }
        $raw = ($raw -split '\A---\n.*?\n---\n', 2, 'Singleline')[1]
    }
    $top = @(Split-Section $raw 1)
    if ($top.Count -eq 0) { throw "${Path}: no '# Verb-Noun' heading." }
    $name = $top[0].Title
    $sections = @{}
    foreach ($s in Split-Section $top[0].Body 2) { $sections[$s.Title.ToUpperInvariant()] = $s.Body }
    $text = { param($key) if ($sections.ContainsKey($key)) { $sections[$key] } else { '' } }

    $examples = foreach ($e in Split-Section (& $text 'EXAMPLES') 3) {
        $parts = Split-Fence $e.Body
        [pscustomobject]@{
            Title   = $e.Title
            Code    = @($parts.Blocks | ForEach-Object Code) -join "`n`n"
            Remarks = Split-Paragraph $parts.Text
        }
    }
    $parameters = [ordered]@{}
    foreach ($p in Split-Section (& $text 'PARAMETERS') 3) {
        if ($p.Title -notmatch '^-(\w+)') { continue }   # "### CommonParameters"
        $parts = Split-Fence $p.Body
        $parameters[$Matches[1]] = [pscustomobject]@{
            Name        = $Matches[1]
            Description = Split-Paragraph $parts.Text
            Yaml        = @($parts.Blocks | Where-Object Language -EQ 'yaml' | ForEach-Object { ConvertFrom-HelpYaml $_.Code })
        }
    }
    $typed = {
        param($key)
        foreach ($t in Split-Section (& $text $key) 3) { [pscustomobject]@{ Type = $t.Title; Description = Split-Paragraph $t.Body } }
    }
    $links = foreach ($line in (& $text 'RELATED LINKS') -split '\n') {
        if ($line -match '\[(?<t>[^\]]+)\]\((?<u>[^)]*)\)') { [pscustomobject]@{ Text = $Matches.t; Uri = $Matches.u } }
    }
    $syntax = foreach ($s in Split-Section (& $text 'SYNTAX') 3) {
        [pscustomobject]@{ Name = $s.Title; Text = ((Split-Fence $s.Body).Blocks | Select-Object -First 1 | ForEach-Object Code) }
    }
    [pscustomobject]@{
        Path        = $Path
        Name        = $name
        Online      = $front['online version']
        Synopsis    = Split-Paragraph (& $text 'SYNOPSIS')
        Description = Split-Paragraph (& $text 'DESCRIPTION')
        Syntax      = @($syntax)
        Examples    = @($examples)
        Parameters  = $parameters
        Inputs      = @(& $typed 'INPUTS')
        Outputs     = @(& $typed 'OUTPUTS')
        Notes       = Split-Paragraph (& $text 'NOTES')
        Links       = @($links)
    }
}

#endregion
#region parameter model ---------------------------------------------------------------------------

$script:Common = [System.Collections.Generic.HashSet[string]]::new([string[]][System.Management.Automation.Cmdlet]::CommonParameters, [StringComparer]::OrdinalIgnoreCase)
$script:Trailing = @('WhatIf', 'Confirm')

function Get-ShortTypeName([type] $Type) {
    if ($Type -eq [System.Management.Automation.SwitchParameter]) { return 'SwitchParameter' }
    if ($Type.IsArray) { return (Get-ShortTypeName $Type.GetElementType()) + '[]' }
    if ($Type.IsGenericType -and $Type.GetGenericTypeDefinition() -eq [Nullable`1]) { return Get-ShortTypeName $Type.GetGenericArguments()[0] }
    $Type.Name
}

function Format-PipelineInput([bool] $ByValue, [bool] $ByPropertyName) {
    $kinds = @(if ($ByPropertyName) { 'ByPropertyName' }; if ($ByValue) { 'ByValue' })
    if ($kinds.Count) { "True ($($kinds -join ', '))" } else { 'False' }
}

# One parameter in one parameter set, from the cmdlet metadata.
function Get-MetadataParameter([System.Management.Automation.CommandInfo] $Command) {
    $sets = foreach ($set in $Command.ParameterSets | Sort-Object { -not $_.IsDefault }) {
        $params = @($set.Parameters | Where-Object { -not $script:Common.Contains($_.Name) -and $_.Name -ne 'UseTransaction' })
        $positional = @($params | Where-Object Position -GE 0 | Sort-Object Position)
        $mandatory = @($params | Where-Object { $_.Position -lt 0 -and $_.IsMandatory })
        $rest = @($params | Where-Object { $_.Position -lt 0 -and -not $_.IsMandatory -and $_.Name -notin $script:Trailing })
        $trail = @(foreach ($t in $script:Trailing) { $params | Where-Object Name -EQ $t })
        [pscustomobject]@{
            Name       = $set.Name
            Parameters = @(foreach ($p in $positional + $mandatory + $rest + $trail) {
                    [pscustomobject]@{
                        Name          = $p.Name
                        Type          = $p.ParameterType
                        TypeName      = Get-ShortTypeName $p.ParameterType
                        FullTypeName  = $p.ParameterType.FullName
                        Required      = $p.IsMandatory
                        Position      = if ($p.Position -ge 0) { "$($p.Position)" } else { 'named' }
                        PipelineInput = Format-PipelineInput $p.ValueFromPipeline $p.ValueFromPipelineByPropertyName
                        Aliases       = @($p.Aliases)
                        Globbing      = [bool]($Command.Parameters[$p.Name].Attributes | Where-Object { $_ -is [System.Management.Automation.SupportsWildcardsAttribute] })
                        IsSwitch      = $p.ParameterType -eq [System.Management.Automation.SwitchParameter]
                    }
                })
        }
    }
    @($sets)
}

# The same shape from the markdown's yaml blocks (when the module is not available).
function Get-MarkdownParameter($Doc) {
    $setNames = [System.Collections.Generic.List[string]]::new()
    foreach ($s in $Doc.Syntax) {
        $setName = $s.Name -replace '\s*\(Default\)$', ''
        if ($setName -and $setName -ne '(All)') { $setNames.Add($setName) }
    }
    if ($setNames.Count -eq 0) { $setNames.Add('__AllParameterSets') }
    $sets = foreach ($setName in $setNames) {
        $params = foreach ($p in $Doc.Parameters.Values) {
            $yaml = $p.Yaml | Where-Object { $in = "$($_['Parameter Sets'])"; -not $in -or $in -eq '(All)' -or ($in -split ',\s*') -contains $setName } | Select-Object -First 1
            if (-not $yaml) { continue }
            $typeName = if ($yaml['Type']) { $yaml['Type'] } else { 'Object' }
            [pscustomobject]@{
                Name          = $p.Name
                Type          = $null
                TypeName      = $typeName
                FullTypeName  = $typeName
                Required      = $yaml['Required'] -eq 'True'
                Position      = if ($yaml['Position'] -match '^\d+$') { $yaml['Position'] } else { 'named' }
                PipelineInput = if ($yaml['Accept pipeline input']) { $yaml['Accept pipeline input'] } else { 'False' }
                Aliases       = @("$($yaml['Aliases'])" -split ',\s*' | Where-Object { $_ })
                Globbing      = $yaml['Accept wildcard characters'] -eq 'True'
                IsSwitch      = $typeName -eq 'SwitchParameter'
            }
        }
        # Syntax order, as for the metadata: positional by position, then mandatory, the rest, WhatIf and Confirm.
        $params = @($params)
        $positional = @($params | Where-Object Position -NE 'named' | Sort-Object { [int]$_.Position })
        $mandatory = @($params | Where-Object { $_.Position -eq 'named' -and $_.Required })
        $rest = @($params | Where-Object { $_.Position -eq 'named' -and -not $_.Required -and $_.Name -notin $script:Trailing })
        $trail = @(foreach ($t in $script:Trailing) { $params | Where-Object Name -EQ $t })
        [pscustomobject]@{ Name = $setName; Parameters = @($positional + $mandatory + $rest + $trail) }
    }
    @($sets)
}

#endregion
#region MAML ------------------------------------------------------------------------------------

$script:Ns = @{
    msh     = 'http://msh'
    maml    = 'http://schemas.microsoft.com/maml/2004/10'
    command = 'http://schemas.microsoft.com/maml/dev/command/2004/10'
    dev     = 'http://schemas.microsoft.com/maml/dev/2004/10'
    MSHelp  = 'http://msdn.microsoft.com/mshelp'
}

function Write-Element([System.Xml.XmlWriter] $W, [string] $Prefix, [string] $Name, [string] $Value) {
    $W.WriteElementString($Prefix, $Name, $script:Ns[$Prefix], $Value)
}

function Write-Para([System.Xml.XmlWriter] $W, [string[]] $Paragraphs) {
    $W.WriteStartElement('maml', 'description', $script:Ns.maml)
    foreach ($p in @($Paragraphs | Where-Object { $_ })) { Write-Element $W 'maml' 'para' $p }
    $W.WriteEndElement()
}

function Write-Parameter([System.Xml.XmlWriter] $W, $P, [string[]] $Description, [string] $Default, [bool] $InSyntax) {
    $W.WriteStartElement('command', 'parameter', $script:Ns.command)
    $W.WriteAttributeString('required', "$($P.Required)".ToLowerInvariant())
    $W.WriteAttributeString('variableLength', $(if ($P.TypeName -like '*[[]]') { 'true' } else { 'false' }))
    $W.WriteAttributeString('globbing', "$($P.Globbing)".ToLowerInvariant())
    $W.WriteAttributeString('pipelineInput', $P.PipelineInput)
    $W.WriteAttributeString('position', $P.Position)
    $W.WriteAttributeString('aliases', $(if ($P.Aliases.Count) { $P.Aliases -join ', ' } else { 'none' }))
    Write-Element $W 'maml' 'name' $P.Name
    Write-Para $W $Description
    if (-not ($InSyntax -and $P.IsSwitch)) {
        $W.WriteStartElement('command', 'parameterValue', $script:Ns.command)
        $W.WriteAttributeString('required', $(if ($P.IsSwitch) { 'false' } else { 'true' }))
        $W.WriteAttributeString('variableLength', $(if ($P.TypeName -like '*[[]]') { 'true' } else { 'false' }))
        $W.WriteString($P.TypeName)
        $W.WriteEndElement()
    }
    $W.WriteStartElement('dev', 'type', $script:Ns.dev)
    Write-Element $W 'maml' 'name' $P.FullTypeName
    Write-Element $W 'maml' 'uri' ''
    $W.WriteEndElement()
    Write-Element $W 'dev' 'defaultValue' $(if ($Default) { $Default } else { 'None' })
    $W.WriteEndElement()
}

function Write-Command([System.Xml.XmlWriter] $W, $Doc, $Sets, [string[]] $MetadataOutputTypes) {
    $verb, $noun = $Doc.Name -split '-', 2
    $W.WriteStartElement('command', 'command', $script:Ns.command)
    $W.WriteAttributeString('xmlns', 'maml', $null, $script:Ns.maml)
    $W.WriteAttributeString('xmlns', 'command', $null, $script:Ns.command)
    $W.WriteAttributeString('xmlns', 'dev', $null, $script:Ns.dev)
    $W.WriteAttributeString('xmlns', 'MSHelp', $null, $script:Ns.MSHelp)

    $W.WriteStartElement('command', 'details', $script:Ns.command)
    Write-Element $W 'command' 'name' $Doc.Name
    Write-Element $W 'command' 'verb' $verb
    Write-Element $W 'command' 'noun' $noun
    Write-Para $W $Doc.Synopsis
    $W.WriteEndElement()

    Write-Para $W $Doc.Description

    $W.WriteStartElement('command', 'syntax', $script:Ns.command)
    foreach ($set in $Sets) {
        $W.WriteStartElement('command', 'syntaxItem', $script:Ns.command)
        Write-Element $W 'maml' 'name' $Doc.Name
        foreach ($p in $set.Parameters) {
            $md = $Doc.Parameters[$p.Name]
            Write-Parameter $W $p $(if ($md) { $md.Description } else { @() }) $null $true
        }
        $W.WriteEndElement()
    }
    $W.WriteEndElement()

    # Parameters: one entry each, in the markdown's order, then any the markdown lacks.
    $seen = [System.Collections.Generic.Dictionary[string, object]]::new([StringComparer]::OrdinalIgnoreCase)
    foreach ($set in $Sets) { foreach ($p in $set.Parameters) { if (-not $seen.ContainsKey($p.Name)) { $seen[$p.Name] = $p } } }
    $order = @($Doc.Parameters.Keys | Where-Object { $seen.ContainsKey($_) }) + @($seen.Keys | Where-Object { -not $Doc.Parameters.Contains($_) } | Sort-Object)
    $W.WriteStartElement('command', 'parameters', $script:Ns.command)
    foreach ($name in $order) {
        $p = $seen[$name]
        $md = $Doc.Parameters[$name]
        # Required/position shown once: required when required in any set, the first set's position.
        $merged = $p.PSObject.Copy()
        $merged.Required = [bool]@($Sets | ForEach-Object { $_.Parameters } | Where-Object { $_.Name -eq $name -and $_.Required }).Count
        $default = if ($md -and $md.Yaml.Count) { $md.Yaml[0]['Default value'] } else { $null }
        Write-Parameter $W $merged $(if ($md) { $md.Description } else { @() }) $default $false
    }
    $W.WriteEndElement()

    $W.WriteStartElement('command', 'inputTypes', $script:Ns.command)
    foreach ($t in $Doc.Inputs) {
        $W.WriteStartElement('command', 'inputType', $script:Ns.command)
        $W.WriteStartElement('dev', 'type', $script:Ns.dev); Write-Element $W 'maml' 'name' $t.Type; $W.WriteEndElement()
        Write-Para $W $t.Description
        $W.WriteEndElement()
    }
    $W.WriteEndElement()

    $outputs = @($Doc.Outputs)
    if ($outputs.Count -eq 0) { $outputs = @($MetadataOutputTypes | ForEach-Object { [pscustomobject]@{ Type = $_; Description = @() } }) }
    $W.WriteStartElement('command', 'returnValues', $script:Ns.command)
    foreach ($t in $outputs) {
        $W.WriteStartElement('command', 'returnValue', $script:Ns.command)
        $W.WriteStartElement('dev', 'type', $script:Ns.dev); Write-Element $W 'maml' 'name' $t.Type; $W.WriteEndElement()
        Write-Para $W $t.Description
        $W.WriteEndElement()
    }
    $W.WriteEndElement()

    $W.WriteStartElement('maml', 'alertSet', $script:Ns.maml)
    $W.WriteStartElement('maml', 'alert', $script:Ns.maml)
    foreach ($p in @($Doc.Notes | Where-Object { $_ })) { Write-Element $W 'maml' 'para' $p }
    $W.WriteEndElement()
    $W.WriteEndElement()

    $W.WriteStartElement('command', 'examples', $script:Ns.command)
    foreach ($e in $Doc.Examples) {
        $W.WriteStartElement('command', 'example', $script:Ns.command)
        Write-Element $W 'maml' 'title' "--------- $($e.Title) ---------"
        Write-Element $W 'dev' 'code' $e.Code
        $W.WriteStartElement('dev', 'remarks', $script:Ns.dev)
        foreach ($p in @($e.Remarks | Where-Object { $_ })) { Write-Element $W 'maml' 'para' $p }
        Write-Element $W 'maml' 'para' ''   # a blank line before the next example, as platyPS writes
        $W.WriteEndElement()
        $W.WriteEndElement()
    }
    $W.WriteEndElement()

    $W.WriteStartElement('command', 'relatedLinks', $script:Ns.command)
    $links = @()
    if ($Doc.Online) { $links += [pscustomobject]@{ Text = 'Online Version:'; Uri = $Doc.Online } }
    $links += @($Doc.Links | Where-Object { $_.Text -ne 'Online Version:' })
    foreach ($l in $links) {
        $W.WriteStartElement('maml', 'navigationLink', $script:Ns.maml)
        Write-Element $W 'maml' 'linkText' $l.Text
        Write-Element $W 'maml' 'uri' $l.Uri
        $W.WriteEndElement()
    }
    $W.WriteEndElement()

    $W.WriteEndElement()   # command:command
}

#endregion
#region main ------------------------------------------------------------------------------------

$OutputPath = @($OutputPath | ForEach-Object { $_ -split ',' } | Where-Object { $_ })

$docs = [ordered]@{}
foreach ($file in Get-ChildItem -LiteralPath $DocsPath -Filter '*.md' -File | Sort-Object Name) {
    $doc = Read-HelpMarkdown $file.FullName
    if ($doc.Name -ne $file.BaseName) { throw "$($file.Name): the heading '# $($doc.Name)' does not match the file name." }
    $docs[$doc.Name] = $doc
}

$commands = @{}
if ($ModuleManifest) {
    $module = Import-Module -Name $ModuleManifest -PassThru -Force
    foreach ($c in Get-Command -Module $module.Name -CommandType Cmdlet, Function) { $commands[$c.Name] = $c }
    foreach ($name in $docs.Keys) { if (-not $commands.ContainsKey($name)) { Write-Warning "docs/cmdlets/$name.md: the module has no command '$name'." } }
    foreach ($name in $commands.Keys | Sort-Object) {
        if (-not $docs.Contains($name)) {
            Write-Warning "$name has no docs/cmdlets/$name.md: its help will be empty."
            $docs[$name] = [pscustomobject]@{ Path = $null; Name = $name; Online = $null; Synopsis = @(); Description = @(); Syntax = @();
                Examples = @(); Parameters = [ordered]@{}; Inputs = @(); Outputs = @(); Notes = @(); Links = @() }
        }
    }
}

$settings = [System.Xml.XmlWriterSettings]::new()
$settings.Indent = $true
$settings.Encoding = [System.Text.UTF8Encoding]::new($false)
$buffer = [System.IO.MemoryStream]::new()
$writer = [System.Xml.XmlWriter]::Create($buffer, $settings)
$writer.WriteStartDocument()
$writer.WriteStartElement('helpItems', $script:Ns.msh)
$writer.WriteAttributeString('schema', 'maml')
foreach ($name in $docs.Keys | Sort-Object) {
    $doc = $docs[$name]
    $command = $commands[$name]
    $sets = if ($command) { Get-MetadataParameter $command } else { Get-MarkdownParameter $doc }
    $outputTypes = if ($command) { @($command.OutputType | ForEach-Object Name) } else { @() }
    if ($command) {
        $documented = @($doc.Parameters.Keys)
        $actual = @($sets | ForEach-Object { $_.Parameters } | ForEach-Object Name | Select-Object -Unique)
        foreach ($extra in $documented | Where-Object { $_ -notin $actual }) { Write-Warning "${name}: docs describe -$extra, which the cmdlet does not have." }
    }
    Write-Command $writer $doc $sets $outputTypes
}
$writer.WriteEndElement()
$writer.WriteEndDocument()
$writer.Flush()
$bytes = $buffer.ToArray()
$writer.Dispose()

foreach ($out in $OutputPath) {
    $folder = Split-Path -Parent $out
    if ($folder) { $null = New-Item -ItemType Directory -Path $folder -Force }
    [System.IO.File]::WriteAllBytes($out, $bytes)
}
"Help: $($docs.Count) command(s) -> $($OutputPath -join ', ')"

#endregion
