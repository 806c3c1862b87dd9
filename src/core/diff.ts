// `imgbase diff`, pure: two listings of a filesystem tree (a layer's and its base's, or any two bases and layers)
// compared. Metadata first; contents are read (by the adapter) only for the files this comparison cannot judge
// alone: same size, different mtime. Then the changes are rendered, one line per path, or as JSON.
//
// Paths are relative to the tree's top, without a leading slash ('' is the top itself). The walker
// (adapters/tree-walk) keeps each byte of a name as one character (latin1), so ordering by code unit is C order and
// a name that is not UTF-8 survives; it is decoded for display only after the comparison.

export type EntryKind = 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket';

export interface TreeEntry {
  kind: EntryKind;
  /** Permission bits with setuid, setgid and sticky (st_mode & 07777). */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtimeNs: bigint;
  /** A symlink's target. */
  link?: string;
  /** A char or block device's number (st_rdev). */
  rdev?: number;
}

export type Listing = ReadonlyMap<string, TreeEntry>;

export interface Transition<T> {
  from: T;
  to: T;
}

/**
 * One changed path, from the first listing (the older: a base, or --against) to the second (the layer). A directory
 * added or removed, or whose type changed from or to a directory, is one change: `below` counts the paths under it,
 * which are not listed on their own.
 */
export type Change =
  | { path: string; change: 'added' | 'removed'; kind: EntryKind; link?: string; below?: number }
  | { path: string; change: 'type'; from: EntryKind; to: EntryKind; link?: string; below?: number }
  | {
      path: string;
      change: 'modified';
      kind: EntryKind;
      content?: true;
      mode?: Transition<number>;
      owner?: Transition<string>;
      link?: Transition<string>;
      rdev?: Transition<number>;
    };

export interface Comparison {
  /** What metadata alone shows, sorted by path. */
  changes: Change[];
  /** Files of the same size whose mtime differs: whether their contents differ decides (finishComparison). */
  contentChecks: string[];
}

const byPath = (x: { path: string }, y: { path: string }): number => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0);

/**
 * Whether `path` lies below one of `roots` (data volume mount points): what is there is not the tree's. A root
 * itself is compared, as find -xdev lists a mount point but does not enter it.
 */
export function isExcluded(path: string, roots: readonly string[]): boolean {
  return roots.some((r) => path.startsWith(`${r}/`));
}

/** The nearest ancestor of `path` that is folded into one change (a directory added, removed or retyped). */
function foldedInto(path: string, folds: ReadonlyMap<string, { below?: number }>): { below?: number } | undefined {
  for (let i = path.lastIndexOf('/'); i > 0; i = path.lastIndexOf('/', i - 1)) {
    const f = folds.get(path.slice(0, i));
    if (f) return f;
  }
  return undefined;
}

function metadataChange(path: string, a: TreeEntry, b: TreeEntry): Change | null {
  const m: Extract<Change, { change: 'modified' }> = { path, change: 'modified', kind: b.kind };
  if (a.mode !== b.mode) m.mode = { from: a.mode, to: b.mode };
  if (a.uid !== b.uid || a.gid !== b.gid) m.owner = { from: `${a.uid}:${a.gid}`, to: `${b.uid}:${b.gid}` };
  if (a.link !== b.link) m.link = { from: a.link ?? '', to: b.link ?? '' };
  if (a.rdev !== b.rdev) m.rdev = { from: a.rdev ?? 0, to: b.rdev ?? 0 };
  if (a.kind === 'file' && a.size !== b.size) m.content = true;
  return m.mode || m.owner || m.link || m.rdev || m.content ? m : null;
}

/**
 * `a` (the older tree) against `b`. Compared: kind, mode, owner, a symlink's target, a device's number, a file's
 * size; a directory's size and mtime are not (what changed in it is listed by path), nor any atime or ctime.
 * Paths below `exclude` are left out.
 */
