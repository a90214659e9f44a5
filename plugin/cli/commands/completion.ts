/**
 * `msgha completion bash|zsh [--cluster FILE]`: prints a completion script built from the
 * program itself (every verb and its options), with the group names (and `group.resource`,
 * `group:node`) of the cluster file given, or of this node's coordinator when one answers at
 * once. Install: `msgha completion bash > /etc/bash_completion.d/msgha`.
 */
import type { Command } from 'commander';
import { clusterOption } from './action-verb';
import { EXIT, type ExitCode } from './exit-codes';
import { UsageError, type Output } from './output';
import { act, runVerbArgs, type Opts } from './program';

/** Verbs whose argument is a group (clear: also group.resource; switch: group:node). */
const GROUP_VERBS = ['online', 'offline', 'switch', 'freeze', 'unfreeze', 'clear', 'drill'];
const FILE_OPTIONS = ['--cluster', '--key-file', '--password-file', '--ca-file', '--command', '--dir'];

export interface Names { groups: string[]; resources: string[]; targets: string[] }

export function define(program: Command): Command {
  const cmd = program.command('completion').description('print a shell completion script (bash or zsh)')
    .argument('<shell>', 'bash | zsh')
    .addOption(clusterOption('take the group names from this cluster file (else from this node\'s coordinator, if one answers)'))
    .addHelpText('after', `
Examples:
  msgha completion bash > /etc/bash_completion.d/msgha
  msgha completion zsh --cluster /etc/msgha/mail.config.js > "\${fpath[1]}/_msgha"`);
  return act(cmd, async ({ args, opts, out, cmd: self }) => completion(args[0] as string, opts, out, self.parent!));
}

export function run(args: string[]): Promise<number> { return runVerbArgs('completion', define, args); }

async function names(file: string | undefined): Promise<Names> {
  const n: Names = { groups: [], resources: [], targets: [] };
  if (file) {
    const { loadCluster } = await import('../../config/load');
    const c = (await loadCluster(file)).cluster;
    for (const g of c?.groups ?? []) {
      n.groups.push(g.name);
      n.resources.push(...g.resources.map((r) => `${g.name}.${r.name}`));
      n.targets.push(...g.systemList.map((node) => `${g.name}:${node}`));
    }
    return n;
  }
  const { CoordinatorLink } = await import('./coordinator-link');
  const found = await CoordinatorLink.open();
  if ('missing' in found) return n;
  try {
    const s = await found.link.status(1500, 1) as { groups?: Array<{ name: string; resources: Array<{ name: string }> }> } | undefined;
    for (const g of s?.groups ?? []) {
      n.groups.push(g.name);
      n.resources.push(...g.resources.map((r) => `${g.name}.${r.name}`));
    }
  } finally { found.link.close(); }
  return n;
}

/** Words completed after a verb: its options, and group names where it takes a group. */
function wordsOf(cmd: Command, n: Names): string {
  const opts = cmd.options.filter((o) => !o.hidden).map((o) => o.long).filter((x): x is string => !!x);
  const subs = cmd.commands.map((c) => c.name());
  const verb = cmd.name();
  const args = !GROUP_VERBS.includes(verb) ? [] : verb === 'clear' ? [...n.groups, ...n.resources]
    : verb === 'switch' ? [...n.groups, ...n.targets] : verb === 'freeze' ? [...n.groups, ...n.groups.map((g) => `${g}:persistent`)] : n.groups;
  return [...subs, ...args, ...opts, '--help'].join(' ');
}

/** Only names that are safe inside the script's single-quoted words. */
const safe = (w: string): boolean => /^[A-Za-z0-9_.:@%+=,\/-]+$/.test(w);

export function bashScript(program: Command, n: Names): string {
  const clean: Names = { groups: n.groups.filter(safe), resources: n.resources.filter(safe), targets: n.targets.filter(safe) };
  const verbs = program.commands.map((c) => c.name()).filter(safe);
  const cases = program.commands.filter((c) => safe(c.name())).map((c) => `    ${c.name()}) words='${wordsOf(c, clean)}' ;;`).join('\n');
  return `# bash completion for msgha (msgha completion bash)
_msgha() {
  local cur prev verb words
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  verb="\${COMP_WORDS[1]}"
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W '${verbs.join(' ')} --help --version' -- "$cur") )
    return
  fi
  case "$prev" in
    ${FILE_OPTIONS.join('|')}) COMPREPLY=( $(compgen -f -- "$cur") ); return ;;
  esac
  case "$verb" in
${cases}
    *) words='--help' ;;
  esac
  COMPREPLY=( $(compgen -W "$words" -- "$cur") )
  return
}
complete -o default -F _msgha msgha
`;
}

export function zshScript(program: Command, n: Names): string {
  // zsh runs the bash function through its bashcompinit layer: one script to keep right.
  return `#compdef msgha
# zsh completion for msgha (msgha completion zsh)
autoload -U +X bashcompinit && bashcompinit
${bashScript(program, n).replace(/^# bash completion.*\n/, '')}`;
}

async function completion(shell: string, opts: Opts, out: Output, program: Command): Promise<ExitCode> {
  if (shell !== 'bash' && shell !== 'zsh') throw new UsageError(`unknown shell '${shell}' (bash or zsh)`);
  const n = await names(opts.cluster as string | undefined).catch(() => ({ groups: [], resources: [], targets: [] }));
  process.stdout.write(shell === 'bash' ? bashScript(program, n) : zshScript(program, n));
  if (opts.cluster && n.groups.length === 0) process.stderr.write(`msgha completion: no group names from ${String(opts.cluster)} (msgha validate ${String(opts.cluster)})\n`);
  void out;
  return EXIT.OK;
}
