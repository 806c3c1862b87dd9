// imgbase diff: what a layer changed against its base or another base or layer. The two trees are listed and
// compared by core/diff; this file resolves the names, mounts the trees read-only and prints.
import { readFile } from 'node:fs/promises';
import { changesJson, compareListings, finishComparison, renderChanges, type Change } from '../core/diff';
import { dataVolumes } from '../core/data';
import { NotFoundError, UsageError } from '../core/errors';
import { findBase, findLayer, type Inventory, type LvRecord } from '../core/inventory';
import { inTree } from '../adapters/confine';
import { FSTAB, withLvReadOnly, withRootReadOnly } from '../adapters/fs';
import { withLock } from '../adapters/lock';
import { differingContents, displayName, walkKey, walkTree } from '../adapters/tree-walk';
import { lockTimeout, optValue, parseVerbArgs, printJson, type GlobalOpts } from './args';
import { loadInventory, requireLayer, requireLayout, runningLayer } from './context';

export const usage = `usage: imgbase diff LAYER [--against BASE|LAYER] [--json]

What LAYER changed against its base (or against another base or layer), one line per path, sorted (C order):
  A PATH                 added
  D PATH                 removed
  M PATH (WHAT, ...)     modified: content, mode 0644 -> 0600, owner 0:0 -> 1000:1000, target OLD -> NEW
                         (a symlink), device M:N -> M:N
  T PATH (OLD -> NEW)    type changed, e.g. (file -> symlink to /x)
A directory added or removed (or one that became something else) is one line, with the number of entries below
it; they are not listed. Other kinds than files are named: A /srv/l (symlink to /x).

Both trees are mounted read-only at a temp dir (a base or layer not active is activated for it, deactivated
after); the running layer is read through a read-only bind of / (its own filesystem: nothing mounted on it comes
along). Compared: type, mode, owner, size, symlink target, device number; contents only where the size is the
same and the mtime differs (a file touched but not changed is no change). Not compared: a directory's size and
times, atime, ctime, xattrs, hard links. Left out: what is below the mount point of a data volume (in either
tree's ${FSTAB}), and below the mount point of any other filesystem. Everything else is listed, also what the
system rewrites by itself: /var/log, /var/lib/systemd, /var/cache ... show up on a layer that has run.
  --against NAME  the base or layer to compare with (default: LAYER's base)
  --json          {"layer", "against", "excluded": [data volume paths], "changes": [{"path", "change": added |
                  removed | modified | type, "kind", ...}]}

It takes the imgbased lock (it activates and deactivates LVs): it waits for a writer (--lock-timeout S, default 60).
Exit 0 whether or not anything differs, 2 usage error, 3 not found, 4 another imgbase command kept the lock.`;

interface Tree {
  name: string;
  lv: LvRecord;
  running: boolean;
}

export async function diffCommand(argv: string[], g: GlobalOpts): Promise<number> {
  const args = parseVerbArgs(argv, { verb: 'diff', string: ['against'], usage });
  const names = args._.map(String);
  if (names.length !== 1) {
    throw new UsageError(names.length ? `diff: one LAYER, not ${names.join(' ')}` : 'diff: which layer?', { hint: "see 'imgbase diff --help'" });
  }
  const against = optValue(args, 'against', 'diff');
  // Under the lock: the trees are activated and deactivated, which must not cross a writer's steps.
  return withLock(async () => {
    const inv = await loadInventory();
    const { vg } = requireLayout(inv);
    const running = (await runningLayer(inv))?.name;
    const layer = layerNamed(inv, names[0]!);
    const otherName = against ?? layer.base;
    const other = findLayer(inv, otherName) ?? findBase(inv, otherName);
    if (!other) throw new NotFoundError(`no base or layer ${otherName}`, { hint: "see 'imgbase layout'" });
    const a: Tree = { name: other.name, lv: other.lv, running: other.name === running };
    const b: Tree = { name: layer.name, lv: layer.lv, running: layer.name === running };
    const { changes, excluded } = a.name === b.name ? { changes: [], excluded: [] } : await compareTrees(vg, a, b, inv.foreign);
    if (g.json) {
      printJson({ layer: b.name, against: a.name, excluded: excluded.map((p) => `/${p}`), changes: changesJson(changes) });
    } else {
      const lines = renderChanges(changes);
      if (lines.length) process.stdout.write(`${lines.join('\n')}\n`);
    }
    return 0;
  }, { timeoutS: lockTimeout(args) });
}

function layerNamed(inv: Inventory, name: string): ReturnType<typeof requireLayer> {
  if (!findLayer(inv, name) && findBase(inv, name)) {
    throw new UsageError(`diff: ${name} is a base; name a layer (a base goes with --against)`);
  }
  return requireLayer(inv, name);
}

function withTree<T>(vg: string, t: Tree, fn: (dir: string) => Promise<T>): Promise<T> {
  return t.running ? withRootReadOnly(fn) : withLvReadOnly(vg, t.name, t.lv.active, fn);
}

/** The data volume mount points named by the tree's fstab, as walker keys. */
async function dataMountPoints(dir: string, records: readonly LvRecord[], vg: string): Promise<string[]> {
  const fstab = await readFile(await inTree(dir, FSTAB), 'utf8').catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? '' : Promise.reject(e)));
  return dataVolumes(records, vg, fstab).flatMap((v) => (v.path ? [walkKey(v.path)] : [])).filter((k) => k !== '');
}

/** `a` (the older) against `b`, both mounted read-only meanwhile; paths and link targets decoded for display. */
async function compareTrees(vg: string, a: Tree, b: Tree, records: readonly LvRecord[]): Promise<{ changes: Change[]; excluded: string[] }> {
  return withTree(vg, a, (dirA) => withTree(vg, b, async (dirB) => {
    const exclude = [...new Set([...(await dataMountPoints(dirA, records, vg)), ...(await dataMountPoints(dirB, records, vg))])].sort();
    const cmp = compareListings(walkTree(dirA, { exclude }), walkTree(dirB, { exclude }), exclude);
    const changes = finishComparison(cmp, await differingContents(dirA, dirB, cmp.contentChecks));
    return { changes: changes.map(decoded), excluded: exclude.map(displayName) };
  }));
}

function decoded(c: Change): Change {
  const path = displayName(c.path);
  if (c.change !== 'modified') return { ...c, path, ...(c.link !== undefined ? { link: displayName(c.link) } : {}) };
  return { ...c, path, ...(c.link ? { link: { from: displayName(c.link.from), to: displayName(c.link.to) } } : {}) };
}
