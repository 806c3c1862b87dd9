// The /etc three-way merge of `imgbase update`, pure. Three listings of /etc:
//   old    the running layer's base: read-only, so it is the pristine /etc of the old image (no factory copy)
//   admin  the running layer: old + what the admin changed
//   next   the new image's base: what the new layer starts with
// The admin's changes (admin vs old) are replayed onto next; the admin wins where both changed a path, and the new
// image's version is kept beside it as PATH.imgnew. Nothing is merged line by line (OSTree does the same: "the
// modified version always wins"). Accounts (passwd & co.) are merged by name elsewhere (accounts.ts).

export type FileKind = 'file' | 'dir' | 'symlink' | 'other';

/** One path of a listing, relative to /etc ("ssh/sshd_config"). What counts as a change: all of it. */
export interface EtcEntry {
  kind: FileKind;
  mode: number;
  uid: number;
  gid: number;
  /** Content digest (files), link target (symlinks); '' for the others. */
  content: string;
  /** Extended attributes (SELinux label, file capabilities) as name=value, sorted. */
  xattrs: string;
}

export type Listing = ReadonlyMap<string, EtcEntry>;

export type EtcAction =
  /**
   * Copy the admin's version of path over next's: a file or symlink; a directory's own metadata, or with `tree` the
   * whole directory (it replaced a file: nothing under it is listed on its own). Missing parents are made with the
   * admin's metadata. With `into`, the admin's file is written there instead: the new image made path a symlink
   * to `into` (a path of the same tree), which stays.
   */
  | { kind: 'take-admin'; path: string; why: 'added' | 'modified'; tree?: true; into?: string }
  /** Remove path from the new layer; a directory only when empty then (the new image may have put files in it). */
  | { kind: 'remove'; path: string }
  /** Move next's version aside to `${path}.imgnew` (done before the take-admin of the same path). */
  | { kind: 'keep-new-aside'; path: string };

export type ConflictKind =
  /** Both changed the path: the admin's version stays, next's is PATH.imgnew. */
  | 'both-changed'
  /** The admin changed it, the new image removed it: the admin's version stays. */
  | 'removed-by-image'
  /** The admin removed it, the new image changed it: removed, next's is PATH.imgnew (a symlink: removed too). */
  | 'removed-by-admin'
  /** A file became a directory or the reverse on one side: the admin's side stays, next's is PATH.imgnew. */
  | 'kind-changed'
  /**
   * The admin's file is a symlink in the new image, to a path of the same tree the admin left alone (Debian 13's
   * /etc/default/locale -> ../locale.conf): the symlink stays and the admin's version is written where it points.
   */
  | 'became-symlink';

export interface EtcConflict {
  path: string;
  kind: ConflictKind;
  detail: string;
}

export interface EtcMerge {
  actions: EtcAction[];
  conflicts: EtcConflict[];
  /** The admin's changes carried, for the report and --dry-run: path -> added / modified / removed. */
  carried: Array<{ path: string; change: 'added' | 'modified' | 'removed' }>;
}

/**
 * Paths never carried: generated from the image's own files, so the admin's copy would describe the old image
 * (ld.so.cache lists the old /usr's libraries). The accounts files go through the account merge.
 */
export const NOT_CARRIED: readonly string[] = ['ld.so.cache', 'mtab', '.pwd.lock', 'passwd', 'passwd-', 'group', 'group-', 'shadow', 'shadow-', 'gshadow', 'gshadow-'];

export const IMGNEW = '.imgnew';

export function sameEntry(a: EtcEntry, b: EtcEntry): boolean {
  return a.kind === b.kind && a.mode === b.mode && a.uid === b.uid && a.gid === b.gid && a.content === b.content && a.xattrs === b.xattrs;
}

const isDir = (e: MergeEntry | undefined): boolean => e?.kind === 'dir';
const parentOf = (p: string): string | null => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : null);

