// Mounting and filesystem identity: the only places imgbased touches filesystems of LVs.
import { mkdir, mkdtemp, open, readFile, rm, rmdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fsckExitMeaning, fsckStatusFromLog } from '../core/fsck';
import { FSTYPE_PROBE_BYTES, fstypeOf } from '../core/fstype';
import { MOUNT_DIR } from '../core/paths';
import { run } from './exec';
import { inTreeForWrite } from './confine';
import { activateLv, deactivateLv, lvPath } from './lvm';

export type FsType = 'ext4' | 'ext3' | 'ext2' | 'xfs' | string;

/** blkid's name for the filesystem on dev ('' = none): "ext2", "ext3" and "ext4" apart, as users see them. */
export async function fsType(dev: string): Promise<FsType> {
  const r = await run('blkid', ['-p', '-o', 'value', '-s', 'TYPE', dev], { allowFail: true });
  return r.stdout.trim();
}

/**
 * Like fsType, without starting blkid for the two filesystems layers use: "ext4" for any ext (its driver mounts all
 * three) or "xfs" from the first bytes of dev. For the initramfs, where each command costs hundreds of ms under TCG.
 */
export async function quickFsType(dev: string): Promise<FsType> {
  const head = Buffer.alloc(FSTYPE_PROBE_BYTES);
  const f = await open(dev, 'r');
  try {
    await f.read(head, 0, head.length, 0);
  } finally {
    await f.close();
  }
  return fstypeOf(head) ?? fsType(dev);
}

/** fn run on a new temp dir under MOUNT_DIR once `mounts` (mount(8) arguments, the dir appended) ran on it. */
async function withMountDir<T>(mounts: string[][], fn: (dir: string) => Promise<T>): Promise<T> {
  await mkdir(MOUNT_DIR, { recursive: true });
  const dir = await mkdtemp(`${MOUNT_DIR}/m`);
  try {
    for (const args of mounts) await run('mount', [...args, dir]);
    return await fn(dir);
  } finally {
    await run('umount', [dir], { allowFail: true });
    await rmdir(dir).catch(() => undefined);
  }
}

export async function withMounted<T>(
  dev: string,
  fn: (dir: string) => Promise<T>,
  opts: { readOnly?: boolean; loop?: boolean } = {},
): Promise<T> {
  const type = await fsType(dev);
  const options = [opts.readOnly ? 'ro' : 'rw'];
  if (type === 'xfs') options.push('nouuid');
  if (opts.loop) options.push('loop');
  return withMountDir([['-o', options.join(','), dev]], fn);
}

/**
 * The filesystem mounted at / alone, read-only at a temp dir: a non-recursive bind (nothing mounted on / comes
 * along: not /boot, /proc or a data volume, and what they hide shows), then made read-only for this mount only.
 * Mounting the running root's device a second time read-only would not do: its superblock is mounted read-write, and
 * the kernel refuses a mount that would change that (get_tree_bdev: "Can't mount, would change RO state", EBUSY;
 * mount(8) says "already mounted"). Tried on a loop ext4 (kernel 6.18, util-linux 2.38): `mount -o ro` of the
 * mounted device fails, the bind then remount,bind,ro gives a read-only view while the first mount stays writable.
 */
export async function withRootReadOnly<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  return withMountDir([['--bind', '/'], ['-o', 'remount,bind,ro']], fn);
}

/** The LV mounted read-only for fn; activated for it (and deactivated after) when it was not active. */
export async function withLvReadOnly<T>(vg: string, lv: string, active: boolean, fn: (dir: string) => Promise<T>): Promise<T> {
  if (!active) await activateLv(vg, lv, { ignoreSkip: true });
  try {
    return await withMounted(lvPath(vg, lv), fn, { readOnly: true });
  } finally {
    if (!active) await deactivateLv(vg, lv).catch(() => undefined);
  }
}

/** A new, empty filesystem on dev (a data volume's LV, just created). */
export async function makeFs(dev: string, type: string): Promise<void> {
  if (type === 'xfs') await run('mkfs.xfs', ['-q', '-f', dev]);
  else await run('mkfs.ext4', ['-q', '-F', dev]);
}

/** What is in dir `from` copied onto the filesystem on dev: owners, modes, links, xattrs kept; one filesystem only. */
export async function copyDirInto(from: string, dev: string): Promise<void> {
  await withMounted(dev, async (dir) => {
    await run('cp', ['-a', '-x', '--', `${from}/.`, `${dir}/`]);
  });
}

