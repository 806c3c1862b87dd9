// The only way imgbased runs programs: argv arrays, no shell, C locale so parsers see stable output.
import { constants as fsc } from 'node:fs';
import { access } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import { ImgbasedError } from '../core/errors';
import { log } from './log';
import type { Spawner } from './spawn';

// execa unless the initramfs path chose node's child_process (spawn.ts says why); loaded on first use.
let spawner: Spawner | null = null;

export function useSpawner(next: Spawner): void {
  spawner = next;
}

export interface RunOptions {
  input?: string;
  allowFail?: boolean;
  env?: Record<string, string>;
  timeoutMs?: number;
  /** Let the tool draw its own progress on the user's terminal. */
  stderrInherit?: boolean;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export async function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  log.debug(`run: ${[cmd, ...args].map(quoteForLog).join(' ')}`);
  spawner ??= (await import('./spawn-execa')).spawnExeca;
  const r = await spawner({
    cmd, args, input: opts.input, env: { ...process.env, LC_ALL: 'C', ...opts.env },
    timeoutMs: opts.timeoutMs, stderrInherit: opts.stderrInherit,
  });
  if (r.notFound) {
    throw new ImgbasedError(`${cmd}: command not found`, { hint: 'is the package that provides it installed?' });
  }
  const exitCode = r.exitCode ?? 127;
  const result = { stdout: r.stdout, stderr: r.stderr, exitCode };
  if (exitCode !== 0 && !opts.allowFail) {
    const why = lastLine(result.stderr) || lastLine(result.stdout) || r.failure || `exit ${exitCode}`;
    throw new ImgbasedError(`${cmd} ${args[0] ?? ''} failed: ${why}`.replace(/\s+failed/, ' failed'));
  }
  return result;
}

/** Signals the terminal sends the whole foreground group: the program handles them, imgbase waits for it. */
const TERMINAL_SIGNALS = ['SIGINT', 'SIGQUIT', 'SIGHUP'] as const;

/**
 * A program on the user's terminal (stdin, stdout, stderr inherited; environment: ours plus `env`, the user's locale
 * kept). Its exit status is returned, 128 + N when signal N ended it, as a shell reports it. While it runs, ^C and
 * the like are left to it: imgbase, killed by them, would leave its mounts behind.
 */
export async function runInteractive(cmd: string, args: string[], env: Record<string, string> = {}): Promise<number> {
  log.debug(`run (interactive): ${[cmd, ...args].map(quoteForLog).join(' ')}`);
  spawner ??= (await import('./spawn-execa')).spawnExeca;
  const ignore = (): void => undefined;
  for (const s of TERMINAL_SIGNALS) process.on(s, ignore);
  try {
    const r = await spawner({ cmd, args, env: { ...process.env, ...env }, interactive: true });
    if (r.notFound) throw new ImgbasedError(`${cmd}: command not found`, { hint: 'is the package that provides it installed?' });
    if (r.exitCode !== null) return r.exitCode;
    const n = r.signal ? osConstants.signals[r.signal as NodeJS.Signals] : undefined;
    return n === undefined ? 1 : 128 + n;
  } finally {
    for (const s of TERMINAL_SIGNALS) process.off(s, ignore);
  }
}

/** Absolute path of an executable on PATH, or null: for optional tools (a validator we use only when installed). */
export async function findCommand(name: string): Promise<string | null> {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      await access(p, fsc.X_OK);
      return p;
    } catch {
      // next
    }
  }
  return null;
}

function lastLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines[lines.length - 1] ?? '';
}

function quoteForLog(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : JSON.stringify(s);
}