/**
 * The admin's changes replayed onto next. Actions are ordered so that they can run as listed: parents before
 * children for what is taken, children before parents for what is removed, and a path's .imgnew move before the
 * admin's version lands there.
 */
export function mergeEtc(old: Listing, admin: Listing, next: Listing, opts: { skip?: readonly string[] } = {}): EtcMerge {
  const skip = new Set(opts.skip ?? NOT_CARRIED);
  const skipped = (p: string): boolean => {
    for (let q: string | null = p; q !== null; q = parentOf(q)) if (skip.has(q)) return true;
    return false;
  };
  return mergeTrees(old, admin, next, { same: (_p, a, _ta, b) => sameEntry(a, b), skipped, target: (e) => e.content, linkPath: (p, e) => linkPath(p, e.content) });
}

/**
 * Where a symlink at `path` points, as a path of the same tree (relative to its top, `/etc/x` read as `x` for
 * /etc), or null when it leads out of it or through `..` above its top.
 */
export function linkPath(path: string, target: string, top = 'etc'): string | null {
  let parts: string[];
  if (target.startsWith('/')) {
    const t = target.split('/').filter((x) => x && x !== '.');
    if (t[0] !== top) return null;
    parts = t.slice(1);
  } else parts = [...(parentOf(path)?.split('/') ?? []), ...target.split('/').filter((x) => x && x !== '.')];
  const out: string[] = [];
  for (const x of parts) {
    if (x !== '..') out.push(x);
    else if (!out.pop()) return null;
  }
  return out.length ? out.join('/') : null;
}

/** What mergeTrees needs of a listing's entries: whether one is a directory (kind 'dir'), a symlink, ... */
export interface MergeEntry {
  kind: string;
}

export interface MergeRules<E> {
  /** Whether `a` (from tree `ta`) and `b` (from tree `tb`) are the same at `path`: no change between them. */
  same: (path: string, a: E, ta: Tree, b: E, tb: Tree) => boolean;
  /** Paths left out of the merge (with all below them). */
  skipped: (path: string) => boolean;
  /** A symlink's target, to describe a conflict. */
  target: (e: E) => string;
  /** Where a symlink entry points inside the tree (see linkPath); without it no file follows a new symlink. */
  linkPath?: (path: string, e: E) => string | null;
  /** A path as a conflict names its .imgnew (default: as it is). */
  shown?: (path: string) => string;
}

export type Tree = 'old' | 'admin' | 'next';

/**
 * The three-way rules of the /etc merge for any listing (paths relative to the tree's top): the root carry of
 * `update` (core/update/carry) uses them too, with its own entries and its own notion of "the same".
 */
