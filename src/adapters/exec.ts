// The only way imgbased runs programs: argv arrays, no shell, C locale so parsers see stable output.
import { constants as fsc } from 'node:fs';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { ImgbasedError } from '../core/errors';
import { log } from './log';

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
  const r = await execa(cmd, args, {
    input: opts.input,
    env: { LC_ALL: 'C', ...opts.env },
    reject: false,
    stripFinalNewline: true,
    timeout: opts.timeoutMs,
    stderr: opts.stderrInherit ? 'inherit' : 'pipe',
  });
  if ((r as { code?: string }).code === 'ENOENT') {
    throw new ImgbasedError(`${cmd}: command not found`, { hint: 'is the package that provides it installed?' });
  }
  const exitCode = typeof r.exitCode === 'number' ? r.exitCode : 127;
  const result = { stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), exitCode };
  if (exitCode !== 0 && !opts.allowFail) {
    const why = lastLine(result.stderr) || lastLine(result.stdout) || (r.failed ? r.shortMessage : `exit ${exitCode}`);
    throw new ImgbasedError(`${cmd} ${args[0] ?? ''} failed: ${why}`.replace(/\s+failed/, ' failed'));
  }
  return result;
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