export function compareListings(a: Listing, b: Listing, exclude: readonly string[] = []): Comparison {
  const paths = [...new Set([...a.keys(), ...b.keys()])].filter((p) => !isExcluded(p, exclude)).sort();
  // Sorted, a directory comes before every path under it, so its fold exists when they arrive.
  const folds = new Map<string, { below?: number }>();
  const changes: Change[] = [];
  const contentChecks: string[] = [];
  for (const path of paths) {
    const fold = foldedInto(path, folds);
    if (fold) {
      fold.below = (fold.below ?? 0) + 1;
      continue;
    }
    const ea = a.get(path);
    const eb = b.get(path);
    let c: Change | null;
    if (!ea || !eb) {
      const e = (ea ?? eb)!;
      c = { path, change: ea ? 'removed' : 'added', kind: e.kind, ...(e.link !== undefined ? { link: e.link } : {}) };
      if (e.kind === 'dir') folds.set(path, c);
    } else if (ea.kind !== eb.kind) {
      const link = ea.link ?? eb.link;
      c = { path, change: 'type', from: ea.kind, to: eb.kind, ...(link !== undefined ? { link } : {}) };
      if (ea.kind === 'dir' || eb.kind === 'dir') folds.set(path, c);
    } else {
      c = metadataChange(path, ea, eb);
      if (ea.kind === 'file' && ea.size === eb.size && ea.mtimeNs !== eb.mtimeNs) contentChecks.push(path);
    }
    if (c) changes.push(c);
  }
  return { changes, contentChecks };
}

/** The comparison finished: `differ` holds the checked files whose contents differ (the others are no change). */
export function finishComparison(cmp: Comparison, differ: ReadonlySet<string>): Change[] {
  const out = [...cmp.changes];
  const at = new Map(out.map((c, i) => [c.path, i]));
  for (const path of cmp.contentChecks.filter((p) => differ.has(p))) {
    const i = at.get(path);
    if (i === undefined) out.push({ path, change: 'modified', kind: 'file', content: true });
    else out[i] = { ...out[i]!, content: true } as Change;
  }
  return out.sort(byPath);
}

const KIND_WORDS: Record<EntryKind, string> = {
  file: 'file', dir: 'directory', symlink: 'symlink', char: 'char device', block: 'block device', fifo: 'fifo', socket: 'socket',
};

/** 0644, 4755: as chmod takes it. */
export function octal(mode: number): string {
  return mode.toString(8).padStart(4, '0');
}

/** major:minor of a Linux dev_t (glibc's encoding). */
export function deviceNumber(rdev: number): string {
  const d = BigInt(rdev);
  const major = ((d >> 8n) & 0xfffn) | ((d >> 32n) & ~0xfffn);
  const minor = (d & 0xffn) | ((d >> 12n) & ~0xffn);
  return `${major}:${minor}`;
}

/** "/etc/fstab"; a name with control characters, a backslash or a quote as a JSON string, so a line stays one line. */
export function displayPath(path: string): string {
  const p = `/${path}`;
  return /[\u0000-\u001f\u007f"\\]/.test(p) ? JSON.stringify(p) : p;
}

function kindNote(kind: EntryKind, link: string | undefined): string {
  return kind === 'symlink' ? `symlink to ${link ?? ''}` : KIND_WORDS[kind];
}

function belowNote(below: number | undefined): string {
  return below ? `, ${below} ${below === 1 ? 'entry' : 'entries'} below` : '';
}

/** The text output: one line per changed path, sorted. */
export function renderChanges(changes: readonly Change[]): string[] {
  return changes.map((c) => {
    const p = displayPath(c.path);
    if (c.change === 'modified') {
      const what: string[] = [];
      if (c.content) what.push('content');
      if (c.mode) what.push(`mode ${octal(c.mode.from)} -> ${octal(c.mode.to)}`);
      if (c.owner) what.push(`owner ${c.owner.from} -> ${c.owner.to}`);
      if (c.link) what.push(`target ${c.link.from} -> ${c.link.to}`);
      if (c.rdev) what.push(`device ${deviceNumber(c.rdev.from)} -> ${deviceNumber(c.rdev.to)}`);
      return `M ${p} (${what.join(', ')})`;
    }
    if (c.change === 'type') return `T ${p} (${kindNote(c.from, c.link)} -> ${kindNote(c.to, c.link)}${belowNote(c.below)})`;
    const note = c.kind === 'file' ? '' : ` (${kindNote(c.kind, c.link)}${belowNote(c.below)})`;
    return `${c.change === 'added' ? 'A' : 'D'} ${p}${note}`;
  });
}

/** The JSON output's changes: absolute paths, modes in octal. */
export function changesJson(changes: readonly Change[]): unknown[] {
  return changes.map((c) => {
    const path = `/${c.path}`;
    if (c.change !== 'modified') return { ...c, path };
    return {
      ...c,
      path,
      ...(c.mode ? { mode: { from: octal(c.mode.from), to: octal(c.mode.to) } } : {}),
      ...(c.rdev ? { rdev: { from: deviceNumber(c.rdev.from), to: deviceNumber(c.rdev.to) } } : {}),
    };
  });
}
