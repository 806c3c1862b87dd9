// /etc trees for `imgbase update`: listed (what core/update/etc-merge compares) and changed (what it decided).
// The trees are mounted LVs: the old base and the running layer read-only, the new layer being made.
import { chmod, chown, lchown, lstat, mkdir, readFile, readdir, readlink, rename, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { AccountFile } from '../core/update/accounts';
import type { EtcAction, EtcEntry, FileKind } from '../core/update/etc-merge';
import { atomicWrite } from './atomic';
import { fileDigest } from './digest';
import { IMGNEW } from '../core/update/etc-merge';
import { run } from './exec';
import { log } from './log';

/**
 * Every xattr of every path under root (security.capability, user.*, trusted.* …), from one getfattr run. getfattr
 * (Debian's attr package) is a dependency: without it the update stops before writing, it never drops xattrs quietly.
 */
async function xattrsOf(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const r = await run('getfattr', ['--recursive', '--physical', '--absolute-names', '--dump', '--match=-', '--encoding=hex', root], { allowFail: true });
  // Blocks: "# file: PATH" then name=value lines, a blank line between files.
  for (const block of r.stdout.split('\n\n')) {
    const lines = block.split('\n').filter(Boolean);
    const head = lines[0];
    if (!head?.startsWith('# file: ')) continue;
    const path = head.slice('# file: '.length);
    if (path === root || !path.startsWith(`${root}/`)) continue;
    out.set(path.slice(root.length + 1), lines.slice(1).sort().join(' '));
  }
  return out;
}

function kindOf(s: { isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean }): FileKind {
  return s.isFile() ? 'file' : s.isDirectory() ? 'dir' : s.isSymbolicLink() ? 'symlink' : 'other';
}

/** The listing of root (an /etc), paths relative to it; symlinks are not followed. */
export async function listEtc(root: string): Promise<Map<string, EtcEntry>> {
  const xattrs = await xattrsOf(root);
  const out = new Map<string, EtcEntry>();
  const walk = async (rel: string): Promise<void> => {
    for (const name of (await readdir(join(root, rel))).sort()) {
      const p = rel ? `${rel}/${name}` : name;
      const full = join(root, p);
      const s = await lstat(full);
      const kind = kindOf(s);
      const content = kind === 'file' ? await fileDigest(full) : kind === 'symlink' ? await readlink(full) : kind === 'other' ? `rdev:${s.rdev}` : '';
      out.set(p, { kind, mode: s.mode & 0o7777, uid: s.uid, gid: s.gid, content, xattrs: xattrs.get(p) ?? '' });
      if (kind === 'dir') await walk(p);
    }
  };
  await walk('');
  return out;
}

const missing = (e: unknown): boolean => (e as NodeJS.ErrnoException).code === 'ENOENT';

/**
 * Whether every parent of rel in the tree is a real directory (or absent). A parent that is a symlink there would
 * take a write or a removal elsewhere — into the running system when the link is absolute.
 */
async function parentsAreDirs(root: string, rel: string): Promise<boolean> {
  const parts = rel.split('/').slice(0, -1);
  for (let i = 1; i <= parts.length; i++) {
    const s = await lstat(join(root, parts.slice(0, i).join('/'))).catch((e: unknown) => (missing(e) ? null : Promise.reject(e)));
    if (!s) return true;
    if (!s.isDirectory()) return false;
  }
  return true;
}

/** Parents of rel that next lacks, made with the admin's mode and owner. */
async function makeParents(adminRoot: string, nextRoot: string, rel: string): Promise<void> {
  const parts = rel.split('/').slice(0, -1);
  for (let i = 1; i <= parts.length; i++) {
    const p = parts.slice(0, i).join('/');
    const exists = await lstat(join(nextRoot, p)).then(() => true, (e: unknown) => (missing(e) ? false : Promise.reject(e)));
    if (exists) continue;
    const s = await lstat(join(adminRoot, p));
    await mkdir(join(nextRoot, p));
    await lchown(join(nextRoot, p), s.uid, s.gid);
    await chmod(join(nextRoot, p), s.mode & 0o7777);
  }
}

/** What applying left different from the plan (a directory the new image had put files in). */
export interface EtcApplyNote {
  path: string;
  note: string;
}

/**
 * Runs the merge's actions in their order on the new layer's /etc (or its whole tree: the carry outside /etc). Copies go through `cp -a` (mode, owner,
 * timestamps, xattrs, symlinks as they are); a directory's own metadata through chown/chmod.
 */
export async function applyEtc(actions: readonly EtcAction[], adminRoot: string, nextRoot: string): Promise<EtcApplyNote[]> {
  const notes: EtcApplyNote[] = [];
  for (const a of actions) {
    const dest = a.kind === 'take-admin' && a.into !== undefined ? a.into : a.path;
    const target = join(nextRoot, dest);
    if (!(await parentsAreDirs(nextRoot, dest))) {
      notes.push({ path: a.path, note: 'not carried: a directory above it is a symlink or a file in the new image' });
      continue;
    }
    if (a.kind === 'remove') {
      const s = await lstat(target).catch((e: unknown) => (missing(e) ? null : Promise.reject(e)));
      if (!s) continue;
      if (!s.isDirectory()) await rm(target);
      else {
        await rmdir(target).catch((e: unknown) => {
          if ((e as NodeJS.ErrnoException).code !== 'ENOTEMPTY') throw e;
          notes.push({ path: a.path, note: 'removed here, but the new image has files in it: kept' });
        });
      }
    } else if (a.kind === 'keep-new-aside') {
      await rm(`${target}${IMGNEW}`, { recursive: true, force: true });
      await rename(target, `${target}${IMGNEW}`);
    } else {
      await makeParents(adminRoot, nextRoot, dest);
      const src = join(adminRoot, a.path);
      const s = await lstat(src);
      if (s.isDirectory() && !a.tree) {
        await mkdir(target).catch((e: unknown) => ((e as NodeJS.ErrnoException).code === 'EEXIST' ? undefined : Promise.reject(e)));
        await lchown(target, s.uid, s.gid);
        await chmod(target, s.mode & 0o7777);
        continue;
      }
      // Whatever is there goes first: cp writes through a symlink in its way, and an absolute one points into the
      // running system, not the new layer (the merge set next's version aside when it mattered).
      await rm(target, { recursive: true, force: true });
      await run('cp', ['-a', '--no-target-directory', '--', src, target]);
      log.debug(`carry: ${a.why} ${a.path}`);
    }
  }
  return notes;
}

/** The accounts files of an /etc (absent ones as ''). */
export async function readAccountFiles(etc: string): Promise<Record<AccountFile, string>> {
  const read = (f: AccountFile): Promise<string> => readFile(join(etc, f), 'utf8').catch((e: unknown) => (missing(e) ? '' : Promise.reject(e)));
  return { passwd: await read('passwd'), group: await read('group'), shadow: await read('shadow'), gshadow: await read('gshadow') };
}

/** Replaces accounts files atomically, keeping each file's mode and owner (shadow is 0640 root:shadow on Debian). */
export async function writeAccountFiles(etc: string, files: Partial<Record<AccountFile, string>>): Promise<void> {
  for (const [f, text] of Object.entries(files) as Array<[AccountFile, string]>) {
    const path = join(etc, f);
    const was = await lstat(path).catch((e: unknown) => (missing(e) ? null : Promise.reject(e)));
    const mode = was ? was.mode & 0o7777 : f.endsWith('shadow') ? 0o640 : 0o644;
    await atomicWrite(path, text, mode);
    if (was) await chown(path, was.uid, was.gid);
    await chmod(path, mode);
  }
}