/** Give a snapshot its own filesystem UUID so two layers never share one (mount by UUID stays unambiguous). */
export async function newFilesystemUuid(dev: string): Promise<void> {
  const type = await fsType(dev);
  if (type.startsWith('ext')) {
    // A snapshot of a mounted fs carries an unreplayed journal; -p replays it (fast, no full check).
    const replay = await run('e2fsck', ['-p', dev], { allowFail: true });
    if (replay.exitCode > 1) await checkFs(dev);
    const features = (await run('dumpe2fs', ['-h', dev], { allowFail: true })).stdout;
    // With metadata_csum, a new UUID would rewrite every checksum; csum_seed keeps the old seed so it is
    // instant. GRUB only reads /boot (its own partition), never a layer, so the newer feature is safe here.
    const seed = /^Filesystem features:.*\bmetadata_csum\b/m.test(features) ? ['-O', 'metadata_csum_seed'] : [];
    const r = await run('tune2fs', [...seed, '-U', 'random', dev], { input: 'y\n', allowFail: true });
    if (r.exitCode !== 0) {
      await checkFs(dev);
      await run('tune2fs', [...seed, '-U', 'random', dev], { input: 'y\n' });
    }
  } else if (type === 'xfs') {
    // Replay the log by mounting once, then change the UUID offline.
    await withMounted(dev, async () => undefined);
    await run('xfs_admin', ['-U', 'generate', dev]);
  }
}

export async function filesystemUuid(dev: string): Promise<string> {
  const r = await run('blkid', ['-p', '-o', 'value', '-s', 'UUID', dev], { allowFail: true });
  return r.stdout.trim();
}

export async function filesystemUsedBytes(dev: string): Promise<number | null> {
  const type = await fsType(dev);
  if (!type.startsWith('ext')) return null;
  const r = await run('dumpe2fs', ['-h', dev], { allowFail: true });
  const get = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(r.stdout)?.[1] ?? NaN);
  const used = (get('Block count') - get('Free blocks')) * get('Block size');
  return Number.isFinite(used) ? used : null;
}

/** ext: replay the journal and repair what is safe; exit 0/1 mean clean or fixed. */
export async function checkFs(dev: string): Promise<void> {
  const type = await fsType(dev);
  if (!type.startsWith('ext')) return;
  const r = await run('e2fsck', ['-fy', dev], { allowFail: true });
  if (r.exitCode > 1) throw new Error(`e2fsck ${dev} failed (exit ${r.exitCode})`);
}

/** What stock dracut runs on root= before mounting it (honours fsck.mode= and fsck.repair=). */
const SYSTEMD_FSCK = '/usr/lib/systemd/systemd-fsck';

/**
 * The initramfs's check of a root candidate: null = bootable, else why not. systemd-fsck when the initramfs has
 * systemd (it decides on fsck.mode=/fsck.repair= like the stock root), else `fsck -a` (exit 0 clean, 1 errors
 * corrected: both bootable).
 */
export async function bootFsck(dev: string): Promise<string | null> {
  const viaSystemd = await pathExists(SYSTEMD_FSCK);
  const r = viaSystemd
    ? await run(SYSTEMD_FSCK, [dev], { allowFail: true })
    : await run('fsck', ['-a', dev], { allowFail: true });
  if (r.exitCode === 0 || (!viaSystemd && r.exitCode === 1)) return null;
  const code = viaSystemd ? fsckStatusFromLog(r.stderr) : r.exitCode;
  if (code === null) {
    const last = r.stderr.split('\n').map((l) => l.trim()).filter(Boolean).at(-1);
    return `fsck failed: ${last ? last.slice(0, 200) : `systemd-fsck exit ${r.exitCode}`}`;
  }
  return `fsck failed (exit ${code}: ${fsckExitMeaning(code)})`;
}

export const FSTAB = '/etc/fstab';

/** The running system's fstab; null when it has none. */
export async function readFstab(): Promise<string | null> {
  return readFile(FSTAB, 'utf8').catch(() => null);
}

export async function pathExists(p: string): Promise<boolean> {
  return stat(p).then(() => true, () => false);
}

/** Host paths copied to the same paths in the tree at dir (owners, modes, links kept; never through its symlinks). */
export async function copyIn(dir: string, files: readonly string[]): Promise<void> {
  for (const f of files) {
    const at = await inTreeForWrite(dir, f);
    await mkdir(dirname(at), { recursive: true });
    await rm(at, { recursive: true, force: true });
    await run('cp', ['-a', '--no-target-directory', '--', f, at]);
  }
}
