// Every path imgbased reads or writes inside a mounted image, base or layer goes through here (core/confine says
// how): a symlink in the tree is followed as the tree itself would see it once booted, never out into this host.
import { lstat, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfinementError, resolveWithin, type Lookup } from '../core/confine';
import { ImgbasedError } from '../core/errors';

function lookupIn(root: string): Lookup {
  return async (rel) => {
    const s = await lstat(join(root, rel)).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' || e.code === 'ENOTDIR' ? null : Promise.reject(e)));
    if (!s) return 'missing';
    return s.isSymbolicLink() ? { link: await readlink(join(root, rel)) } : 'other';
  };
}

async function resolve(root: string, rel: string, followLast: boolean): Promise<string> {
  try {
    return join(root, await resolveWithin(rel, lookupIn(root), followLast));
  } catch (e) {
    if (e instanceof ConfinementError) throw new ImgbasedError(`the tree at ${root}: ${e.message}`);
    throw e;
  }
}

/** The host path of rel in the tree at root, every symlink resolved inside the tree: for reading. */
export function inTree(root: string, rel: string): Promise<string> {
  return resolve(root, rel, true);
}

/** The same, but the last component is not followed: for writing, which replaces that name. */
export function inTreeForWrite(root: string, rel: string): Promise<string> {
  return resolve(root, rel, false);
}

/**
 * A directory of the tree that imgbased mounts on or writes into (/proc, /etc …): it must be a real directory at its
 * own path (or missing, when `missingOk`: the caller makes it), not a symlink. A mount follows symlinks, and an image
 * whose /etc points elsewhere is no system whose /etc can be carried: refused, with what it points to.
 */
export async function realDirIn(root: string, rel: string, what: string, missingOk = false): Promise<string> {
  const p = await inTree(root, rel);
  const s = await lstat(p).catch(() => null);
  if (p !== join(root, rel)) {
    throw new ImgbasedError(`${what}: /${rel} in the tree is a symlink (to /${p.slice(root.length + 1)}); refused`, { hint: 'the image is not a usable system tree' });
  }
  if (s ? !s.isDirectory() : !missingOk) throw new ImgbasedError(`${what}: /${rel} in the tree is not a directory; refused`, { hint: 'the image is not a usable system tree' });
  return p;
}
