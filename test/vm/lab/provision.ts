// Provisioned host disk: msdos table, vda1 ext4 /boot, vda2 PV -> VG HostVG, thin pool "pool", thin LV "root"
// holding the guest tree, on-disk BIOS GRUB (serial). Built inside a provisioning VM (device-mapper lives there).
import { execa } from 'execa';
import { copyFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { contentKey, entryComplete, publishDir, readJson, writeJsonAtomic } from './cache.js';
import { type ImageEntry, unpackImage } from './image.js';
import { guestDir, labDir } from './paths.js';
import { boot, expectDone, expectMarker, retryKernelCrash } from './runner.js';

const HOST_FORMAT = 'host-v2';
export const HOST_DISK_SIZE = '12G';
export const ROOT_LV_SIZE = '4G';
/** Kernel args for a direct boot of the provisioned host's root LV. */
export const HOST_APPEND = 'root=/dev/HostVG/root rd.lvm.lv=HostVG/root rw';

export interface HostEntry {
  key: string;
  dir: string;
  disk: string;
  kernel: string;
  initrd: string;
  kver: string;
}

function entry(key: string, dir: string): HostEntry {
  const meta = readJson<{ kver: string }>(path.join(dir, 'meta.json'));
  return { key, dir, disk: path.join(dir, 'host.qcow2'), kernel: path.join(dir, 'vmlinuz'), initrd: path.join(dir, 'initrd.img'), kver: meta.kver };
}

export async function hostKey(img: ImageEntry): Promise<string> {
  return contentKey({
    // Bump HOST_FORMAT when provision.ts changes what it builds (the .ts file itself is not hashed: cosmetic edits
    // must not rebuild everyone's lab).
    strings: [HOST_FORMAT, img.key, img.kver, HOST_DISK_SIZE, ROOT_LV_SIZE, HOST_APPEND],
    files: [path.join(guestDir(), 'provision.sh')],
    base: labDir(),
  });
}

/** `tree`: an unpacked guest tree if the caller has one (fresh image build); else the cached tar is unpacked. */
export async function ensureHost(cache: string, img: ImageEntry, log: (s: string) => void, tree?: string): Promise<HostEntry> {
  const key = await hostKey(img);
  const dir = path.join(cache, `host-${key}`);
  if (entryComplete(dir)) return entry(key, dir);
  log(`lab: provisioning host disk ${key} (one VM boot, ~2-3 min)`);
  const t0 = Date.now();
  await retryKernelCrash('host disk', () => publishDir(dir, async (tmp) => {
    let t = tree;
    if (!t || !existsSync(t)) {
      t = path.join(tmp, 'tree');
      await unpackImage(img, t);
    }
    const kver = img.kver;
    copyFileSync(path.join(t, 'boot', `vmlinuz-${kver}`), path.join(tmp, 'vmlinuz'));
    copyFileSync(path.join(t, 'boot', `initrd.img-${kver}`), path.join(tmp, 'initrd.img'));
    const rootImg = path.join(tmp, 'root.img');
    await execa('mkfs.ext4', ['-q', '-F', '-L', 'labroot', '-d', t, rootImg, ROOT_LV_SIZE]);
    if (t !== tree) rmSync(t, { recursive: true, force: true });
    const disk = path.join(tmp, 'host.qcow2');
    await execa('qemu-img', ['create', '-q', '-f', 'qcow2', disk, HOST_DISK_SIZE]);
    const r = await boot({
      name: `lab-provision-${key}`,
      disk,
      extraDisks: [
        { file: rootImg, format: 'raw', snapshot: true }, // vdb: the provisioning VM's own root (writes discarded)
        { file: rootImg, format: 'raw', readonly: true }, // vdc: pristine source copied onto the thin LV
      ],
      kernel: path.join(tmp, 'vmlinuz'),
      initrd: path.join(tmp, 'initrd.img'),
      append: 'root=/dev/vdb rw rd.lvm=0',
      script: readFileSync(path.join(guestDir(), 'provision.sh'), 'utf8'),
      timeoutS: 900,
    });
    expectDone(r);
    expectMarker(r, 'provisioned', 'ok');
    copyFileSync(path.join(r.outDir, 'lvs.json'), path.join(tmp, 'lvs.json'));
    rmSync(rootImg, { force: true });
    rmSync(path.dirname(r.outDir), { recursive: true, force: true }); // the share (big copies); serial.log stays
    writeJsonAtomic(path.join(tmp, 'meta.json'), {
      kver,
      release: img.release,
      image: img.key,
      grubLinux: r.markers['grub-linux']?.[0] ?? null,
      provisionSeconds: r.durationS,
      built: new Date().toISOString(),
    });
  }), log);
  log(`lab: host disk provisioned in ${((Date.now() - t0) / 1000).toFixed(0)}s`);
  return entry(key, dir);
}
