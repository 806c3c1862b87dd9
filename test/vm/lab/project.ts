// Project disk: the host disk (qcow2 overlay) with the project installed by build/install inside the booted host
// and the initramfs regenerated there by the guest's own dracut. Kernel + initrd are copied out for direct boots.
import { execa } from 'execa';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { contentKey, entryComplete, listFiles, publishDir, writeJsonAtomic } from './cache.js';
import { guestDir, labDir, repoRoot } from './paths.js';
import { inChroot, safeRm } from './chroot.js';
import { type ImageEntry, unpackImage } from './image.js';
import { HOST_APPEND, type HostEntry } from './provision.js';
import { boot, expectDone, expectMarker, retryKernelCrash } from './runner.js';

export interface ProjectEntry {
  key: string;
  dir: string;
  disk: string;
  kernel: string;
  initrd: string;
}

const PROJECT_FORMAT = 'project-v3';

/** Repo paths that make up "the project as installed" (relative to the repo root). */
/** What the project disk gets (under proj/ in the share). */
export const PROJECT_FILES = ['dist/imgbase', 'dracut', 'grub', 'build/install', 'build/kernel-install.d', 'build/systemd', 'apt', 'motd'];
// The key hashes what the binary is made from (the bundle, its build script, the node version) rather than the
// 87 MB binary itself.
const PROJECT_KEY_INPUTS = ['dist/imgbase.cjs', 'build/build.mjs', ...PROJECT_FILES.filter((f) => f !== 'dist/imgbase')];

/** Drivers of the lab initramfs built in the chroot (the rest comes from dracut modules' own installkernel). */
export const INITRD_DRIVERS = [
  'virtio_pci', 'virtio_blk', 'virtio_scsi', 'sd_mod', 'ext4', 'xfs', 'dm_mod', 'dm_thin_pool', 'dm_persistent_data',
  'dm_bufio', 'dm_bio_prison', 'dm_snapshot', 'dm_mirror', 'dm_zero', 'crc32c_generic', 'squashfs', 'overlay', 'loop',
];

/** In-guest `dracut -f` (hostonly, faithful but 3-6 min under TCG) instead of the chroot build (~20 s). */
export const GUEST_DRACUT = process.env.IMGBASED_LAB_GUEST_DRACUT === '1';

/**
 * The project's initramfs, made by the guest's own dracut and config in a chroot of a fresh copy of the guest tree
 * with the project installed by build/install (DESTDIR). Generic (--no-hostonly) with the lab's driver list.
 */
async function chrootInitrd(img: ImageEntry, workDir: string, log: (s: string) => void): Promise<string> {
  const tree = path.join(workDir, 'tree');
  const t0 = Date.now();
  try {
    await unpackImage(img, tree);
    await execa('sh', [path.join(repoRoot(), 'build', 'install')], { env: { DESTDIR: tree }, cwd: repoRoot() });
    const initrd = `/boot/initrd.img-${img.kver}`;
    const out = await inChroot(tree, (run) =>
      run(['dracut', '-f', '--no-hostonly', '--no-early-microcode', '--drivers', INITRD_DRIVERS.join(' '), initrd, img.kver]),
    );
    writeFileSync(path.join(workDir, 'dracut.log'), out);
    const dst = path.join(workDir, 'initrd.img');
    renameSync(path.join(tree, initrd), dst);
    log(`lab: project initramfs built in a chroot in ${((Date.now() - t0) / 1000).toFixed(0)}s`);
    return dst;
  } finally {
    await safeRm(tree);
  }
}

export async function ensureBuilt(log: (s: string) => void): Promise<void> {
  const bin = path.join(repoRoot(), 'dist', 'imgbase');
  if (existsSync(bin)) return;
  log('lab: dist/imgbase missing: running npm run build');
  await execa('npm', ['run', 'build'], { cwd: repoRoot(), stdout: 'inherit', stderr: 'inherit' });
  if (!existsSync(bin)) throw new Error('lab: npm run build did not produce dist/imgbase');
}

/** The project initramfs alone (no VM): an entry of its own, keyed by the image and what the project is made of. */
export interface InitrdEntry {
  key: string;
  initrd: string;
}

