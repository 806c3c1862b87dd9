// The trees `imgbase update` compares for the carry outside /etc (core/update/carry decides): walked as `imgbase
// diff` walks them (one filesystem, lstat only, what is left out not entered), contents read only where the merge
// asks. The new image's tree is hostile: only paths its own walk found as files are read, never through a symlink.
import { readdir, readFile } from 'node:fs/promises';
import type { TreeEntry } from '../core/diff';
import { carryRound, type CarryPlan, type CarryScope, type Digests } from '../core/update/carry';
import type { Tree } from '../core/update/etc-merge';
import { fileDigest } from './digest';
import { log } from './log';
import { displayName, hostPath, walkTree } from './tree-walk';

const DPKG_INFO = 'var/lib/dpkg/info';

/** The file lists of the packages installed in the tree at root (dpkg's info/*.list); none on a tree without dpkg. */
export async function readPackageLists(root: string): Promise<string[]> {
  const names = await readdir(`${root}/${DPKG_INFO}`).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? [] : Promise.reject(e)));
  return Promise.all(names.filter((n) => n.endsWith('.list')).map((n) => readFile(`${root}/${DPKG_INFO}/${n}`, 'latin1')));
}

export type CarryTrees = Record<Tree, string>;

const NOT_UTF8 = 'a name that is not UTF-8: copied by name it would change';

/** Whether a walker key (latin1, one character a byte) is valid UTF-8, so the copy finds it again by its text. */
const utf8 = (key: string): boolean => Buffer.from(displayName(key), 'utf8').toString('latin1') === key;

/** A plan's paths as text (the walker keys decoded): what the apply step and the report use. */
function decoded(p: CarryPlan): CarryPlan {
  const d = <T extends { path: string }>(x: T): T => ({ ...x, path: displayName(x.path) });
  return { ...p, carried: p.carried.map(d), merge: { actions: p.merge.actions.map(d), conflicts: p.merge.conflicts.map((c) => ({ ...d(c), detail: displayName(c.detail) })), carried: p.merge.carried.map(d) } };
}

/** The three trees listed, then merged, reading the contents the merge asks for, round by round. */
export async function planCarryTrees(dirs: CarryTrees, given: CarryScope): Promise<CarryPlan> {
  const scope: CarryScope = { ...given, leftOut: (p) => given.leftOut(p) ?? (utf8(p) ? null : NOT_UTF8) };
  const list = (t: Tree): Map<string, TreeEntry> => walkTree(dirs[t], { enter: scope.enter });
  const [old, admin, next] = [list('old'), list('admin'), list('next')];
  log.debug(`carry: listed ${old.size} + ${admin.size} + ${next.size} paths`);
  const digests: Record<Tree, Map<string, string>> = { old: new Map(), admin: new Map(), next: new Map() };
  for (;;) {
    const r = carryRound(old, admin, next, scope, digests as Digests);
    if ('done' in r) return decoded(r.done);
    log.debug(`carry: reading ${r.read.length} file(s) to compare contents`);
    for (const { tree, path } of r.read) {
      // Gone meanwhile (a live tree): a digest no other file has, so it counts as changed.
      digests[tree].set(path, await fileDigest(hostPath(dirs[tree], path)).catch(() => `gone:${tree}`));
    }
  }
}
