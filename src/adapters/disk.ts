// imgbase install's disk work: what the machine looks like around a disk (read before planning), and the steps
// that turn a blank disk into partitions, a VG and a thin pool, and install GRUB from the new layer.
import type { DiskFacts } from '../core/install';
import { parseLsblk } from '../core/install';
import type { Step } from '../core/steps';
import { withApiMounts } from './chroot';
import { run } from './exec';
import { pathExists, withMounted } from './fs';
import { NotFoundError } from '../core/errors';
import { activateLv, deactivateLv, lvmReport, lvPath } from './lvm';

const LSBLK_COLS = 'PATH,TYPE,SIZE,FSTYPE,PTTYPE,MOUNTPOINTS';

/** The disk with everything on it, the disks under the running root, the PVs and VG names of this machine. */
export async function readDiskFacts(disk: string): Promise<DiskFacts> {
  if (!(await pathExists(disk))) throw new NotFoundError(`install: ${disk} does not exist`, { hint: 'lsblk lists the disks' });
  // lsblk reads filesystem types from udev's database: let udev finish probing what just changed.
  await settle();
  const tree = parseLsblk((await run('lsblk', ['--json', '--bytes', '-o', LSBLK_COLS, disk])).stdout);
  const root = (await run('findmnt', ['-no', 'SOURCE', '/'])).stdout.trim();
  // lsblk --inverse walks from the root's device down to the disks it sits on.
  const inv = await run('lsblk', ['--inverse', '--list', '--noheadings', '-o', 'PATH,TYPE', root], { allowFail: true });
  const rootDisks = inv.stdout.split('\n').map((l) => l.trim().split(/\s+/)).filter((f) => f[1] === 'disk').map((f) => f[0]!);
  const pvRows = await lvmReport('pvs', ['pv_name', 'vg_name', 'vg_tags']);
  const activeVgs = new Set((await lvmReport('lvs', ['vg_name', 'lv_active'])).filter((r) => r.lv_active === 'active').map((r) => r.vg_name));
  const vgs = (await lvmReport('vgs', ['vg_name'])).map((v) => v.vg_name!);
  const pvs = pvRows.map((p) => ({ pv: p.pv_name!, vg: p.vg_name!, active: activeVgs.has(p.vg_name!), tags: (p.vg_tags ?? '').split(',').filter(Boolean) }));
  return { disk: tree, rootDisks, pvs, vgs };
}

async function settle(): Promise<void> {
  await run('udevadm', ['settle'], { allowFail: true });
}

type DiskStep = Extract<Step, { kind: 'wipe-disk' | 'partition' | 'mkfs-dev' | 'pv-create' | 'vg-create' | 'pool-create' | 'grub-install' }>;

/** Carries out one of install's disk steps (none has an undo: see core/steps). */
export async function diskStep(s: DiskStep): Promise<void> {
  switch (s.kind) {
    case 'wipe-disk': {
      if (s.takeDown) {
        for (const m of [...s.takeDown.mounts].reverse()) {
          if ((await run('umount', [m], { allowFail: true })).exitCode !== 0) await run('umount', ['-l', m]);
        }
        await run('lvm', ['vgchange', '-an', s.takeDown.vg]);
      }
      // Partitions first: their signatures (an old PV, a filesystem) would come back with the same table.
      const parts = (await run('lsblk', ['--list', '--noheadings', '-o', 'PATH,TYPE', s.disk])).stdout.split('\n')
        .map((l) => l.trim().split(/\s+/)).filter((f) => f[1] === 'part').map((f) => f[0]!);
      for (const p of parts) await run('wipefs', ['--all', '--quiet', p]);
      await run('wipefs', ['--all', '--quiet', s.disk]);
      await settle();
      return;
    }
    case 'partition':
      await run('sfdisk', ['--quiet', '--wipe', 'always', '--wipe-partitions', 'always', s.disk], { input: s.script });
      await settle();
      return;
    case 'mkfs-dev':
      if (s.fsType === 'vfat') await run('mkfs.vfat', ['-F', '32', '-n', s.label, '-i', s.uuid.replace('-', ''), s.dev]);
      // /boot is read by the image's GRUB, whatever made it: without metadata_csum_seed (an incompat feature Debian
      // 13's mke2fs turns on and Debian 12's GRUB 2.06 may refuse); orphan_file is only read-only-compatible.
      else if (s.fsType === 'ext4') await run('mkfs.ext4', ['-q', '-F', '-O', '^metadata_csum_seed', '-L', s.label, '-U', s.uuid, s.dev]);
      else throw new Error(`mkfs-dev: ${s.fsType} is not made here`);
      return;
    case 'pv-create':
      await run('lvm', ['pvcreate', '--yes', s.dev]);
      return;
    case 'vg-create':
      await run('lvm', ['vgcreate', '--yes', ...s.tags.flatMap((t) => ['--addtag', t]), s.vg, s.pv]);
      return;
    case 'pool-create':
      await run('lvm', [
        'lvcreate', '--yes', '--type', 'thin-pool', ...('bytes' in s.size ? ['--size', `${s.size.bytes}b`] : ['--extents', `${s.size.percent}%FREE`]),
        '--poolmetadatasize', `${s.metadataBytes}b`, '--name', s.name, ...s.tags.flatMap((t) => ['--addtag', t]), s.vg,
      ]);
      return;
    case 'grub-install':
      await grubInstall(s);
      return;
  }
}

/** grub-install and grub-mkconfig of the layer itself, with the disk's /boot (and ESP) mounted where it expects them. */
async function grubInstall(s: Extract<Step, { kind: 'grub-install' }>): Promise<void> {
  const target = s.firmware === 'bios'
    ? ['--target=i386-pc', s.disk]
    : ['--target=x86_64-efi', '--efi-directory=/boot/efi', '--removable', '--no-nvram'];
  const extra = [{ dev: s.boot, at: 'boot' }, ...(s.esp ? [{ dev: s.esp, at: 'boot/efi' }] : [])];
  await activateLv(s.vg, s.lv, { ignoreSkip: true });
  try {
    await withMounted(lvPath(s.vg, s.lv), (dir) => withApiMounts(dir, async (chroot) => {
      await chroot('grub-install', target);
      await chroot('grub-mkconfig', ['-o', '/boot/grub/grub.cfg']);
    }, extra));
  } finally {
    await deactivateLv(s.vg, s.lv).catch(() => undefined);
  }
}
