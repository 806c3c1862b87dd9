// One writer at a time. A directory lock in /run: mkdir is atomic, /run is empty after a power cut,
// and a holder that died is detected by its pid.
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { BusyError } from '../core/errors';
import { log } from './log';

export { LOCK_DIR } from '../core/paths';
import { LOCK_DIR } from '../core/paths';

/**
 * How long a lock dir may stay without a readable pid. A live holder writes its pid right after its mkdir, so
 * only a holder killed in between (or a hand-made `: > pid`) leaves it empty for longer; without a limit such a
 * dir held the lock forever.
 */
export const PID_GRACE_MS = 5000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const missing = (e: unknown): boolean => (e as NodeJS.ErrnoException).code === 'ENOENT';

/** Why the lock dir may be taken over, or undefined while its holder may still be alive. Throws ENOENT when gone. */
async function staleReason(dir: string): Promise<string | undefined> {
  const text = await readFile(`${dir}/pid`, 'utf8').catch((e: unknown) => (missing(e) ? '' : Promise.reject(e)));
  if (/^\d+$/.test(text.trim()) && Number(text) > 0) {
    const pid = Number(text);
    return alive(pid) ? undefined : `pid ${pid} is gone`;
  }
  // No usable pid: young means a holder between mkdir and its pid write. Either mtime counts, so a fresh
  // `touch` of the pid file (or dir) also holds.
  const times = [(await stat(dir)).mtimeMs, await stat(`${dir}/pid`).then((s) => s.mtimeMs, () => 0)];
  const age = Date.now() - Math.max(...times);
  return age >= PID_GRACE_MS ? `no pid in it for ${Math.round(age / 1000)} s` : undefined;
}

/**
 * How long the break lock may stay. Breaking a stale lock takes a few syscalls; a break dir this old was left by a
 * command killed in the middle of one.
 */
const BREAK_STALE_MS = 10_000;

/**
 * Removes `dir` if it is stale, holding `dir.break` while it looks again and removes. Under the break lock the
 * stale dir cannot change: its holder is dead (or never wrote a pid for the grace period), other breakers wait,
 * and a new taker's mkdir fails while it exists. So a live holder's dir is never moved or removed, not even for
 * an instant (an earlier rename-aside-and-give-back did that, and its holder's pid write then failed).
 */
async function breakStale(dir: string): Promise<boolean> {
  const brk = `${dir}.break`;
  try {
    await mkdir(brk);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    const age = await stat(brk).then((s) => Date.now() - s.mtimeMs, () => 0);
    if (age >= BREAK_STALE_MS) await rm(brk, { recursive: true, force: true });
    return false; // another command is breaking it; look again on the next try
  }
  try {
    const reason = await staleReason(dir).catch((err: unknown) => (missing(err) ? undefined : Promise.reject(err)));
    if (!reason) return false;
    log.debug(`lock: taking over ${dir}: ${reason}`);
    await rm(dir, { recursive: true, force: true });
    return true;
  } finally {
    await rm(brk, { recursive: true, force: true });
  }
}

async function tryTake(dir: string): Promise<boolean> {
  try {
    await mkdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    let reason: string | undefined;
    try {
      reason = await staleReason(dir);
    } catch (err) {
      if (missing(err)) return tryTake(dir); // released while we looked
      throw err;
    }
    if (!reason) return false;
    // Removed: take it now (another taker's mkdir may win, then we wait for it like for any holder).
    return (await breakStale(dir)) ? tryTake(dir) : false;
  }
  // Written to a temp name and renamed so that a reader sees either no pid or the whole pid, never a prefix
  // (which could be a live, unrelated pid).
  await writeFile(`${dir}/pid.tmp`, `${process.pid}\n`);
  await rename(`${dir}/pid.tmp`, `${dir}/pid`);
  return true;
}

export async function withLock<T>(fn: () => Promise<T>, opts: { timeoutS?: number; dir?: string } = {}): Promise<T> {
  const dir = opts.dir ?? LOCK_DIR;
  const deadline = Date.now() + (opts.timeoutS ?? 60) * 1000;
  await mkdir(dir.replace(/\/[^/]+$/, ''), { recursive: true });
  let waited = false;
  while (!(await tryTake(dir))) {
    if (Date.now() >= deadline) {
      throw new BusyError(`another imgbase command holds ${dir}; try again when it has finished`);
    }
    if (!waited) log.info('waiting for another imgbase command to finish');
    waited = true;
    await new Promise((r) => setTimeout(r, 200));
  }
  try {
    return await fn();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
