// A mounted tree listed for `imgbase diff` (core/diff compares two listings), and the contents compared where the
// listing cannot tell. lstat only: a symlink is an entry with its target, never followed (one to / stays a link).
// One filesystem, like find -xdev: a directory on another device than the top is listed, not entered.
//
// Names are kept byte for byte: read as Buffers, held as latin1 strings (one character per byte, so sorting is C
// order and a name that is not UTF-8 is still found again), decoded as UTF-8 for display only (displayName).
import { lstatSync, readdirSync, readlinkSync, type BigIntStats } from 'node:fs';
import { isExcluded, type EntryKind, type TreeEntry } from '../core/diff';
import { ImgbasedError } from '../core/errors';
import { fileDigest } from './digest';

/** What the walker asks of the filesystem (tests stand in for it, e.g. to give a directory another device). */
export interface WalkFs {
  lstat(p: Buffer): BigIntStats;
  readdir(p: Buffer): Buffer[];
  readlink(p: Buffer): Buffer;
}

/**
 * Node's synchronous calls: on a warm cache they list 139k paths of /usr in 0.8 s, the promise API in 3.3-4.5 s
 * (its per-call overhead, not the disk, is the cost), and the walk has nothing else to wait for.
 */
export const nodeWalkFs: WalkFs = {
  lstat: (p) => lstatSync(p, { bigint: true }),
  readdir: (p) => readdirSync(p, { encoding: 'buffer' }),
  readlink: (p) => readlinkSync(p, { encoding: 'buffer' }),
};

/** A path as the walker keys it (latin1, no leading or trailing slash): for exclusions given as text. */
export function walkKey(path: string): string {
  return Buffer.from(path.replace(/^\/+|\/+$/g, ''), 'utf8').toString('latin1');
}

/** A walker key (or link target) as text for the user. */
export function displayName(key: string): string {
  return Buffer.from(key, 'latin1').toString('utf8');
}

/** The host path of `rel` (a walker key) in the tree at `root`. */
export function hostPath(root: string, rel: string): Buffer {
  return rel === '' ? Buffer.from(root) : Buffer.concat([Buffer.from(`${root}/`), Buffer.from(rel, 'latin1')]);
}

const SLASH = Buffer.from('/');

function kindOf(s: BigIntStats): EntryKind | null {
  if (s.isFile()) return 'file';
  if (s.isDirectory()) return 'dir';
  if (s.isSymbolicLink()) return 'symlink';
  if (s.isCharacterDevice()) return 'char';
  if (s.isBlockDevice()) return 'block';
  if (s.isFIFO()) return 'fifo';
  return s.isSocket() ? 'socket' : null;
}

/** Gone between being listed and being read (a live tree: the running layer): left out, it is no error. */
function gone(e: unknown): null {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return null;
  throw e;
}

function unlessGone<T>(f: () => T): T | null {
  try {
    return f();
  } catch (e) {
    return gone(e);
  }
}

function entryOf(fs: WalkFs, full: Buffer, s: BigIntStats): TreeEntry | null {
  const kind = kindOf(s);
  if (!kind) return null;
  const e: TreeEntry = { kind, mode: Number(s.mode & 0o7777n), uid: Number(s.uid), gid: Number(s.gid), size: Number(s.size), mtimeNs: s.mtimeNs };
  if (kind === 'symlink') {
    const target = unlessGone(() => fs.readlink(full));
    if (!target) return null;
    e.link = target.toString('latin1');
  }
  if (kind === 'char' || kind === 'block') e.rdev = Number(s.rdev);
  return e;
}

export interface WalkOptions {
  /** Walker keys of data volume mount points: listed, not entered (core/diff isExcluded). */
  exclude?: readonly string[];
  /** Whether to enter a directory (a walker key): what update leaves out is not walked (core/update/carry). */
  enter?: (dir: string) => boolean;
  fs?: WalkFs;
}

/** Every path of the tree at root (the top itself as ''). */
export function walkTree(root: string, opts: WalkOptions = {}): Map<string, TreeEntry> {
  const fs = opts.fs ?? nodeWalkFs;
  const exclude = opts.exclude ?? [];
  const topStat = fs.lstat(hostPath(root, ''));
  if (!topStat.isDirectory()) throw new ImgbasedError(`${root} is not a directory`);
  const out = new Map<string, TreeEntry>([['', entryOf(fs, hostPath(root, ''), topStat)!]]);
  const dirs: Array<{ rel: string; full: Buffer }> = [{ rel: '', full: hostPath(root, '') }];
  while (dirs.length > 0) {
    const dir = dirs.pop()!;
    for (const name of unlessGone(() => fs.readdir(dir.full)) ?? []) {
      const rel = dir.rel === '' ? name.toString('latin1') : `${dir.rel}/${name.toString('latin1')}`;
      const full = Buffer.concat([dir.full, SLASH, name]);
      const s = unlessGone(() => fs.lstat(full));
      const e = s && entryOf(fs, full, s);
      if (!e) continue;
      out.set(rel, e);
      // `${rel}/` is below an excluded root exactly when rel is that root or below it.
      if (e.kind === 'dir' && s.dev === topStat.dev && !isExcluded(`${rel}/`, exclude) && (opts.enter?.(rel) ?? true)) dirs.push({ rel, full });
    }
  }
  return out;
}

/** How many files are read at once while comparing contents. */
const CONTENT_READERS = 4;

/** Of `paths` (walker keys, files in both trees), those whose contents differ between the trees at a and b. */
export async function differingContents(a: string, b: string, paths: readonly string[]): Promise<Set<string>> {
  const differ = new Set<string>();
  let next = 0;
  const reader = async (): Promise<void> => {
    while (next < paths.length) {
      const rel = paths[next++]!;
      // A file gone meanwhile (a live tree) changed: counted as differing.
      const [da, db] = await Promise.all([fileDigest(hostPath(a, rel)).catch(gone), fileDigest(hostPath(b, rel)).catch(gone)]);
      if (da === null || db === null || da !== db) differ.add(rel);
    }
  };
  await Promise.all(Array.from({ length: CONTENT_READERS }, reader));
  return differ;
}
