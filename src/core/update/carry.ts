// What `imgbase update` carries besides /etc, pure: the files the admin added, changed or removed anywhere in the
// running layer (/var/lib/myapp, /opt, /srv, /root, /usr/local ...), replayed onto the new image with the /etc
// merge's three-way rules (etc-merge mergeTrees). Three listings of the tree, walked one filesystem only (mounts,
// data volumes among them, are not entered): the old base, the running layer, the new image.
//
// Left out, each with the reason --dry-run and the README give: what the image owns or regenerates, the kernel's and
// the running system's trees, /etc (its own merge), a data volume's mount point and what lies below (shared by every
// layer, never copied), and every path an installed package owns (a package's files come from the package: the
// admin's packages are installed again, not copied).
import type { TreeEntry } from '../diff';
import { validateDataPath } from '../data';
import { formatSize } from '../space';
import { mergeTrees, type EtcMerge, type Tree } from './etc-merge';

/** A rule: `path` (no leading slash) and all below it are left out for `why`, or carried when `why` is null. */
export interface CarryRule {
  path: string;
  why: string | null;
}

const IMAGE_FILES = "the image's programs and libraries";
const VOLATILE = 'a kernel or per-boot file system, or temporary files';

/** The fixed rules; the data volumes' mount points are added per host (carryScope). */
export const CARRY_RULES: readonly CarryRule[] = [
  { path: 'etc', why: 'merged on its own (the /etc merge)' },
  { path: 'usr', why: IMAGE_FILES },
  { path: 'usr/local', why: null },
  ...['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32'].map((path) => ({ path, why: IMAGE_FILES })),
  { path: 'boot', why: "kernels and boot entries: the new image's own, written by imgbased" },
  ...['proc', 'sys', 'dev', 'run', 'tmp', 'var/tmp', 'lost+found'].map((path) => ({ path, why: VOLATILE })),
  { path: 'var/lib/dpkg', why: "the image's package database" },
  { path: 'var/lib/apt', why: "the image's package lists" },
  { path: 'var/lib/ucf', why: "the image's record of its configuration files" },
  { path: 'var/backups', why: "copies of the old image's package database" },
  { path: 'var/cache', why: 'a cache: rebuilt when needed' },
  { path: 'var/lib/systemd', why: 'per-boot state of systemd (timers, random seed, journal catalog)' },
  { path: 'var/lib/imgbased', why: "imgbased's own record of each layer" },
  { path: 'var/log', why: 'logs are no state to copy (a data volume by default)' },
];

export const DATA_VOLUME_WHY = 'a data volume (its mount point and below): shared by every layer, never copied; systemd makes a missing mount point';
export const PACKAGE_WHY = 'owned by an installed package: it comes from the package, not from a copy';

export interface CarryScope {
  /** Why `path` (a walker key) is left out, or null: carried. */
  leftOut(path: string): string | null;
  /** Whether the walker enters directory `dir`: something below it may be carried. */
  enter(dir: string): boolean;
  /** The rules in force (fixed and per host), for --dry-run --json and the docs. */
  rules: readonly CarryRule[];
}

const within = (path: string, root: string): boolean => path === root || path.startsWith(`${root}/`);

/**
 * The scope for a host: the fixed rules, its data volumes' mount points (`dataPaths`, absolute), and the paths its
 * installed packages own (`packageOwned`, walker keys). A package-owned path is left out alone, not with what is
 * below it: a package's directory (/opt, /srv/www) holds the admin's files too.
 */
export function carryScope(dataPaths: readonly string[], packageOwned: ReadonlySet<string>): CarryScope {
  const rules: CarryRule[] = [
    ...CARRY_RULES,
    ...dataPaths.map((p) => p.replace(/^\/+|\/+$/g, '')).filter(Boolean).map((path): CarryRule => ({ path, why: DATA_VOLUME_WHY })),
  ];
  // The most specific rule decides: /usr/local is carried inside a /usr that is not.
  const ruleFor = (path: string): CarryRule | undefined => {
    let best: CarryRule | undefined;
    for (const r of rules) {
      const hit = within(path, r.path);
      if (hit && (!best || r.path.length > best.path.length)) best = r;
    }
    return best;
  };
  const leftOut = (path: string): string | null => ruleFor(path)?.why ?? (packageOwned.has(path) ? PACKAGE_WHY : null);
  return {
    leftOut,
    // What a child of dir falls under, or a carried rule further down (/usr for /usr/local).
    enter: (dir) => (ruleFor(`${dir}/`)?.why ?? null) === null || rules.some((r) => r.why === null && r.path.startsWith(`${dir}/`)),
    rules,
  };
}

