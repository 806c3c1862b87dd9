import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { withLock } from '../../src/adapters/lock';
import { BusyError } from '../../src/core/errors';

let root: string;
let dir: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'imgbased-lock-'));
  dir = join(root, 'lock');
});
afterEach(() => rm(root, { recursive: true, force: true }));

/** A lock dir as another command (or a crash) left it; `ageS` sets the dir's and pid file's mtime in the past. */
async function held(pid: string, ageS = 0): Promise<void> {
  await mkdir(dir);
  await writeFile(join(dir, 'pid'), pid);
  const t = new Date(Date.now() - ageS * 1000);
  await utimes(join(dir, 'pid'), t, t);
  await utimes(dir, t, t);
}

/** Takes the lock with a short timeout; resolves to what the holder saw as pid inside. */
const take = (timeoutS = 0.5) => withLock(() => readFile(join(dir, 'pid'), 'utf8'), { dir, timeoutS });

describe('lock', () => {
  it('is taken, holds our pid whole, and leaves nothing behind', async () => {
    expect(await take()).toBe(`${process.pid}\n`);
    expect(await readdir(root)).toEqual([]);
  });

  it('a live pid blocks until the timeout with BusyError', async () => {
    await held(`${process.pid}\n`, 60);
    const t0 = Date.now();
    await expect(take(0.5)).rejects.toBeInstanceOf(BusyError);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(450);
    expect(await readFile(join(dir, 'pid'), 'utf8')).toBe(`${process.pid}\n`); // still theirs
  });

  it('a dead pid is taken over', async () => {
    const dead = spawnSync('true').pid!; // exited by the time spawnSync returns
    await held(`${dead}\n`);
    expect(await take()).toBe(`${process.pid}\n`);
    expect(await readdir(root)).toEqual([]);
  });

  it('an empty pid file older than the grace is taken over', async () => {
    await held('', 10);
    expect(await take()).toBe(`${process.pid}\n`);
    expect(await readdir(root)).toEqual([]);
  });

  it('a garbage pid file older than the grace is taken over', async () => {
    await held('12ab\n', 10);
    expect(await take()).toBe(`${process.pid}\n`);
  });

  it('a fresh empty pid file is respected (holder between mkdir and its pid write)', async () => {
    await held('');
    await expect(take(0.5)).rejects.toBeInstanceOf(BusyError);
    expect(await readdir(dir)).toEqual(['pid']);
  });

  it('a fresh lock dir without a pid file is respected', async () => {
    await mkdir(dir);
    await expect(take(0.5)).rejects.toBeInstanceOf(BusyError);
  });

  /** `n` commands race for one stale lock, each holding it `holdMs`; resolves to the most ever inside at once. */
  async function race(n: number, holdMs: number, timeoutS: number): Promise<number> {
    let inside = 0;
    let most = 0;
    const one = () =>
      withLock(async () => {
        most = Math.max(most, ++inside);
        await new Promise((r) => setTimeout(r, holdMs));
        inside--;
      }, { dir, timeoutS });
    await held('', 10); // all start by taking over the same stale dir
    await Promise.all(Array.from({ length: n }, one));
    return most;
  }

  it('three takers of one stale dir: one after the other, never two at once', async () => {
    expect(await race(3, 50, 5)).toBe(1);
    expect(await readdir(root)).toEqual([]);
  });

  it('many takers of one stale dir, many times: never two at once, never an error', async () => {
    for (let round = 0; round < 8; round++) {
      expect(await race(6, 5, 10)).toBe(1);
      expect(await readdir(root)).toEqual([]);
    }
  }, 30_000);

  it('a stale dir being broken by another command (fresh break dir) is left to it', async () => {
    await held('', 10);
    await mkdir(`${dir}.break`);
    await expect(take(0.5)).rejects.toBeInstanceOf(BusyError);
    expect(await readdir(root)).toEqual(['lock', 'lock.break']);
  });

  it('a break dir left by a killed command (older than 10 s) is cleared, then the stale lock taken', async () => {
    await held('', 10);
    await mkdir(`${dir}.break`);
    const t = new Date(Date.now() - 11_000);
    await utimes(`${dir}.break`, t, t);
    expect(await take(1)).toBe(`${process.pid}\n`);
    expect(await readdir(root)).toEqual([]);
  });
});
