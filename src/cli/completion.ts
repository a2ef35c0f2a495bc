/**
 * Shell completion scripts for bash and zsh, generated from the command metadata oclif already holds (ids,
 * aliases, flags, args), so a new command completes without anyone touching this file. The script carries
 * the command tree itself: completing a command or flag name never starts node. Only container IDs and
 * namespaces do, by running `ctr containers -q` or `ctr namespaces -q` with the namespace and address already
 * typed on the line and a 1 s deadline.
 *
 * Which args and flags take an existing container's ID or namespace, a directory or a file, each command
 * declares next to its args and flags (`static completion: CompletionHints`), which oclif keeps in its
 * command metadata.
 */
import type {Command} from '@oclif/core'

/**
 * What a command's args and flags complete to, by name (an arg and a flag of the same name both). A
 * command's own static property: oclif drops unknown properties of args and flags, not of commands.
 */
export interface CompletionHints {
  /** Take the ID of an existing container (not one to create). */
  containerIds?: readonly string[]
  /** Take the name of an existing namespace. */
  namespaces?: readonly string[]
  /** Take a directory. */
  dirs?: readonly string[]
  /** Take a file. */
  files?: readonly string[]
}

/** The parts of oclif's cached command metadata (config.commands) completion reads, and the command's hints. */
export type CommandMeta = Pick<Command.Cached, 'id'> &
  Partial<Pick<Command.Cached, 'description' | 'summary' | 'hidden' | 'strict'>> & {
    args?: Record<string, Partial<Pick<Command.Arg.Cached, 'description' | 'hidden'>>>
    flags?: Record<string, FlagMeta>
    completion?: CompletionHints
  }

export type FlagMeta = Pick<Command.Flag.Cached, 'type'> &
  Partial<Pick<Command.Flag.Cached, 'char' | 'description' | 'summary' | 'hidden'>> & {options?: readonly string[]}

/** What to offer for a value: nothing in particular, container IDs, namespaces, directories, files, or fixed words. */
export type ValueKind = 'value' | 'container' | 'namespace' | 'dir' | 'file' | {options: readonly string[]}

export interface CompletionFlag {
  names: string[]
  description: string
  /** undefined: a boolean flag (takes no value). */
  value?: ValueKind
}

export interface CompletionCommand {
  /** Words as typed: 'containers start' (aliases are commands of their own here). */
  path: string
  description: string
  flags: CompletionFlag[]
  args: ValueKind[]
  /** The last arg repeats (several IDs). */
  repeatsLast: boolean
}

export interface CompletionModel {
  bin: string
  commands: CompletionCommand[]
  /** Sub-words at each path ('' = top level), with a one-line description. */
  children: Map<string, Map<string, string>>
}

/** Flags accepted before the command (src/cli/main.ts moves them), completed at the top level. */
const TOP_LEVEL_FLAGS: CompletionFlag[] = [
  {names: ['--address', '-a'], description: 'containerd socket', value: 'file'},
  {names: ['--namespace', '-n'], description: 'containerd namespace', value: 'namespace'},
  {names: ['--timeout'], description: 'deadline for the whole command', value: 'value'},
  {names: ['--call-timeout'], description: 'deadline for each call to containerd', value: 'value'},
  {names: ['--connect-timeout'], description: 'deadline for connecting to containerd', value: 'value'},
  {names: ['--debug'], description: 'print stack traces and gRPC details on errors'},
  {names: ['--help', '-h'], description: 'show help'},
  {names: ['--version', '-v'], description: 'print the client version'},
]

export function firstLine(text: string | undefined): string {
  return (text ?? '').split('\n')[0].trim()
}

/** The global flags' values (BaseCommand.baseFlags): --address is a socket file, --namespace a namespace. */
const GLOBAL_HINTS: CompletionHints = {files: ['address'], namespaces: ['namespace']}

function hintedKind(name: string, hints: CompletionHints | undefined): ValueKind | undefined {
  if (hints?.containerIds?.includes(name)) return 'container'
  if (hints?.namespaces?.includes(name)) return 'namespace'
  if (hints?.dirs?.includes(name)) return 'dir'
  if (hints?.files?.includes(name)) return 'file'
  return undefined
}

