// imgbase install: a blank disk becomes an image-based host from an image (core/plans/install). Everything is read
// first — the image (name, kernel, initramfs, what of imgbased it lacks, its GRUB) and the machine around the disk
// (core/install installPreflight) — then one plan runs; --dry-run prints it and writes nothing.
import { randomBytes, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ImgbasedError, UsageError } from '../core/errors';
import { DEFAULT_BOOT_BYTES, INSTALL_FILES, MiB, parsePoolSize, installPreflight, type Firmware } from '../core/install';
import { planInstall } from '../core/plans/install';
import { validateBaseName } from '../core/naming';
import { parseSize } from '../core/space';
import { readDiskFacts } from '../adapters/disk';
import { pathExists, withMounted } from '../adapters/fs';
import { baseNameOfTree, withImage, type ImageInfo } from '../adapters/image';
import { initrdNeed, missingFiles } from '../adapters/initrd';
import { treeKernelSource } from '../adapters/kernel';
import { withLock } from '../adapters/lock';
import { run } from '../adapters/exec';
import { RUN_DIR } from '../core/paths';
import { lockTimeout, optValue, parseVerbArgs, type GlobalOpts } from './args';
import { noPositional } from './context';
import { execute } from './plan-run';
import { inTree, realDirIn } from '../adapters/confine';
import { checkChrootable } from '../adapters/chroot';
import { fstabEntries, requestedDataPaths, validateDataPath, withoutTaken } from '../core/data';
import type { DataAddRequest } from '../core/plans/data-volume';
import { log } from '../adapters/log';
import { dirUsage } from './data';

export const usage = `usage: imgbase install --disk DEV --from IMAGE [--name NVR] [--vg NAME] [--boot-size SIZE]
                       [--pool-size SIZE|N%] [--firmware bios|uefi] [--kernel-arg ARG]...
                       [--no-data] [--data PATH]... [--wipe] [--dry-run]

Makes DEV (a whole disk, not the running root's) an image-based host: a GPT with a BIOS boot partition (bios) or
an EFI system partition (uefi), an ext4 /boot, an LVM PV with VG NAME and a thin pool; IMAGE (a raw ext4 or XFS
image, or a squashfs holding LiveOS/rootfs.img; a file or an unmounted block device) as the read-only base NVR and its first layer NVR+1; the layer's
fstab, kernel and initramfs (built with the image's own dracut when its initramfs lacks imgbased's module), its
boot entry, and GRUB installed from the image itself. /home, /var/log and /var/crash become data volumes (thin
LVs every layer mounts, so an update or a rollback keeps homes, the journal of every boot and crash dumps), each
holding what the image has there. Tagged like a 'layout --init' host. Nothing is written until
every check passed; a disk that holds a partition table or a filesystem needs --wipe.
  --name NVR         the base's name (default: from the image's os-release)
  --vg NAME          the new VG (default HostVG; must not exist on this machine)
  --boot-size SIZE   /boot (default 1G)
  --pool-size S|N%   the thin pool's size, or a share of the VG (default 90%)
  --firmware F       bios or uefi (default: how this machine booted)
  --kernel-arg ARG   added to the layer's kernel command line (repeatable), e.g. console=ttyS0,115200
  --no-data          none of the default data volumes
  --data PATH        PATH a data volume too (repeatable), e.g. /var/lib/libvirt; sized like the image's filesystem
  --wipe             erase what DEV holds`;

const DEFAULT_VG = 'HostVG';
const BOOT_MOUNT = `${RUN_DIR}/install-boot`;
/** GRUB's modules in the image, per firmware (grub-pc-bin, grub-efi-amd64-bin). */
const GRUB_DIRS: Record<Firmware, string> = { bios: 'usr/lib/grub/i386-pc', uefi: 'usr/lib/grub/x86_64-efi' };

function strings(v: unknown, flag: string): string[] {
  return ([] as unknown[]).concat(v ?? []).map((x) => {
    if (typeof x !== 'string' || x === '') throw new UsageError(`install: --${flag} needs a value`);
    return x;
  });
}

async function readFirmware(arg: string | undefined): Promise<Firmware> {
  if (arg === undefined) return (await pathExists('/sys/firmware/efi')) ? 'uefi' : 'bios';
  if (arg !== 'bios' && arg !== 'uefi') throw new UsageError(`install: --firmware ${arg}: bios or uefi`);
  return arg;
}

