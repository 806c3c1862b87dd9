// imgbase install, pure: whether a disk may be installed to (from lsblk's and pvs's view of the machine), the
// partition table written to it, the sizes, and the fstab the first layer gets. Nothing here touches a disk.
import { UsageError } from './errors';
import { TAGS } from './inventory';
import { BOOT_MOUNT_POINTS, withoutMounts } from './fstab';
import { formatSize } from './space';
import { MODULE_FILES } from './update/initrd';
import { MOTD_SCRIPT } from './paths';

/** What of imgbased an installed layer needs: the binary and dracut module, the GRUB generator of its stub and the login message. */
export const INSTALL_FILES = [...MODULE_FILES, '/etc/grub.d/42_imgbased', MOTD_SCRIPT] as const;

export type Firmware = 'bios' | 'uefi';

export const MiB = 1024 ** 2;
export const GiB = 1024 ** 3;
export const DEFAULT_BOOT_BYTES = GiB;
export const ESP_BYTES = 256 * MiB;
/** GRUB's core image on a GPT disk booted by BIOS lives in this partition (no filesystem). */
export const BIOS_BOOT_BYTES = MiB;
/** Partitions start at 1 MiB; GPT keeps its backup table in the disk's last 33 sectors. */
const ALIGN = MiB;
/** Pool metadata: LVM's own default for pools of this size is smaller; thin snapshots want room. */
export const POOL_METADATA_BYTES = 128 * MiB;

const TYPE = {
  biosBoot: '21686148-6449-6E6F-744E-656564454649',
  esp: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
  linux: '0FC63DAF-8483-4772-8E79-3D69D8477DE4',
  lvm: 'E6D6D379-F507-44C2-A23C-238F2A3DF928',
} as const;

/** A block device as `lsblk --json --bytes -o PATH,TYPE,SIZE,FSTYPE,PTTYPE,MOUNTPOINTS` reports it. */
export interface BlockDev {
  path: string;
  type: string;
  sizeBytes: number;
  fstype: string | null;
  pttype: string | null;
  mountpoints: string[];
  children: BlockDev[];
}

interface LsblkNode {
  path?: string;
  type?: string;
  size?: number | string;
  fstype?: string | null;
  pttype?: string | null;
  mountpoints?: Array<string | null>;
  mountpoint?: string | null;
  children?: LsblkNode[];
}

function toDev(n: LsblkNode): BlockDev {
  const mounts = (n.mountpoints ?? (n.mountpoint !== undefined ? [n.mountpoint] : [])).filter((m): m is string => !!m);
  return {
    path: n.path ?? '', type: n.type ?? '', sizeBytes: Number(n.size ?? 0), fstype: n.fstype || null, pttype: n.pttype || null,
    mountpoints: mounts, children: (n.children ?? []).map(toDev),
  };
}

/**
 * The disk lsblk was asked about, with its partitions and what sits on them. Without a NAME column lsblk's JSON is
 * a flat list (the disk first, then everything under it), with NAME a tree: both are read.
 */
export function parseLsblk(json: string): BlockDev {
  const doc = JSON.parse(json) as { blockdevices?: LsblkNode[] };
  const [first, ...rest] = doc.blockdevices ?? [];
  if (!first) throw new Error('lsblk reported no device');
  const disk = toDev(first);
  return { ...disk, children: [...disk.children, ...rest.map(toDev)] };
}

function walk(d: BlockDev): BlockDev[] {
  return [d, ...d.children.flatMap(walk)];
}

/** The machine around the disk: what the preflight decides from. */
export interface DiskFacts {
  disk: BlockDev;
  /** Disks (paths) the running root sits on, through partitions, LVM and dm. */
  rootDisks: string[];
  /** Every PV with its VG, whether some LV of that VG is active, and the VG's tags. */
  pvs: Array<{ pv: string; vg: string; active: boolean; tags?: string[] }>;
  /** VG names this machine already has. */
  vgs: string[];
}

export interface InstallSizes {
  bootBytes: number;
  /** The pool's data size: bytes, or a percentage of what the VG has free. */
  pool: { bytes: number } | { percent: number };
}

/** --pool-size: "20G" or "90%". */
export function parsePoolSize(s: string, parseSize: (s: string) => number | null): InstallSizes['pool'] | null {
  const pct = /^(\d{1,3})%$/.exec(s.trim());
  if (pct) {
    const p = Number(pct[1]);
    return p >= 1 && p <= 100 ? { percent: p } : null;
  }
  const b = parseSize(s);
  return b !== null && b > 0 ? { bytes: b } : null;
}

/** Bytes the disk needs: partitions, LVM's own headers, pool metadata and the image's used blocks with a margin. */
export function diskNeeds(fw: Firmware, sizes: InstallSizes, imageUsedBytes: number): number {
  const front = ALIGN + (fw === 'uefi' ? ESP_BYTES : BIOS_BOOT_BYTES) + sizes.bootBytes;
  const pool = 'bytes' in sizes.pool ? sizes.pool.bytes : Math.ceil(imageUsedBytes * 1.2);
  return front + 4 * MiB + 2 * POOL_METADATA_BYTES + Math.max(pool, Math.ceil(imageUsedBytes * 1.2)) + ALIGN;
}

/**
 * Why the disk may not be installed to, checked in this order; throws the first reason (nothing has been written).
 * A disk with a partition table or a filesystem signature needs `wipe`.
 */
