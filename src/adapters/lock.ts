// One writer at a time. A directory lock in /run: mkdir is atomic, /run is empty after a power cut,
// and a holder that died is detected by its pid.
import { randomBytes } from 'node:crypto';
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
    // Take over by moving the dir aside (atomic; of two waiters only one succeeds), then check again that what
    // was moved is stale: another waiter may have taken over and locked anew since we looked. A plain
    // `rm -r dir` here would delete that new holder's lock.
    const aside = `${dir}.stale.${process.pid}.${randomBytes(4).toString('hex')}`;
    try {
      await rename(dir, aside);
    } catch (err) {
      if (missing(err)) return tryTake(dir);
      throw err;
    }
    if (!(await staleReason(aside))) {
      // Someone else's fresh lock: give it back. Should a third command have locked in this instant, the rename
      // fails and that lock is lost; the window is a few syscalls long and needs a stale lock to start with.
      await rename(aside, dir).catch((err: unknown) => log.debug(`lock: could not give back ${dir}: ${String(err)}`));
      return false;
    }
    log.debug(`lock: taking over ${dir}: ${reason}`);
    await rm(aside, { recursive: true, force: true });
    return tryTake(dir);
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
