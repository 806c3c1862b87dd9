// Initramfs inspection and building for update (core/update/initrd decides; this runs the tools). The build runs
// the layer's own dracut in a chroot of the layer, so the initramfs matches the image's kernel, udev and systemd,
// not this host's.
import { join } from 'node:path';
import { ImgbasedError, UsageError } from '../core/errors';
import type { KernelSource, Step } from '../core/steps';
import { DRACUT_PATHS, extractHasModule, initrdBuild, INITRD_MARK_GLOB, MODULE_FILES, type InitrdBuild } from '../core/update/initrd';
import { withApiMounts } from './chroot';
import { run } from './exec';
import { copyIn, pathExists, withMounted } from './fs';
import { lvPath } from './lvm';
import { inTree } from './confine';

/** Does the initramfs hold our module? lsinitrd (dracut's) extracts our unit from it. */
export async function initrdHasModule(path: string): Promise<boolean> {
  const r = await run('lsinitrd', ['-f', INITRD_MARK_GLOB, path], { allowFail: true });
  if (r.exitCode !== 0) throw new ImgbasedError(`cannot read the initramfs ${path} (lsinitrd: ${r.stderr.trim().split('\n').at(-1) ?? `exit ${r.exitCode}`})`);
  return extractHasModule(r.stdout);
}

/** Those of `files` (absolute host paths) a tree lacks. */
export async function missingFiles(root: string, files: readonly string[]): Promise<string[]> {
  const missing: string[] = [];
  for (const f of files) if (!(await pathExists(await inTree(root, f)))) missing.push(f);
  return missing;
}

/**
 * Whether the image's initramfs (mounted at dir) can pick layers; when not, what building one in the new layer
 * needs. Refused (nothing written yet) when the image has no dracut to build with.
 */
export async function initrdNeed(verb: string, dir: string, k: KernelSource): Promise<InitrdBuild | undefined> {
  if (k.initrd && (await initrdHasModule(k.initrd.in === 'lv' ? await inTree(dir, k.initrd.path) : k.initrd.path))) return undefined;
  const dracut = await Promise.all(DRACUT_PATHS.map(async (p) => pathExists(await inTree(dir, p))));
  if (!dracut.includes(true)) {
    throw new UsageError(`${verb}: the image's initramfs ${k.initrd ? 'lacks imgbased\'s dracut module' : 'is missing'} and the image holds no dracut to build one`, { hint: 'build the image with imgbased installed (its dracut module in the initramfs)' });
  }
  return initrdBuild(k.version, await missingFiles(dir, MODULE_FILES));
}

type BuildStep = Extract<Step, { kind: 'build-initrd' }>;

/** Carries out a build-initrd step (inside the new layer: its undo is the layer's removal). */
export async function buildInitrd(s: BuildStep): Promise<void> {
  await withMounted(lvPath(s.vg, s.lv), async (dir) => {
    await copyIn(dir, s.install);
    await withApiMounts(dir, (chroot) => chroot('dracut', ['--force', '--add', 'imgbased', `/${s.out}`, s.version]));
    if (!(await initrdHasModule(await inTree(dir, s.out)))) {
      throw new ImgbasedError(`dracut built ${s.out} in ${s.vg}/${s.lv} without imgbased's module`);
    }
  });
}