function flagValueKind(name: string, flag: FlagMeta, hints: CompletionHints | undefined): ValueKind {
  if (flag.options && flag.options.length > 0) return {options: flag.options}
  return hintedKind(name, hints) ?? hintedKind(name, GLOBAL_HINTS) ?? 'value'
}

/**
 * The completion model of a CLI. `commands` are oclif's loadables (aliases included, each with its own id);
 * `topics` give descriptions of topic words that are not commands themselves.
 */
export function completionModel(bin: string, commands: readonly CommandMeta[], topics: Readonly<Record<string, string>> = {}): CompletionModel {
  const children = new Map<string, Map<string, string>>([['', new Map()]])
  const result: CompletionCommand[] = []
  const visible = commands.filter((c) => !c.hidden).sort((a, b) => a.id.localeCompare(b.id))
  const describe = (id: string) => topics[id] ?? firstLine(visible.find((c) => c.id === id)?.summary ?? visible.find((c) => c.id === id)?.description)
  for (const command of visible) {
    const words = command.id.split(':')
    for (let k = 0; k < words.length; k++) {
      const parent = words.slice(0, k).join(' ')
      if (!children.has(parent)) children.set(parent, new Map())
      const id = words.slice(0, k + 1).join(':')
      if (!children.get(parent)!.has(words[k])) children.get(parent)!.set(words[k], describe(id))
    }
    const flags: CompletionFlag[] = Object.entries(command.flags ?? {})
      .filter(([, flag]) => !flag.hidden)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, flag]) => ({
        names: flag.char ? [`--${name}`, `-${flag.char}`] : [`--${name}`],
        description: firstLine(flag.summary ?? flag.description),
        value: flag.type === 'option' ? flagValueKind(name, flag, command.completion) : undefined,
      }))
    flags.push({names: ['--help', '-h'], description: 'show help'})
    const args = Object.entries(command.args ?? {})
      .filter(([, arg]) => !arg.hidden)
      .map(([name]) => hintedKind(name, command.completion) ?? 'value')
    result.push({path: words.join(' '), description: describe(command.id), flags, args, repeatsLast: command.strict === false && args.length > 0})
  }
  return {bin, commands: result, children}
}