export function installPreflight(
  facts: DiskFacts, o: { vg: string; wipe: boolean; fw: Firmware; sizes: InstallSizes; imageUsedBytes: number; runDir: string },
): { takeDown?: { vg: string; mounts: string[] } } {
  const { disk } = facts;
  if (disk.type !== 'disk') throw new UsageError(`install: ${disk.path} is a ${disk.type || 'device'}, not a whole disk`);
  if (facts.rootDisks.includes(disk.path)) throw new UsageError(`install: ${disk.path} holds the running root`);
  const all = walk(disk);
  const paths = new Set(all.map((d) => d.path));
  // A VG an install made on this disk and never finished (a kill, a power cut): ours to take down under --wipe,
  // with the mounts that install left under our run directory.
  const stopped = facts.pvs.find((p) => paths.has(p.pv) && p.tags?.includes(TAGS.installing) && !p.tags.includes(TAGS.vg));
  const ours = (m: string): boolean => stopped !== undefined && m.startsWith(`${o.runDir}/`);
  const mounted = all.find((d) => d.mountpoints.some((m) => !ours(m)));
  if (mounted) throw new UsageError(`install: ${mounted.path} is mounted on ${mounted.mountpoints.join(', ')}`, { hint: 'unmount it first' });
  if (stopped && !o.wipe) {
    throw new UsageError(`install: ${disk.path} holds VG ${stopped.vg} of an install that did not finish`, { hint: 'run the install again with --wipe to start over' });
  }
  const pv = facts.pvs.find((p) => paths.has(p.pv) && p.active && p !== stopped && p.vg !== stopped?.vg);
  if (pv) throw new UsageError(`install: ${pv.pv} is a PV of VG ${pv.vg}, which is active`, { hint: `vgchange -an ${pv.vg}, then install with --wipe` });
  // A VG of that name only on this disk (an install that stopped) is erased with the rest under --wipe.
  const elsewhere = facts.pvs.some((p) => p.vg === o.vg && !paths.has(p.pv));
  if (facts.vgs.includes(o.vg) && (elsewhere || !facts.pvs.some((p) => p.vg === o.vg))) {
    throw new UsageError(`install: this machine already has a VG named ${o.vg}`, { hint: 'choose another with --vg NAME' });
  }
  const need = diskNeeds(o.fw, o.sizes, o.imageUsedBytes);
  if (disk.sizeBytes < need) throw new UsageError(`install: ${disk.path} has ${formatSize(disk.sizeBytes, 'h')}, ${formatSize(need, 'h')} needed`);
  const signs = all.flatMap((d) => [d.pttype ? `a ${d.pttype} partition table` : null, d.fstype ? `${d.fstype} on ${d.path}` : null]).filter((x): x is string => x !== null);
  if (signs.length && !o.wipe) throw new UsageError(`install: ${disk.path} holds ${[...new Set(signs)].join(', ')}`, { hint: 'install --wipe erases it' });
  if (!stopped) return {};
  return { takeDown: { vg: stopped.vg, mounts: [...new Set(all.flatMap((d) => d.mountpoints))].sort() } };
}

/** A partition's device path: /dev/vdb -> /dev/vdb2, /dev/nvme0n1 -> /dev/nvme0n1p2. */
export function partitionPath(disk: string, n: number): string {
  return `${disk}${/\d$/.test(disk) ? 'p' : ''}${n}`;
}

export interface PartitionLayout {
  /** sfdisk's input: GPT, 1: BIOS boot or ESP, 2: /boot, 3: the LVM PV (the rest). */
  script: string;
  esp: string | null;
  boot: string;
  pv: string;
}

export function partitionLayout(disk: string, fw: Firmware, bootBytes: number): PartitionLayout {
  const first = fw === 'uefi' ? { size: ESP_BYTES, type: TYPE.esp, name: 'ESP' } : { size: BIOS_BOOT_BYTES, type: TYPE.biosBoot, name: 'BIOS boot' };
  const lines = [
    'label: gpt',
    `start=${ALIGN / 512}, size=${first.size / 512}, type=${first.type}, name="${first.name}"`,
    `size=${Math.ceil(bootBytes / 512)}, type=${TYPE.linux}, name="boot"`,
    `type=${TYPE.lvm}, name="imgbased"`,
  ];
  return { script: `${lines.join('\n')}\n`, esp: fw === 'uefi' ? partitionPath(disk, 1) : null, boot: partitionPath(disk, 2), pv: partitionPath(disk, 3) };
}

/**
 * The first layer's fstab: the image's lines, less those for /, /boot and /boot/efi (they named the machine the
 * image was made on), plus /boot (and the ESP) of this disk by UUID. / stays out: the kernel command line names it.
 */
export function installedFstab(imageFstab: string, bootUuid: string, espUuid: string | null, dataLines: readonly string[] = []): string {
  const kept = withoutMounts(imageFstab, new Set(['/', ...BOOT_MOUNT_POINTS]));
  while (kept.length && kept[kept.length - 1]!.trim() === '') kept.pop();
  const lines = [
    ...kept,
    '# imgbase install: / comes from the kernel command line (imgbased.layer=, root=)',
    `UUID=${bootUuid} /boot ext4 defaults 0 2`,
    ...(espUuid ? [`UUID=${espUuid} /boot/efi vfat umask=0077 0 1`] : []),
    ...dataLines,
  ];
  return `${lines.join('\n')}\n`;
}