export function mergeTrees<E extends MergeEntry>(
  old: ReadonlyMap<string, E>, admin: ReadonlyMap<string, E>, next: ReadonlyMap<string, E>, rules: MergeRules<E>,
): EtcMerge {
  const { same, skipped } = rules;
  const imgnew = (path: string): string => `${rules.shown?.(path) ?? path}${IMGNEW}`;
  const describe = (e: E | undefined): string =>
    e === undefined ? 'absent' : e.kind === 'dir' ? 'a directory' : e.kind === 'symlink' ? `a symlink to ${rules.target(e)}` : `a ${e.kind}`;
  const paths = [...new Set([...old.keys(), ...admin.keys()])].filter((p) => !skipped(p)).sort();
  // A path under one that the admin replaced by another kind follows its parent (handled once, at the parent).
  const replaced = new Set<string>();
  const under = (p: string): boolean => {
    for (let q = parentOf(p); q !== null; q = parentOf(q)) if (replaced.has(q)) return true;
    return false;
  };
  const take: EtcAction[] = [];
  const removals: string[] = [];
  const conflicts: EtcConflict[] = [];
  const carried: EtcMerge['carried'] = [];
  const aside = (path: string): void => {
    take.push({ kind: 'keep-new-aside', path });
  };
  /**
   * Where the admin's file goes when next made its path a symlink (from a file, or from nothing) to a path of the
   * tree that is not a directory in next and that the admin left as it was in old; else null.
   */
  const followedLink = (path: string, o: E | undefined, a: E, n: E | undefined): string | null => {
    if (!n || n.kind !== 'symlink' || a.kind !== 'file' || (o && o.kind !== 'file') || !rules.linkPath) return null;
    const into = rules.linkPath(path, n);
    if (into === null || into === path || skipped(into) || isDir(next.get(into))) return null;
    const ao = old.get(into);
    const aa = admin.get(into);
    const untouched = ao && aa ? same(into, ao, 'old', aa, 'admin') : !ao && !aa;
    return untouched ? into : null;
  };

  for (const path of paths) {
    if (under(path)) continue;
    const o = old.get(path);
    const a = admin.get(path);
    const n = next.get(path);
    if (o && a && same(path, o, 'old', a, 'admin')) continue; // untouched by the admin: next's version, whatever it is
    if (!a) {
      // Removed by the admin (o exists).
      carried.push({ path, change: 'removed' });
      if (!n) continue;
      if (o!.kind === 'symlink' && n.kind === 'symlink' && !same(path, o!, 'old', n, 'next')) {
        // A link set aside would be noise (a unit's wants-link as NAME.service.imgnew): the admin's removal, a
        // disabled service, stands against a link the new image only re-pointed (/lib -> /usr/lib).
        conflicts.push({ path, kind: 'removed-by-admin', detail: `removed here, ${describe(n)} in the new image: removed too` });
        removals.push(path);
      } else if (!same(path, o!, 'old', n, 'next') && !(isDir(o) && isDir(n))) {
        conflicts.push({ path, kind: 'removed-by-admin', detail: `removed here, changed by the new image (kept as ${imgnew(path)})` });
        aside(path);
      } else removals.push(path);
      continue;
    }
    const change = o ? 'modified' : 'added';
    const kindChanged = (o && isDir(o) !== isDir(a)) || (n && isDir(n) !== isDir(a));
    if (kindChanged) {
      carried.push({ path, change });
      if (isDir(a) !== isDir(o)) replaced.add(path);
      if (n && !same(path, a, 'admin', n, 'next')) {
        conflicts.push({ path, kind: 'kind-changed', detail: `${describe(a)} here, ${describe(o)} in the old image, ${describe(n)} in the new one (the new one kept as ${imgnew(path)})` });
        aside(path);
      }
      take.push(isDir(a) ? { kind: 'take-admin', path, why: change, tree: true } : { kind: 'take-admin', path, why: change });
      continue;
    }
    if (n && same(path, a, 'admin', n, 'next')) continue; // the new image made the same change
    carried.push({ path, change });
    if (isDir(a)) {
      // A directory's own metadata; its contents are paths of their own. Next's directory is not set aside.
      take.push({ kind: 'take-admin', path, why: change });
      continue;
    }
    const into = followedLink(path, o, a, n);
    if (into !== null) {
      conflicts.push({ path, kind: 'became-symlink', detail: `${change} here, ${describe(n)} in the new image: the symlink kept, this version written to ${rules.shown?.(into) ?? into}` });
      take.push({ kind: 'take-admin', path, why: change, into });
      continue;
    }
    if (!n && o) conflicts.push({ path, kind: 'removed-by-image', detail: 'changed here, removed by the new image (kept)' });
    if (n && (!o || !same(path, o, 'old', n, 'next'))) {
      conflicts.push({ path, kind: 'both-changed', detail: `${change} here and in the new image (the new one kept as ${imgnew(path)})` });
      aside(path);
    }
    take.push({ kind: 'take-admin', path, why: change });
  }
  // Deepest first, so a removed directory is already empty of what is removed under it.
  const removeActions = removals
    .sort((x, y) => y.split('/').length - x.split('/').length || (x < y ? -1 : 1))
    .map((path): EtcAction => ({ kind: 'remove', path }));
  return { actions: [...removeActions, ...take], conflicts, carried };
}