/** The paths the packages' file lists (dpkg's info/*.list: one absolute path a line, "/." for the top) name. */
export function packageOwnedPaths(lists: Iterable<string>): Set<string> {
  const out = new Set<string>();
  for (const text of lists) {
    for (const line of text.split('\n')) {
      const key = line.replace(/^\/+|\/+$/g, '');
      if (key !== '' && key !== '.') out.add(key);
    }
  }
  return out;
}

/** Contents read so far: the sha256 of a file of one tree, by walker key. */
export type Digests = Record<Tree, ReadonlyMap<string, string>>;

export interface CarriedPath {
  /** Absolute, as shown. */
  path: string;
  change: 'added' | 'modified' | 'removed';
  /** What is copied: a file's size; an added directory's files with all below it. */
  bytes: number;
  /** An added directory: the paths below it carried with it (not listed on their own). */
  entries?: number;
}

export interface CarryPlan {
  merge: EtcMerge;
  /** One line each: an added directory folded with what is below it. */
  carried: CarriedPath[];
  bytes: number;
}

export type CarryRound = { done: CarryPlan } | { read: Array<{ tree: Tree; path: string }> };

/**
 * The merge of the three listings, given the contents read so far. Metadata first, as `imgbase diff` judges: a file
 * of the same size and mtime is the same; one of the same size and another mtime is judged by its contents, which
 * the caller reads (`read`) and passes in on the next round — only for the paths the merge asks about, so the new
 * image's contents are read only where the admin changed something.
 */
export function carryRound(old: ReadonlyMap<string, TreeEntry>, admin: ReadonlyMap<string, TreeEntry>, next: ReadonlyMap<string, TreeEntry>, scope: CarryScope, digests: Digests): CarryRound {
  const read = new Map<string, { tree: Tree; path: string }>();
  const need = (tree: Tree, path: string): void => {
    if (!digests[tree].has(path)) read.set(`${tree}\0${path}`, { tree, path });
  };
  const same = (path: string, a: TreeEntry, ta: Tree, b: TreeEntry, tb: Tree): boolean => {
    if (a.kind !== b.kind || a.mode !== b.mode || a.uid !== b.uid || a.gid !== b.gid || a.link !== b.link || a.rdev !== b.rdev) return false;
    if (a.kind !== 'file' || (a.size === b.size && a.mtimeNs === b.mtimeNs)) return true;
    if (a.size !== b.size) return false;
    const da = digests[ta].get(path);
    const db = digests[tb].get(path);
    if (da !== undefined && db !== undefined) return da === db;
    if (da === undefined) need(ta, path);
    if (db === undefined) need(tb, path);
    // Unknown yet: "untouched by the admin" for this round keeps the merge from asking about the new image before
    // it is known that the admin changed the path. A round that asks for contents is never the answer.
    return ta === 'old' && tb === 'admin';
  };
  // The top is the new image's own; a socket is a live endpoint of a running program, no state.
  const skipped = (path: string): boolean => path === '' || scope.leftOut(path) !== null || admin.get(path)?.kind === 'socket' || old.get(path)?.kind === 'socket';
  const merge = mergeTrees(old, admin, next, { same, skipped, target: (e) => e.link ?? '', shown: (p) => `/${p}` });
  if (read.size > 0) return { read: [...read.values()] };
  const carried = foldCarried(merge, admin);
  return { done: { merge, carried, bytes: carried.reduce((n, c) => n + c.bytes, 0) } };
}

const sizeOf = (e: TreeEntry | undefined): number => (e?.kind === 'file' ? e.size : 0);

/** The merge's carried paths as lines: what is below an added directory (or one that replaced a file) folds into it. */
function foldCarried(merge: EtcMerge, admin: ReadonlyMap<string, TreeEntry>): CarriedPath[] {
  const out: CarriedPath[] = [];
  const roots = new Map<string, CarriedPath>();
  const rootOf = (p: string): CarriedPath | undefined => {
    for (let i = p.lastIndexOf('/'); i > 0; i = p.lastIndexOf('/', i - 1)) {
      const r = roots.get(p.slice(0, i));
      if (r) return r;
    }
    return undefined;
  };
  const trees = new Set(merge.actions.flatMap((a) => (a.kind === 'take-admin' && a.tree ? [a.path] : [])));
  for (const c of [...merge.carried].sort((x, y) => (x.path < y.path ? -1 : 1))) {
    const root = rootOf(c.path);
    if (root) {
      root.entries = (root.entries ?? 0) + 1;
      root.bytes += c.change === 'removed' ? 0 : sizeOf(admin.get(c.path));
      continue;
    }
    const line: CarriedPath = { path: `/${c.path}`, change: c.change, bytes: c.change === 'removed' ? 0 : sizeOf(admin.get(c.path)) };
    if (admin.get(c.path)?.kind === 'dir' && (c.change === 'added' || trees.has(c.path))) {
      roots.set(c.path, line);
      line.entries = 0;
    }
    out.push(line);
  }
  // A directory copied whole (it replaced a file) brings what is below it, listed or not by the merge.
  for (const path of trees) {
    const r = roots.get(path)!;
    let bytes = sizeOf(admin.get(path));
    let entries = 0;
    for (const [p, e] of admin) {
      if (p.startsWith(`${path}/`)) {
        bytes += sizeOf(e);
        entries++;
      }
    }
    r.bytes = bytes;
    r.entries = entries;
  }
  return out;
}

