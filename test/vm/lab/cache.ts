// Content hashes for cache keys, atomic publication of cache entries, and a cross-process lock.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open, rm, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** All regular files under `p` (or `p` itself), sorted, relative paths. Missing paths yield nothing. */
export function listFiles(p: string): string[] {
  if (!existsSync(p)) return [];
  const st = statSync(p);
  if (!st.isDirectory()) return [p];
  const out: string[] = [];
  for (const e of readdirSync(p, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const full = path.join(p, e.name);
    if (e.isDirectory()) out.push(...listFiles(full));
    else if (e.isFile() || e.isSymbolicLink()) out.push(full);
  }
  return out;
}

async function hashFile(h: ReturnType<typeof createHash>, file: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const s = createReadStream(file);
    s.on('data', (d) => h.update(d));
    s.on('end', () => resolve());
    s.on('error', reject);
  });
}

/**
 * sha256 over named strings and the content + mode of files (paths are hashed relative to `base`).
 * Short hex (16 chars) for readable cache names.
 */
export async function contentKey(parts: { strings?: string[]; files?: string[]; base: string }): Promise<string> {
  const h = createHash('sha256');
  for (const s of parts.strings ?? []) h.update(`s:${s}\0`);
  for (const root of parts.files ?? []) {
    for (const f of listFiles(root)) {
      const st = statSync(f);
      h.update(`f:${path.relative(parts.base, f)}:${st.mode & 0o111 ? 'x' : '-'}\0`);
      await hashFile(h, f);
      h.update('\0');
    }
  }
  return h.digest('hex').slice(0, 16);
}

/** Build a cache entry directory in a temp sibling and rename it into place (atomic publish). */
export async function publishDir(finalDir: string, build: (tmpDir: string) => Promise<void>): Promise<void> {
  const tmp = `${finalDir}.tmp-${process.pid}-${Date.now()}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  try {
    await build(tmp);
    await writeFile(path.join(tmp, 'COMPLETE'), new Date().toISOString() + '\n');
    rmSync(finalDir, { recursive: true, force: true });
    renameSync(tmp, finalDir);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    throw e;
  }
}

export function entryComplete(dir: string): boolean {
  return existsSync(path.join(dir, 'COMPLETE'));
}

export function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

export function writeJsonAtomic(file: string, value: unknown): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n');
  renameSync(tmp, file);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Cross-process lock: a file created with O_EXCL holding our pid. A lock whose pid is gone is stale and taken over.
 * Waits (polling) up to `timeoutS`; reports who holds it while waiting.
 */
export async function withLock<T>(lockFile: string, fn: () => Promise<T>, timeoutS = 3600): Promise<T> {
  mkdirSync(path.dirname(lockFile), { recursive: true });
  const start = Date.now();
  let announced = false;
  for (;;) {
    try {
      const fh = await open(lockFile, 'wx');
      await fh.writeFile(`${process.pid}\n`);
      await fh.close();
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let holder = NaN;
      try {
        holder = Number.parseInt(await readFile(lockFile, 'utf8'), 10);
      } catch {
        continue; // removed meanwhile
      }
      if (Number.isFinite(holder) && !pidAlive(holder)) {
        // Stale: remove only if it still names the dead pid.
        try {
          if (Number.parseInt(readFileSync(lockFile, 'utf8'), 10) === holder) rmSync(lockFile, { force: true });
        } catch {
          /* raced */
        }
        continue;
      }
      if (Date.now() - start > timeoutS * 1000) throw new Error(`lab: lock ${lockFile} held by pid ${holder} for over ${timeoutS}s`);
      if (!announced) {
        process.stderr.write(`lab: waiting for lock ${lockFile} (held by pid ${holder})\n`);
        announced = true;
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  try {
    return await fn();
  } finally {
    try {
      if (Number.parseInt(readFileSync(lockFile, 'utf8'), 10) === process.pid) rmSync(lockFile, { force: true });
    } catch {
      /* already gone */
    }
  }
}