/** A single-quoted shell word (bash and zsh). */
function q(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`
}

function kindWord(kind: ValueKind | undefined): string {
  if (kind === undefined) return 'bool'
  if (typeof kind === 'string') return kind
  return `options:${kind.options.join(' ')}`
}

/**
 * The shell functions both scripts share (bash and zsh run the same code: no arrays indexed by number, no
 * local named `path`, which zsh ties to $PATH). `_<bin>_candidates BIN CUR WORD...` prints one candidate
 * per line, `word<TAB>description` or a bare word; `__files__`/`__dirs__` ask the shell for paths.
 */
function coreFunctions(model: CompletionModel): string {
  const fn = `_${model.bin.replace(/[^A-Za-z0-9_]/g, '_')}`
  const lines: string[] = []
  lines.push(`${fn}_children() {`, '  case "$1" in')
  for (const [parent, words] of model.children) {
    if (words.size === 0) continue
    const pairs = [...words].map(([word, description]) => `${q(word)} ${q(description)}`)
    lines.push(`    ${q(parent)}) printf '%s\\t%s\\n' ${pairs.join(' ')} ;;`)
  }
  lines.push('  esac', '}', '')

  lines.push(`${fn}_flags() {`, '  case "$1" in')
  const flagList = (flags: CompletionFlag[]) => flags.flatMap((f) => f.names.map((n) => `${q(n)} ${q(f.description)}`)).join(' ')
  lines.push(`    '') printf '%s\\t%s\\n' ${flagList(TOP_LEVEL_FLAGS)} ;;`)
  for (const command of model.commands) lines.push(`    ${q(command.path)}) printf '%s\\t%s\\n' ${flagList(command.flags)} ;;`)
  lines.push('  esac', '}', '')

  // "path|flag" → bool, value, container, dir, file or options:A B C. Unknown flags count as booleans.
  lines.push(`${fn}_flag_kind() {`, '  case "$1|$2" in')
  const kindCases = (path: string, flags: CompletionFlag[]) => {
    const byKind = new Map<string, string[]>()
    for (const flag of flags) {
      const kind = kindWord(flag.value)
      if (kind === 'bool') continue
      for (const name of flag.names) byKind.set(kind, [...(byKind.get(kind) ?? []), q(`${path}|${name}`)])
    }
    for (const [kind, keys] of byKind) lines.push(`    ${keys.join('|')}) echo ${q(kind)} ;;`)
  }
  kindCases('', TOP_LEVEL_FLAGS)
  for (const command of model.commands) kindCases(command.path, command.flags)
  lines.push('    *) echo bool ;;', '  esac', '}', '')

  // "path|N" (N counted from 0) → the kind of the Nth argument.
  lines.push(`${fn}_arg_kind() {`, '  case "$1|$2" in')
  for (const command of model.commands) {
    command.args.forEach((kind, i) => {
      const last = i === command.args.length - 1 && command.repeatsLast
      lines.push(`    ${q(`${command.path}|`)}${last ? `[${i}-9]|${q(`${command.path}|`)}[1-9][0-9]` : i}) echo ${q(kindWord(kind))} ;;`)
    })
  }
  lines.push('  esac', '}', '')

  lines.push(
    `# Container IDs of the namespace given on the line (or the environment's), quietly, within a second.`,
    `${fn}_containers() {`,
    '  "$@" containers -q --call-timeout 1s 2>/dev/null',
    '}',
    '',
    `${fn}_namespaces() {`,
    '  "$@" namespaces -q --call-timeout 1s 2>/dev/null',
    '}',
    '',
    `${fn}_values() { # KIND: candidates for a flag or argument value`,
    '  case "$1" in',
    `    container) ${fn}_containers "$${fn.slice(1)}_bin" "\${${fn.slice(1)}_conn[@]}" ;;`,
    `    namespace) ${fn}_namespaces "$${fn.slice(1)}_bin" "\${${fn.slice(1)}_conn[@]}" ;;`,
    '    dir) echo __dirs__ ;;',
    '    file) echo __files__ ;;',
    "    options:*) echo \"${1#options:}\" | tr ' ' '\\n' ;;",
    '  esac',
    '}',
    '',
    `${fn}_candidates() {`,
    `  local ${fn.slice(1)}_bin=$1 cur=$2 cmdpath='' nargs=0 word kind help=0 dashdash=0`,
    `  local -a ${fn.slice(1)}_conn`,
    `  ${fn.slice(1)}_conn=()`,
    '  shift 2',
    '  while [ $# -gt 0 ]; do',
    '    word=$1',
    '    shift',
    '    if [ $dashdash = 1 ]; then nargs=$((nargs + 1)); continue; fi',
    '    case $word in',
    '      --) dashdash=1 ;;',
    `      --namespace=*|--address=*) ${fn.slice(1)}_conn+=("$word") ;;`,
    '      -*=*) ;;',
    '      -*)',
    `        kind=$(${fn}_flag_kind "$cmdpath" "$word")`,
    '        if [ "$kind" != bool ] && [ $# -gt 0 ]; then',
    '          case "$cmdpath|$word" in',
    `            *'|--namespace'|*'|-n') ${fn.slice(1)}_conn+=("--namespace=$1") ;;`,
    `            *'|--address'|'|-a') ${fn.slice(1)}_conn+=("--address=$1") ;;`,
    '          esac',
    '          shift',
    '        elif [ "$kind" != bool ]; then',
    `          ${fn}_values "$kind"`,
    '          return',
    '        fi ;;',
    '      *)',
    `        if [ -z "$cmdpath" ] && [ "$word" = help ] && [ $help = 0 ]; then help=1`,
    `        elif [ $nargs = 0 ] && ${fn}_children "$cmdpath" | cut -f1 | grep -qxF -- "$word"; then cmdpath=\${cmdpath:+$cmdpath }$word`,
    '        else nargs=$((nargs + 1)); fi ;;',
    '    esac',
    '  done',
    '  if [ $dashdash = 1 ]; then return; fi',
    '  case $cur in',
    `    --*=*) ${fn}_values "$(${fn}_flag_kind "$cmdpath" "\${cur%%=*}")"; return ;;`,
    `    -*) [ $help = 0 ] && ${fn}_flags "$cmdpath"; return ;;`,
    '  esac',
    `  [ $nargs = 0 ] && ${fn}_children "$cmdpath"`,
    `  [ $help = 0 ] && ${fn}_values "$(${fn}_arg_kind "$cmdpath" $nargs)"`,
    '  return 0',
    '}',
  )
  return lines.join('\n')
}