export type CarryPolicy = 'yes' | 'warn' | 'refuse';
export const CARRY_POLICIES: readonly CarryPolicy[] = ['yes', 'warn', 'refuse'];
export const DEFAULT_CARRY_LIMIT = 1024 ** 3;

/** How many of the largest carried paths a refusal or warning lists. */
const LISTED = 5;

/** "  /srv/www: added here (4.00KiB, 3 entries below)": one carried path for a terminal. */
export function carriedLine(c: CarriedPath): string {
  const below = c.entries ? `, ${c.entries} ${c.entries === 1 ? 'entry' : 'entries'} below` : '';
  return `  ${c.path}: ${c.change} here, ${c.change === 'removed' ? 'removed' : `carried (${formatSize(c.bytes, 'h')}${below})`}`;
}

/** The summing-up line after the list. */
export function carriedTotal(p: CarryPlan): string {
  return `  outside /etc: ${p.carried.length} path(s), ${formatSize(p.bytes, 'h')} in all${p.merge.conflicts.length ? `, ${p.merge.conflicts.length} conflict(s)` : ''}`;
}

/**
 * The directory to suggest as a data volume for a carried path: the shallowest one containing it that may be one
 * (/var/lib/myapp for /var/lib/myapp/db/x: /var and /var/lib may not).
 */
export function dataVolumeFor(path: string, isDir: boolean): string | null {
  const parts = path.split('/').filter(Boolean);
  for (let i = 1; i <= parts.length - (isDir ? 0 : 1); i++) {
    const p = `/${parts.slice(0, i).join('/')}`;
    if (validateDataPath(p) === null) return p;
  }
  return null;
}

export interface CarryDecision {
  /** Carry (yes, within the limit), go on without carrying (warn), or refuse the update. */
  outcome: 'carry' | 'skip' | 'refuse';
  /** The one line of the refusal or the warning. */
  message?: string;
  hint?: string;
  /** The largest carried paths, for the refusal or warning. */
  list: string[];
}

/**
 * What update does with the carry, decided before any write: over the limit, or any change at all under
 * `carry = refuse`, it refuses; under `carry = warn` it goes on without carrying (the old layer is kept: gc.ts).
 */
export function carryDecision(p: CarryPlan, policy: CarryPolicy, limit: number): CarryDecision {
  if (p.carried.length === 0) return { outcome: 'carry', list: [] };
  const largest = [...p.carried].sort((a, b) => b.bytes - a.bytes || (a.path < b.path ? -1 : 1));
  const list = largest.slice(0, LISTED).map(carriedLine);
  if (largest.length > LISTED) list.push(`  ... and ${largest.length - LISTED} more`);
  const volumes = [...new Set(largest.filter((c) => c.bytes > 0).map((c) => dataVolumeFor(c.path, c.entries !== undefined)).filter((v): v is string => v !== null))].slice(0, 3);
  const advice = volumes.length ? `move big directories to data volumes (${volumes.map((v) => `'imgbase data --add ${v}'`).join(', ')})` : 'remove what need not be kept';
  const total = `${p.carried.length} path(s) changed outside /etc, ${formatSize(p.bytes, 'h')}`;
  if (policy === 'refuse') {
    return { outcome: 'refuse', list, message: `update: ${total}, and carry = refuse: nothing changed`, hint: `${advice}, or set carry = yes or warn in the configuration` };
  }
  if (policy === 'warn') return { outcome: 'skip', list, message: `${total}, not carried (carry = warn)` };
  if (p.bytes > limit) {
    return {
      outcome: 'refuse', list,
      message: `update: ${total}, above carry-limit ${formatSize(limit, 'h')}: nothing changed`,
      hint: `${advice}, or raise carry-limit`,
    };
  }
  return { outcome: 'carry', list };
}
