// Kernels of bases: found inside an LV's tree before planning (probe), copied to /boot when a plan says so. The copy
// is assembled in a temporary directory that is renamed into place, so /boot never holds half a kernel copy under
// the name an entry uses; into an existing directory (kernel-install) each file is written under a temporary name
// and renamed, and older files there go only in the plan's last phase.
import { copyFile, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { inTree } from './confine';
import { ImgbasedError } from '../core/errors';
import { KERNEL_RE, OS_RELEASE_COPY, TEMP_MARK, initrdNamesFor } from '../core/boot-plan';
import { rpmvercmp } from '../core/naming';
import type { KernelFileRef, KernelSource, Step } from '../core/steps';
import type { FileStamp, KernelStamp } from '../core/enter';
import { atomicWrite, fsyncPath } from './atomic';
import { fsType, pathExists, withMounted } from './fs';
import { activateLv, deactivateLv, lvPath } from './lvm';
import { log } from './log';

/** Kernel files found in a tree, as absolute paths on this system. */
export interface KernelFiles {
  version: string;
  kernel: string;
  initrd: string | null;
  osRelease: string | null;
}

async function listDir(p: string): Promise<string[]> {
  return readdir(p).catch(() => [] as string[]);
}

async function firstExisting(paths: string[]): Promise<string | null> {
  for (const p of paths) if (await pathExists(p)) return p;
  return null;
}

/**
 * Kernel files inside a root tree: for each /usr/lib/modules/<ver> (newest first) the image from <root>/boot or
 * /usr/lib/modules/<ver>/vmlinuz, else — for a base made from a host whose /boot is a separate partition — from the
 * live bootDir; the initrd likewise.
 */
export async function findKernelInTree(root: string, liveBoot: string | null): Promise<KernelFiles | null> {
  // Inside the tree, every path as the tree itself resolves it: an image's symlink never reaches this host's files.
  const at = (rel: string): Promise<string> => inTree(root, rel);
  const modRels = ['usr/lib/modules', 'lib/modules'];
  const versions = new Set<string>();
  for (const d of modRels) for (const v of await listDir(await at(d))) versions.add(v);
  // Trees without modules (tests, odd images): kernels in the tree's /boot.
  for (const n of await listDir(await at('boot'))) {
    const v = KERNEL_RE.exec(n)?.[1];
    if (v) versions.add(v);
  }
  const osRelease = (await readFile(await at('etc/os-release'), 'utf8').catch(() => null))
    ?? (await readFile(await at('usr/lib/os-release'), 'utf8').catch(() => null));
  for (const v of [...versions].sort((a, b) => -rpmvercmp(a, b))) {
    const kernel = await firstExisting([
      await at(`boot/vmlinuz-${v}`),
      ...(await Promise.all(modRels.map((d) => at(`${d}/${v}/vmlinuz`)))),
      ...(liveBoot ? [join(liveBoot, `vmlinuz-${v}`)] : []),
    ]);
    if (!kernel) continue;
    const initrd = await firstExisting([
      ...(await Promise.all(initrdNamesFor(v).map((n) => at(`boot/${n}`)))),
      ...(liveBoot ? initrdNamesFor(v).map((n) => join(liveBoot, n)) : []),
      ...(await Promise.all(modRels.flatMap((d) => [at(`${d}/${v}/initrd`), at(`${d}/${v}/initramfs.img`)]))),
    ]);
    return { version: v, kernel, initrd, osRelease };
  }
  return null;
}

/** A path found in a tree as the plan records it: inside the LV (relative) unless it lies on the live /boot. */
function refOf(path: string, root: string, liveBoot: string | null): KernelFileRef {
  const onBoot = liveBoot !== null && (path === liveBoot || path.startsWith(`${liveBoot.replace(/\/+$/, '')}/`));
  const base = root.replace(/\/+$/, '');
  if (!onBoot && (base === '' || path.startsWith(`${base}/`))) return { in: 'lv', path: path.slice(base.length + 1) };
  return { in: 'host', path };
}

async function sourceOf(k: KernelFiles, vg: string, lv: string, root: string, liveBoot: string | null): Promise<KernelSource> {
  const sizes = await Promise.all([k.kernel, k.initrd].filter((p): p is string => !!p).map((p) => stat(p)));
  return {
    vg, lv, version: k.version,
    kernel: refOf(k.kernel, root, liveBoot),
    initrd: k.initrd ? refOf(k.initrd, root, liveBoot) : null,
    osRelease: k.osRelease,
    bytes: sizes.reduce((n, s) => n + s.size, 0),
  };
}

export interface Probe {
  /** blkid's type ('' = no filesystem). */
  fsType: string;
  kernel: KernelSource | null;
}

/** Activates the LV if needed (and deactivates it again), mounts it read-only and looks for a kernel. */
export async function probeLv(vg: string, lv: string, active: boolean, liveBoot: string | null): Promise<Probe> {
  if (!active) await activateLv(vg, lv, { ignoreSkip: true });
  try {
    const type = await fsType(lvPath(vg, lv));
    if (type === '') return { fsType: '', kernel: null };
    const kernel = await withMounted(lvPath(vg, lv), async (dir) => {
      const k = await findKernelInTree(dir, liveBoot);
      return k ? sourceOf(k, vg, lv, dir, liveBoot) : null;
    }, { readOnly: true });
    return { fsType: type, kernel };
  } catch (e) {
    log.warn(`cannot read ${vg}/${lv}: ${(e as Error).message}`);
    return { fsType: 'unreadable', kernel: null };
  } finally {
    if (!active) await deactivateLv(vg, lv).catch(() => undefined);
  }
}

/** The running root's kernel, recorded as if read from `lv` (the base about to be snapshotted from it). */
export async function probeRunningRoot(vg: string, lv: string, liveBoot: string): Promise<KernelSource | null> {
  const k = await findKernelInTree('/', liveBoot);
  return k ? sourceOf(k, vg, lv, '/', liveBoot) : null;
}

/** The kernel of a tree mounted at root (an image), recorded as if read from `lv` (the base it is about to become). */
export async function treeKernelSource(vg: string, lv: string, root: string): Promise<KernelSource | null> {
  const k = await findKernelInTree(root, null);
  return k ? sourceOf(k, vg, lv, root, null) : null;
}

/** What identifies the kernel the tree at root holds (core/enter compares two of these). */
export async function treeKernelStamp(root: string): Promise<KernelStamp | null> {
  const k = await findKernelInTree(root, null);
  if (!k) return null;
  const stampOf = async (p: string): Promise<FileStamp> => {
    const s = await stat(p);
    return { path: p.slice(root.length), size: s.size, mtimeMs: s.mtimeMs, ino: s.ino };
  };
  return { version: k.version, kernel: await stampOf(k.kernel), initrd: k.initrd ? await stampOf(k.initrd) : null };
}

/** Kernel files of a running layer's kernel-install, all on the host. */
export async function hostKernelSource(vg: string, layer: string, k: KernelFiles): Promise<KernelSource> {
  return sourceOf(k, vg, layer, '/nonexistent', '/');
}

async function withSourceTree<T>(s: KernelSource, fn: (resolve: (r: KernelFileRef) => string) => Promise<T>): Promise<T> {
  const refs = [s.kernel, ...(s.initrd ? [s.initrd] : [])];
  if (refs.every((r) => r.in === 'host')) return fn((r) => r.path);
  await activateLv(s.vg, s.lv, { ignoreSkip: true });
  return withMounted(lvPath(s.vg, s.lv), (dir) => fn((r) => (r.in === 'lv' ? join(dir, r.path) : r.path)), { readOnly: true });
}

type CopyStep = Extract<Step, { kind: 'copy-kernel' }>;

/** Carries out a copy-kernel step; returns its undo. */
export async function copyKernel(step: CopyStep): Promise<() => Promise<void>> {
  const { source: s, dir } = step;
  const names = { kernel: `vmlinuz-${s.version}`, initrd: initrdNamesFor(s.version)[0]! };
  return withSourceTree(s, async (resolve) => {
    const put = async (src: string, dst: string): Promise<void> => {
      await copyFile(src, dst);
      await fsyncPath(dst);
    };
    if (step.into === 'new-dir') {
      if (await pathExists(dir)) throw new ImgbasedError(`${dir} already exists; run 'imgbase check --repair'`);
      const parent = dirname(dir);
      await mkdir(parent, { recursive: true });
      const tmp = `${dir}${TEMP_MARK}${process.pid}`;
      await rm(tmp, { recursive: true, force: true });
      await mkdir(tmp);
      try {
        await put(resolve(s.kernel), join(tmp, names.kernel));
        if (s.initrd) await put(resolve(s.initrd), join(tmp, names.initrd));
        if (s.osRelease !== null) await atomicWrite(join(tmp, OS_RELEASE_COPY), s.osRelease);
        await fsyncPath(tmp);
        await rename(tmp, dir);
        await fsyncPath(parent);
      } catch (e) {
        await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
        throw e;
      }
      return async () => {
        await rm(dir, { recursive: true, force: true });
        await fsyncPath(parent);
      };
    }
    const before = new Set(await listDir(dir));
    const added: string[] = [];
    const one = async (src: string, name: string): Promise<void> => {
      const tmp = join(dir, `.${name}${TEMP_MARK}${process.pid}`);
      await put(src, tmp);
      await rename(tmp, join(dir, name));
      if (!before.has(name)) added.push(name);
    };
    await one(resolve(s.kernel), names.kernel);
    if (s.initrd) await one(resolve(s.initrd), names.initrd);
    if (s.osRelease !== null) await atomicWrite(join(dir, OS_RELEASE_COPY), s.osRelease);
    await fsyncPath(dir);
    return async () => {
      for (const f of added) await rm(join(dir, f), { force: true });
      await fsyncPath(dir);
    };
  }).finally(async () => {
    if ([s.kernel, s.initrd].some((r) => r?.in === 'lv')) await deactivateLv(s.vg, s.lv).catch(() => undefined);
  });
}