export function bashScript(model: CompletionModel): string {
  const fn = `_${model.bin.replace(/[^A-Za-z0-9_]/g, '_')}`
  return `# bash completion for ${model.bin}, generated by \`${model.bin} completion bash\`.
# Load it in ~/.bashrc:  source <(${model.bin} completion bash)
# or install it:         ${model.bin} completion bash > /etc/bash_completion.d/${model.bin}
# Regenerate it after upgrading ${model.bin} (it lists the commands and flags of this version).

${coreFunctions(model)}

${fn}_complete() {
  local cur=\${COMP_WORDS[COMP_CWORD]} line candidate i=1 glue=0 files=''
  local -a typed
  typed=()
  # COMP_WORDBREAKS splits --flag=value into '--flag' '=' 'value': put them back together.
  while [ $i -lt $COMP_CWORD ]; do
    if [ "\${COMP_WORDS[i]}" = '=' ] && [ \${#typed[@]} -gt 0 ]; then
      typed[\${#typed[@]}-1]+='='; glue=1
    elif [ $glue = 1 ]; then
      typed[\${#typed[@]}-1]+=\${COMP_WORDS[i]}; glue=0
    else
      typed+=("\${COMP_WORDS[i]}")
    fi
    i=$((i + 1))
  done
  local whole=$cur
  if [ "$cur" = '=' ] && [ \${#typed[@]} -gt 0 ]; then
    whole="\${typed[\${#typed[@]}-1]}="; unset 'typed[\${#typed[@]}-1]'; cur=''
  elif [ $glue = 1 ]; then
    whole="\${typed[\${#typed[@]}-1]}$cur"; unset 'typed[\${#typed[@]}-1]'
  fi
  COMPREPLY=()
  while IFS= read -r line; do
    candidate=\${line%%$'\\t'*}
    case $candidate in
      __files__|__dirs__) files=$candidate ;;
      "$cur"*) [ -n "$candidate" ] && COMPREPLY+=("$candidate") ;;
    esac
  done < <(${fn}_candidates "\${COMP_WORDS[0]}" "$whole" "\${typed[@]}")
  if [ -n "$files" ]; then
    compopt -o filenames 2>/dev/null
    if [ "$files" = __dirs__ ]; then COMPREPLY+=($(compgen -d -- "$cur")); else COMPREPLY+=($(compgen -f -- "$cur")); fi
  fi
  return 0
}

complete -F ${fn}_complete ${model.bin}
`
}

export function zshScript(model: CompletionModel): string {
  const fn = `_${model.bin.replace(/[^A-Za-z0-9_]/g, '_')}`
  return `#compdef ${model.bin}
# zsh completion for ${model.bin}, generated by \`${model.bin} completion zsh\`.
# Load it in ~/.zshrc (after compinit):  source <(${model.bin} completion zsh)
# or install it on $fpath:               ${model.bin} completion zsh > "\${fpath[1]}/_${model.bin}"
# Regenerate it after upgrading ${model.bin} (it lists the commands and flags of this version).

${coreFunctions(model)}

${fn}() {
  local line candidate cur=\${words[CURRENT]}
  local -a described plain lines
  lines=("\${(@f)$(${fn}_candidates "\${words[1]}" "$cur" "\${(@)words[2,CURRENT-1]}")}")
  [[ $cur == --*=* ]] && compset -P '*='
  for line in "\${lines[@]}"; do
    case $line in
      __files__) _files ;;
      __dirs__) _files -/ ;;
      *$'\\t'*) described+=("\${\${line%%$'\\t'*}//:/\\\\:}:\${line#*$'\\t'}") ;;
      ?*) plain+=("$line") ;;
    esac
  done
  (( \${#described} )) && _describe -t commands '${model.bin}' described
  (( \${#plain} )) && compadd -a plain
  return 0
}

if [[ \${zsh_eval_context[-1]} == loadautofunc ]]; then
  ${fn} "$@"
else
  compdef ${fn} ${model.bin}
fi
`
}
