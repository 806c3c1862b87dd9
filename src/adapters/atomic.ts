// Crash-safe file writes shared by both halves: a reader (or a power cut) sees the old file or the new one, never
// a half-written one. Temp file in the same directory, fsync, rename over, fsync the directory.
import { constants as fsc } from 'node:fs';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export async function fsyncPath(p: string, flags = fsc.O_RDONLY): Promise<void> {
  const fh = await open(p, flags);
  try {
    await fh.sync();
  } catch (e) {
    // Some filesystems cannot fsync a directory (EINVAL); the rename is still atomic there.
    if ((e as NodeJS.ErrnoException).code !== 'EINVAL') throw e;
  } finally {
    await fh.close();
  }
}

/**
 * `check` sees the complete temp file before it replaces `path`; when it throws, the temp file is removed and `path`
 * stays as it was (a GRUB menu that grub-script-check rejects must never become the one GRUB reads).
 */
export async function atomicWrite(path: string, content: string, mode = 0o644, check?: (tmp: string) => Promise<void>): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.tmp-${process.pid}`);
  const fh = await open(tmp, 'w', mode);
  try {
    await fh.writeFile(content);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    if (check) await check(tmp);
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fsyncPath(dir);
}
