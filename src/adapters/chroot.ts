// Running a tool of another tree (a new layer) in a chroot of it, with the API filesystems it needs: dracut (initramfs
// builds) and GRUB (install) must be the tree's own, not this host's.
import { mkdir } from 'node:fs/promises';
import { realDirIn } from './confine';
import { run } from './exec';

/** Refused before anything is written when the tree would have an API filesystem mounted through a symlink. */
export async function checkChrootable(dir: string, what: string): Promise<void> {
  for (const m of API_MOUNTS) await realDirIn(dir, m.at, what, true);
}

/** Mounted in this order under the tree, unmounted in the reverse. */
const API_MOUNTS: ReadonlyArray<{ at: string; args: string[] }> = [
  { at: 'proc', args: ['-t', 'proc', 'proc'] },
  { at: 'sys', args: ['-t', 'sysfs', 'sysfs'] },
  { at: 'dev', args: ['--bind', '/dev'] },
  { at: 'run', args: ['-t', 'tmpfs', 'tmpfs'] },
];

/** Runs fn with dir's API filesystems mounted (and, when asked, more bind mounts under it); unmounts all after. */
export async function withApiMounts<T>(dir: string, fn: (chroot: (cmd: string, args: string[]) => Promise<string>) => Promise<T>, extra: ReadonlyArray<{ dev: string; at: string }> = []): Promise<T> {
  const mounted: string[] = [];
  try {
    for (const m of [...API_MOUNTS.map((a) => ({ at: a.at, args: a.args })), ...extra.map((e) => ({ at: e.at, args: [e.dev] }))]) {
      const at = await realDirIn(dir, m.at, 'mounting in the new tree', true);
      await mkdir(at, { recursive: true });
      await run('mount', [...m.args, at]);
      mounted.push(at);
    }
    return await fn(async (cmd, args) => (await run('chroot', [dir, cmd, ...args])).stdout);
  } finally {
    for (const at of mounted.reverse()) {
      if ((await run('umount', [at], { allowFail: true })).exitCode !== 0) await run('umount', ['-l', at], { allowFail: true });
    }
  }
}