export async function ensureProjectInitrd(cache: string, img: ImageEntry, log: (s: string) => void): Promise<InitrdEntry> {
  await ensureBuilt(log);
  const root = repoRoot();
  const key = await contentKey({
    strings: [PROJECT_FORMAT, 'initrd', img.key, `node ${process.version}`, INITRD_DRIVERS.join(' ')],
    files: PROJECT_KEY_INPUTS.map((p) => path.join(root, p)),
    base: root,
  });
  const dir = path.join(cache, `initrd-${key}`);
  const initrd = path.join(dir, 'initrd.img');
  if (entryComplete(dir)) return { key, initrd };
  await publishDir(dir, async (tmp) => {
    await chrootInitrd(img, tmp, log);
    writeJsonAtomic(path.join(tmp, 'meta.json'), { release: img.release, image: img.key, built: new Date().toISOString() });
  });
  return { key, initrd };
}

export async function projectKey(host: HostEntry): Promise<string> {
  const root = repoRoot();
  return contentKey({
    // Bump PROJECT_FORMAT when project.ts changes what it builds (the .ts file itself is not hashed).
    strings: [PROJECT_FORMAT, host.key, `node ${process.version}`, GUEST_DRACUT ? 'guest-dracut' : `chroot-dracut ${INITRD_DRIVERS.join(' ')}`],
    files: [...PROJECT_KEY_INPUTS.map((p) => path.join(root, p)), path.join(guestDir(), 'project.sh')],
    base: root,
  });
}

function entry(key: string, dir: string): ProjectEntry {
  return { key, dir, disk: path.join(dir, 'project.qcow2'), kernel: path.join(dir, 'vmlinuz'), initrd: path.join(dir, 'initrd.img') };
}

/** False when a qcow2 overlay's backing chain no longer opens (its backing file was moved or removed). */
async function backingChainOpens(disk: string): Promise<boolean> {
  const r = await execa('qemu-img', ['info', '-U', '--backing-chain', disk], { reject: false });
  return r.exitCode === 0;
}

export async function ensureProject(cache: string, img: ImageEntry, host: HostEntry, pinitrd: InitrdEntry, log: (s: string) => void): Promise<ProjectEntry> {
  await ensureBuilt(log);
  const key = await projectKey(host);
  const dir = path.join(cache, `project-${key}`);
  if (entryComplete(dir) && (await backingChainOpens(path.join(dir, 'project.qcow2')))) return entry(key, dir);
  log(`lab: installing the project into a host disk overlay ${key} (chroot dracut + one VM boot, ~2 min)`);
  const t0 = Date.now();
  await retryKernelCrash('project disk', () => publishDir(dir, async (tmp) => {
    const root = repoRoot();
    const files: Record<string, { path: string }> = {};
    for (const input of PROJECT_FILES)
      for (const f of listFiles(path.join(root, input))) files[path.join('proj', path.relative(root, f))] = { path: f };
    if (!GUEST_DRACUT) files['initrd.img'] = { path: pinitrd.initrd };
    // The backing file is named relative to the overlay (the host entry is a sibling of both the build dir and the
    // published one), so a cache directory copied or renamed as a whole keeps a valid chain.
    const disk = path.join(tmp, 'project.qcow2');
    const backing = path.relative(path.dirname(dir), host.disk);
    await execa('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', path.join('..', backing), disk]);
    const r = await boot({
      name: `lab-project-${key}`,
      disk,
      kernel: host.kernel,
      initrd: host.initrd,
      append: HOST_APPEND,
      script: readFileSync(path.join(guestDir(), 'project.sh'), 'utf8'),
      files,
      timeoutS: 900,
    });
    expectDone(r);
    expectMarker(r, 'project', 'installed');
    renameSync(path.join(r.outDir, 'vmlinuz'), path.join(tmp, 'vmlinuz'));
    renameSync(path.join(r.outDir, 'initrd.img'), path.join(tmp, 'initrd.img'));
    rmSync(path.dirname(r.outDir), { recursive: true, force: true }); // the share (big copies); serial.log stays
    writeJsonAtomic(path.join(tmp, 'meta.json'), {
      release: img.release,
      host: host.key,
      initrdFrom: r.markers['initrd-from']?.[0] ?? null,
      dracutSeconds: r.markers['dracut-seconds']?.[0] ?? null,
      bootSeconds: r.durationS,
      built: new Date().toISOString(),
    });
  }), log);
  log(`lab: project disk ready in ${((Date.now() - t0) / 1000).toFixed(0)}s`);
  return entry(key, dir);
}
