// Argument parsing shared by the verbs: minimist with strict unknown-flag errors.
import minimist from 'minimist';
import { UsageError } from '../core/errors';

export interface GlobalOpts {
  json: boolean;
  dryRun: boolean;
  debug: boolean;
}

export interface VerbSpec {
  verb: string;
  boolean?: string[];
  string?: string[];
  usage: string;
}

export type Parsed = minimist.ParsedArgs;

const GLOBAL_BOOLEANS = ['json', 'dry-run', 'debug', 'help'];

export function parseVerbArgs(argv: string[], spec: VerbSpec): Parsed {
  const booleans = [...GLOBAL_BOOLEANS, ...(spec.boolean ?? [])];
  const strings = [...(spec.string ?? []), 'lock-timeout'];
  // minimist reads --no-X as "X is false", which would also unset a string option X (--no-data vs --data): a
  // declared --no-X flag is passed in its --no-X=true form, which minimist takes as that flag.
  const negated = new Set(booleans.filter((b) => b.startsWith('no-')).map((b) => `--${b}`));
  const end = argv.includes('--') ? argv.indexOf('--') : argv.length;
  return minimist(argv.map((a, i) => (i < end && negated.has(a) ? `${a}=true` : a)), {
    boolean: booleans,
    string: strings,
    unknown: (a) => {
      if (a.startsWith('-')) throw new UsageError(`${spec.verb}: unknown option ${a}`, { hint: `see 'imgbase ${spec.verb} --help'` });
      return true;
    },
  });
}

/** A string option given without a value arrives as "" (or true for booleans); both are usage errors. */
export function optValue(args: Parsed, name: string, verb: string): string | undefined {
  const v: unknown = args[name];
  if (v === undefined) return undefined;
  if (Array.isArray(v)) throw new UsageError(`${verb}: --${name} given more than once`);
  if (typeof v !== 'string' || v === '') throw new UsageError(`${verb}: --${name} needs a value`);
  return v;
}

/** Exactly one of the verb's actions may be chosen. */
export function chooseAction(args: Parsed, actions: string[], verb: string): string | undefined {
  const chosen = actions.filter((a) => args[a] !== undefined && args[a] !== false);
  if (chosen.length > 1) throw new UsageError(`${verb}: choose one of --${chosen.join(', --')}`);
  return chosen[0];
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function lockTimeout(args: Parsed): number {
  const v = args['lock-timeout'];
  if (v === undefined) return 60;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new UsageError('--lock-timeout needs a number of seconds');
  return n;
}

/**
 * An option whose value is optional (`--add`, `--add X`, `--add=X`) is taken out before minimist, which
 * cannot express that. The value is the next word unless it starts with '-'.
 */
export function takeOptionalValue(argv: string[], name: string): { rest: string[]; present: boolean; value: string | undefined } {
  const rest: string[] = [];
  let present = false;
  let value: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === `--${name}`) {
      if (present) throw new UsageError(`--${name} given more than once`);
      present = true;
      const next = argv[i + 1];
      if (next !== undefined && !next.startsWith('-')) {
        value = next;
        i++;
      }
    } else if (a.startsWith(`--${name}=`)) {
      if (present) throw new UsageError(`--${name} given more than once`);
      present = true;
      value = a.slice(name.length + 3);
      if (value === '') throw new UsageError(`--${name}= needs a value`);
    } else {
      rest.push(a);
    }
  }
  return { rest, present, value };
}
