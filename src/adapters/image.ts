// Filesystem images for `base --add --from`: identify, size, and copy so only used blocks reach the thin pool.
import { open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { NotFoundError, UsageError } from '../core/errors';
import { baseNameFromOsRelease } from '../core/update/image-name';
import { run } from './exec';
import { fsType, withMounted } from './fs';
import { inTree } from './confine';

export interface ImageInfo {
  path: string;
  fsType: string;
  fsSizeBytes: number;
  usedBytes: number;
}

function field(text: string, key: string): number {
  const m = new RegExp(`^${key}\\s*[:=]\\s*(\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

async function describeImage(path: string): Promise<ImageInfo> {
  const type = await fsType(path);
  if (type.startsWith('ext')) {
    const r = await run('dumpe2fs', ['-h', path]);
    const bs = field(r.stdout, 'Block size');
    const count = field(r.stdout, 'Block count');
    const free = field(r.stdout, 'Free blocks');
    return { path, fsType: type, fsSizeBytes: count * bs, usedBytes: (count - free) * bs };
  }
  if (type === 'xfs') {
    const r = await run('xfs_db', ['-r', '-c', 'sb 0', '-c', 'print blocksize dblocks fdblocks', path]);
    const bs = field(r.stdout, 'blocksize');
    const count = field(r.stdout, 'dblocks');
    const free = field(r.stdout, 'fdblocks');
    return { path, fsType: type, fsSizeBytes: count * bs, usedBytes: (count - free) * bs };
  }
  throw new UsageError(`${path}: not an ext4/xfs filesystem image or a squashfs with LiveOS/rootfs.img (found "${type || 'unknown'}")`);
}

/**
 * Runs fn with the filesystem image inside `path` (a raw image, or a squashfs holding LiveOS/rootfs.img), a file or
 * a block device (an image written to a disk or partition, e.g. a USB stick). A mounted device is refused: its
 * filesystem may change while it is copied.
 */
export async function withImage<T>(path: string, fn: (info: ImageInfo) => Promise<T>): Promise<T> {
  const st = await stat(path).catch(() => null);
  if (!st) throw new NotFoundError(`image ${path} not found`);
  if (!(st.isFile() || st.isBlockDevice())) throw new UsageError(`image ${path} is neither a regular file nor a block device`);
  if (st.isBlockDevice()) {
    const m = await run('findmnt', ['-rn', '-o', 'TARGET', '-S', path], { allowFail: true });
    if (m.exitCode === 0 && m.stdout.trim()) throw new UsageError(`image ${path} is mounted on ${m.stdout.trim().split('\n').join(', ')}`, { hint: 'unmount it first' });
  }
  if ((await fsType(path)) === 'squashfs') {
    return withMounted(path, async (dir) => {
      const inner = `${dir}/LiveOS/rootfs.img`;
      if (!(await stat(inner).catch(() => null))) throw new UsageError(`${path}: squashfs has no LiveOS/rootfs.img`);
      return fn(await describeImage(inner));
    }, { readOnly: true, loop: true });
  }
  return fn(await describeImage(path));
}

export async function copyImageSparse(image: string, dev: string, type: string): Promise<void> {
  const tty = Boolean(process.stderr.isTTY);
  if (type.startsWith('ext')) {
    // e2image copies only the blocks the filesystem uses; everything else stays unprovisioned in the pool.
    await run('e2image', ['-ra', ...(tty ? ['-p'] : []), image, dev], { stderrInherit: tty });
    return;
  }
  await copySkippingZeros(image, dev, tty);
}

const CHUNK = 4 << 20;
const BLOCK = 64 << 10;

/** Generic sparse copy: a thin LV reads zeros where nothing was written, so all-zero blocks are skipped. */
async function copySkippingZeros(image: string, dev: string, progress: boolean): Promise<void> {
  const src = await open(image, 'r');
  const dst = await open(dev, 'r+');
  try {
    // A block device's stat size is 0: ask the device.
    const total = (await src.stat()).size || Number((await run('blockdev', ['--getsize64', image])).stdout.trim());
    const buf = Buffer.alloc(CHUNK);
    let lastShown = -1;
    for (let pos = 0; pos < total; ) {
      const { bytesRead } = await src.read(buf, 0, Math.min(CHUNK, total - pos), pos);
      if (bytesRead === 0) break;
      for (let off = 0; off < bytesRead; off += BLOCK) {
        const end = Math.min(off + BLOCK, bytesRead);
        if (!isZero(buf, off, end)) await dst.write(buf, off, end - off, pos + off);
      }
      pos += bytesRead;
      const pct = Math.floor((pos * 100) / total);
      if (progress && pct !== lastShown) {
        process.stderr.write(`\rcopying ${image}: ${pct}%`);
        lastShown = pct;
      }
    }
    await dst.sync();
    if (progress) process.stderr.write('\n');
  } finally {
    await src.close();
    await dst.close();
  }
}

function isZero(buf: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i += 8) {
    if (buf.readBigUInt64LE(i) !== 0n) return false;
  }
  return true;
}

export async function growFs(dev: string): Promise<void> {
  const type = await fsType(dev);
  if (type.startsWith('ext')) {
    await run('e2fsck', ['-fp', dev], { allowFail: true });
    await run('resize2fs', [dev]);
  } else if (type === 'xfs') {
    await withMounted(dev, (dir) => run('xfs_growfs', [dir]).then(() => undefined));
  }
}

/** The base name an image tree gives itself (os-release: IMAGE_ID/ID and IMAGE_VERSION/VERSION_ID), unless given. */
/** A tree's os-release text (etc/os-release, else usr/lib/os-release; '' when it has neither), read inside the tree. */
export async function osReleaseOfTree(dir: string): Promise<string> {
  return (await readFile(await inTree(dir, 'etc/os-release'), 'utf8').catch(() => null)) ?? (await readFile(await inTree(dir, 'usr/lib/os-release'), 'utf8').catch(() => ''));
}

export async function baseNameOfTree(dir: string, given: string | undefined, verb: string): Promise<string> {
  if (given !== undefined) return given;
  const n = baseNameFromOsRelease(await osReleaseOfTree(dir));
  if ('error' in n) throw new UsageError(`${verb}: ${n.error}`);
  return n.name;
}
