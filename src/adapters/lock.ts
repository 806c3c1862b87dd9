// One writer at a time. A directory lock in /run: mkdir is atomic, /run is empty after a power cut,
// and a holder that died is detected by its pid.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { BusyError } from '../core/errors';
import { log } from './log';

export const LOCK_DIR = '/run/imgbased/lock';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function tryTake(dir: string): Promise<boolean> {
  try {
    await mkdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    const pid = Number((await readFile(`${dir}/pid`, 'utf8').catch(() => '')).trim());
    if (pid > 0 && alive(pid)) return false;
    if (!pid) return false; // holder is between mkdir and writing its pid
    log.debug(`lock: removing stale lock of pid ${pid}`);
    await rm(dir, { recursive: true, force: true });
    return tryTake(dir);
  }
  await writeFile(`${dir}/pid`, `${process.pid}\n`);
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