export async function installCommand(argv: string[], g: GlobalOpts): Promise<number> {
  const args = parseVerbArgs(argv, { verb: 'install', boolean: ['wipe', 'no-data'], string: ['disk', 'from', 'name', 'vg', 'boot-size', 'pool-size', 'firmware', 'kernel-arg', 'data'], usage });
  noPositional(args, 'install');
  const disk = optValue(args, 'disk', 'install');
  const from = optValue(args, 'from', 'install');
  if (!disk || !from) throw new UsageError('install needs --disk DEV and --from IMAGE');
  if (!disk.startsWith('/dev/')) throw new UsageError(`install: --disk ${disk}: give the disk's /dev path`);
  const name = optValue(args, 'name', 'install');
  if (name !== undefined && validateBaseName(name)) throw new UsageError(`install: --name ${validateBaseName(name)}`);
  const vg = optValue(args, 'vg', 'install') ?? DEFAULT_VG;
  if (!/^[A-Za-z0-9_.+][A-Za-z0-9_.+-]*$/.test(vg)) throw new UsageError(`install: --vg ${JSON.stringify(vg)} is not a valid VG name`);
  const bootArg = optValue(args, 'boot-size', 'install');
  const bootBytes = bootArg === undefined ? DEFAULT_BOOT_BYTES : parseSize(bootArg);
  if (bootBytes === null || bootBytes < 256 * MiB) throw new UsageError(`install: --boot-size ${bootArg}: a size of at least 256M`);
  const poolArg = optValue(args, 'pool-size', 'install') ?? '90%';
  const pool = parsePoolSize(poolArg, parseSize);
  if (!pool) throw new UsageError(`install: --pool-size ${poolArg}: a size (e.g. 20G) or a share of the VG (1%-100%)`);
  const firmware = await readFirmware(optValue(args, 'firmware', 'install'));
  const kernelArgs = strings(args['kernel-arg'], 'kernel-arg');
  const dataPaths = requestedDataPaths({ none: args['no-data'] === true, extra: strings(args.data, 'data') });
  for (const d of dataPaths) {
    const bad = validateDataPath(d.path);
    if (bad) throw new UsageError(`install --data: ${bad}`);
  }
  const sizes = { bootBytes, pool };
  return withLock(async () => withImage(from, async (img) => withMounted(img.path, async (dir) => {
    const base = await baseNameOfTree(dir, name, 'install');
    const kernel = await treeKernelSource(vg, base, dir);
    if (!kernel) throw new UsageError(`install: the image ${from} holds no kernel (looked in /boot and /usr/lib/modules)`);
    if (!(await pathExists(await inTree(dir, GRUB_DIRS[firmware])))) {
      throw new UsageError(`install: the image holds no GRUB for ${firmware} (/${GRUB_DIRS[firmware]})`);
    }
    const { takeDown } = installPreflight(await readDiskFacts(disk), { vg, wipe: args.wipe === true, fw: firmware, sizes, imageUsedBytes: img.usedBytes, runDir: RUN_DIR });
    // GRUB is installed (and maybe dracut run) in a chroot of the new layer: its API mount points must be its own.
    await checkChrootable(dir, 'install: the image');
    const initrd = await initrdNeed('install', dir, kernel);
    const imageFstab = await readFile(await inTree(await realDirIn(dir, 'etc', 'install: the image'), 'fstab'), 'utf8').catch(() => '');
    const plan = planInstall({
      disk, firmware, vg, name: base, sizes, img, kernel, takeDown,
      // Everything of imgbased the image lacks goes in by copy-in; the build then has nothing more to copy.
      initrd: initrd ? { ...initrd, install: [] } : undefined,
      copyIn: await missingFiles(dir, INSTALL_FILES),
      imageFstab,
      data: await imageData(dir, dataPaths, imageFstab, img),
      kernelArgs, bootUuid: randomUUID(), espUuid: firmware === 'uefi' ? volumeId() : null, bootMount: BOOT_MOUNT,
    });
    try {
      await execute(plan, g);
    } catch (e) {
      if (g.dryRun) throw e;
      // Never a layout (the VG tag comes last); deactivated, so install --wipe may start over on it.
      await run('lvm', ['vgchange', '-an', vg], { allowFail: true });
      await run('umount', [BOOT_MOUNT], { allowFail: true });
      throw new ImgbasedError(`install: ${(e as Error).message}; ${disk} holds no valid layout (VG ${vg} is not tagged)`, { hint: `run the same install with --wipe to start over` });
    }
    if (!g.dryRun) console.log(`installed ${disk} (${firmware}): VG ${vg}, base ${base}, layer ${plan.layer}; boot from ${disk}`);
    return 0;
  }, { readOnly: true, loop: true })), { timeoutS: lockTimeout(args) });
}

/**
 * The data volumes as the image has their paths: what is there is copied in. A default path the image's fstab
 * already mounts elsewhere is left to that line.
 */
async function imageData(dir: string, paths: ReturnType<typeof requestedDataPaths>, imageFstab: string, img: ImageInfo): Promise<DataAddRequest[]> {
  const { make, leftOut } = withoutTaken(paths, new Set(fstabEntries(imageFstab).map((e) => e.path)));
  for (const p of leftOut) log.info(`install: ${p} is not made a data volume: the image's /etc/fstab mounts it`);
  const out: DataAddRequest[] = [];
  for (const path of make) {
    const at = await realDirIn(dir, path.slice(1), 'install: the image', true);
    const here = await dirUsage(at);
    out.push({
      path, sizeBytes: img.fsSizeBytes, fsType: img.fsType, current: here, ...(here ? { copyFrom: at } : {}),
      mountedFrom: null, fstab: { file: "the image's /etc/fstab", text: imageFstab },
    });
  }
  return out;
}

/** A FAT volume id in fstab's UUID form (XXXX-XXXX). */
function volumeId(): string {
  const h = randomBytes(4).toString('hex').toUpperCase();
  return `${h.slice(0, 4)}-${h.slice(4)}`;
}
