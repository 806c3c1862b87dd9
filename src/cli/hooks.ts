// imgbase hooks --list: for each event, what would run, from where, and what is masked, replaced, skipped or refused.
import { UsageError } from '../core/errors';
import { ALIASES, EVENTS, HOOK_DIRS, isEvent, resolveHooks, type HookEvent } from '../core/hooks';
import { readHookTimeout, scanHooks } from '../adapters/hooks';
import { optValue, parseVerbArgs, printJson, type GlobalOpts } from './args';
import { noPositional } from './context';

export const usage = `usage: imgbase hooks --list [--event EVENT] [--json]

Hooks are executables in ${HOOK_DIRS.usr}/EVENT/ and ${HOOK_DIRS.etc}/EVENT/, run in name order (C locale)
across both; the same name in /etc replaces the one in /usr/lib, a symlink to /dev/null masks it. Only names of
[A-Za-z0-9_-] run (as with run-parts): others, and files that are not executable, are listed as skipped. A hook
not owned by root or writable by group or others, or one with such a directory anywhere above it (or above its
symlink's target), is refused, and a command that would run it stops before it changes anything.

events: ${EVENTS.join(', ')}
aliases (the Python imgbased's names): ${Object.entries(ALIASES).map(([a, e]) => `${a} = ${e}`).join(', ')}`;

export async function hooksCommand(argv: string[], g: GlobalOpts): Promise<number> {
  const args = parseVerbArgs(argv, { verb: 'hooks', boolean: ['list'], string: ['event'], usage });
  noPositional(args, 'hooks');
  if (!args.list) throw new UsageError('hooks: choose --list', { hint: "see 'imgbase hooks --help'" });
  const e = optValue(args, 'event', 'hooks');
  const wanted = e === undefined ? null : isEvent(e) ? e : ALIASES[e];
  if (e !== undefined && !wanted) throw new UsageError(`hooks: unknown event ${e}`, { hint: "see 'imgbase hooks --help'" });
  const found = await scanHooks();
  const events: HookEvent[] = wanted ? [wanted] : [...EVENTS];
  const table = events.map((event) => ({ event, hooks: resolveHooks(found, event) }));
  if (g.json) {
    printJson({ timeoutS: await readHookTimeout(), events: table });
    return 0;
  }
  for (const { event, hooks } of table) {
    if (hooks.length === 0 && !wanted) continue;
    console.log(`${event}:${hooks.length === 0 ? ' (none)' : ''}`);
    for (const h of hooks) console.log(`  ${h.status.padEnd(8)} ${h.path}${h.why ? `  (${h.why})` : ''}`);
  }
  return 0;
}
