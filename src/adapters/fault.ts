// Fault injection for the crash-safety tests, kept out of the way of users: it acts only when root put a flag file
// in /run (a tmpfs: gone at the next boot), only for the one write command that reads it (the file is removed as it
// is read), and never under --dry-run. No environment variable turns it on.
import { lstat, readFile, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { FAULT_FILE } from '../core/paths';
import { ImgbasedError } from '../core/errors';
import { log } from './log';

export interface Fault {
  at: 'fail' | 'powercut';
  step: number | null;
  kind: string | null;
}

/** `fail@N` (step N fails before it runs), `powercut@N` (reset right after step N), or a step kind (its first fails). */
export function parseFault(v: string | undefined | null): Fault | null {
  const s = (v ?? '').trim();
  if (!s) return null;
  const m = /^(fail|powercut)@(\d+)$/.exec(s);
  if (m) return { at: m[1] as Fault['at'], step: Number(m[2]), kind: null };
  return { at: 'fail', step: null, kind: s };
}

/** Root's own file in a root-owned directory that nobody else may write: anything else is ignored. */
async function rootOnly(path: string): Promise<boolean> {
  for (const p of [path, dirname(path)]) {
    const s = await lstat(p).catch(() => null);
    if (!s || s.uid !== 0 || s.isSymbolicLink() || (s.mode & 0o022) !== 0) return false;
  }
  return true;
}

/** The fault the flag file asks for, consumed: the next command runs without it. */
export async function takeFault(file = FAULT_FILE): Promise<Fault | null> {
  const text = await readFile(file, 'utf8').catch(() => null);
  if (text === null) return null;
  if (!(await rootOnly(file))) {
    log.warn(`${file} ignored: not a root-owned file in a root-owned directory`);
    return null;
  }
  await unlink(file).catch(() => undefined);
  return parseFault(text);
}

export async function powerCut(n: number): Promise<never> {
  log.warn(`fault injection: power cut after step ${n}`);
  await writeFile('/proc/sys/kernel/sysrq', '1').catch(() => undefined);
  await writeFile('/proc/sysrq-trigger', 'b');
  // The machine is gone; never reached on a real reset.
  await new Promise((r) => setTimeout(r, 60_000));
  throw new ImgbasedError('power cut did not happen');
}
