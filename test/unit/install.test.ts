// imgbase install, pure: the disk preflight from lsblk/pvs facts, the partition table, the fstab, and the plan's
// order (disk, base and layer as layout --init makes them, the boot part, GRUB from the layer, the VG tag last).
import { describe, expect, it } from 'vitest';
import { expectApplyRunsPrinted } from './helpers/plan-fixtures';
import { GiB, MiB, installedFstab, installPreflight, parseLsblk, parsePoolSize, partitionLayout, partitionPath, type DiskFacts } from '../../src/core/install';
import { planInstall, type InstallRequest } from '../../src/core/plans/install';
import { parseSize } from '../../src/core/space';
import { renderPlan, touches } from '../../src/core/steps';
import { TAGS } from '../../src/core/inventory';

const LSBLK = (children: unknown[] = [], extra: Record<string, unknown> = {}): string => JSON.stringify({
  blockdevices: [{ path: '/dev/vdb', type: 'disk', size: 16 * GiB, fstype: null, pttype: null, mountpoints: [null], children, ...extra }],
});
const facts = (o: Partial<DiskFacts> = {}, json = LSBLK()): DiskFacts => ({ disk: parseLsblk(json), rootDisks: ['/dev/vda'], pvs: [{ pv: '/dev/vda2', vg: 'HostVG', active: true }], vgs: ['HostVG'], ...o });
const OPTS = { vg: 'InstVG', wipe: false, fw: 'bios' as const, sizes: { bootBytes: GiB, pool: { percent: 90 } }, imageUsedBytes: 2 * GiB, runDir: '/run/imgbased' };

describe('installPreflight', () => {
  it('a blank disk passes', () => {
    expect(() => installPreflight(facts(), OPTS)).not.toThrow();
  });
  it('refuses the running root\'s disk, a partition, a mounted partition, an active PV, a taken VG name, a small disk', () => {
    expect(() => installPreflight(facts({ rootDisks: ['/dev/vdb'] }), OPTS)).toThrow(/^install: \/dev\/vdb holds the running root$/);
    const part = JSON.stringify({ blockdevices: [{ path: '/dev/vdb1', type: 'part', size: GiB }] });
    expect(() => installPreflight(facts({}, part), OPTS)).toThrow(/is a part, not a whole disk/);
    const mounted = LSBLK([{ path: '/dev/vdb1', type: 'part', size: GiB, fstype: 'ext4', mountpoints: ['/mnt'] }], { pttype: 'gpt' });
    expect(() => installPreflight(facts({}, mounted), { ...OPTS, wipe: true })).toThrow(/\/dev\/vdb1 is mounted on \/mnt/);
    const pv = LSBLK([{ path: '/dev/vdb1', type: 'part', size: GiB, fstype: 'LVM2_member', mountpoints: [null] }], { pttype: 'gpt' });
    expect(() => installPreflight(facts({ pvs: [{ pv: '/dev/vdb1', vg: 'OldVG', active: true }] }, pv), { ...OPTS, wipe: true })).toThrow(/\/dev\/vdb1 is a PV of VG OldVG, which is active/);
    expect(() => installPreflight(facts(), { ...OPTS, vg: 'HostVG' })).toThrow(/already has a VG named HostVG/);
    expect(() => installPreflight(facts({}, LSBLK([], { size: 2 * GiB })), OPTS)).toThrow(/has 2\.00GiB, .* needed/);
  });
  it('reads lsblk\'s flat list (no NAME column) like its tree', () => {
    const flat = JSON.stringify({ blockdevices: [
      { path: '/dev/vdb', type: 'disk', size: 4 * GiB, fstype: null, pttype: 'gpt', mountpoints: [null] },
      { path: '/dev/vdb1', type: 'part', size: 64 * MiB, fstype: 'ext4', pttype: 'gpt', mountpoints: ['/mnt/v'] },
    ] });
    expect(parseLsblk(flat).children.map((c) => c.path)).toEqual(['/dev/vdb1']);
    expect(() => installPreflight(facts({}, flat), { ...OPTS, wipe: true })).toThrow(/\/dev\/vdb1 is mounted on \/mnt\/v/);
  });

  it('a disk with a table or a filesystem needs --wipe; a VG an install left on this disk is erased with it', () => {
    const used = LSBLK([{ path: '/dev/vdb1', type: 'part', size: GiB, fstype: 'LVM2_member', mountpoints: [null] }], { pttype: 'gpt' });
    const left = { pvs: [{ pv: '/dev/vdb1', vg: 'InstVG', active: false }], vgs: ['HostVG', 'InstVG'] };
    expect(() => installPreflight(facts(left, used), OPTS)).toThrow(/^install: \/dev\/vdb holds a gpt partition table, LVM2_member on \/dev\/vdb1$/);
    expect(() => installPreflight(facts(left, used), { ...OPTS, wipe: true })).not.toThrow();
  });

  it("an install killed after its VG existed: --wipe takes that VG down (its mounts under /run/imgbased too); another VG's still refuses", () => {
    const lsblk = LSBLK([
      { path: '/dev/vdb2', type: 'part', size: GiB, fstype: 'ext4', mountpoints: ['/run/imgbased/install-boot'] },
      { path: '/dev/vdb3', type: 'part', size: 8 * GiB, fstype: 'LVM2_member', mountpoints: [null], children: [
        { path: '/dev/mapper/BiosVG-Image--1.0--0', type: 'lvm', size: 4 * GiB, fstype: 'ext4', mountpoints: ['/run/imgbased/mnt/mAbc'] },
      ] },
    ], { pttype: 'gpt' });
    const stopped = { pvs: [{ pv: '/dev/vdb3', vg: 'BiosVG', active: true, tags: [TAGS.installing] }], vgs: ['HostVG', 'BiosVG'] };
    expect(() => installPreflight(facts(stopped, lsblk), { ...OPTS, vg: 'BiosVG' }))
      .toThrow(/^install: \/dev\/vdb holds VG BiosVG of an install that did not finish$/);
    expect(installPreflight(facts(stopped, lsblk), { ...OPTS, vg: 'BiosVG', wipe: true }))
      .toEqual({ takeDown: { vg: 'BiosVG', mounts: ['/run/imgbased/install-boot', '/run/imgbased/mnt/mAbc'] } });
    // Finished (imgbased:vg), or never ours: the same disk is refused as before.
    const done = { ...stopped, pvs: [{ ...stopped.pvs[0]!, tags: [TAGS.vg] }] };
    expect(() => installPreflight(facts(done, lsblk), { ...OPTS, vg: 'BiosVG', wipe: true })).toThrow(/is mounted on \/run\/imgbased\/install-boot/);
    const unmounted = LSBLK([{ path: '/dev/vdb3', type: 'part', size: 8 * GiB, fstype: 'LVM2_member', mountpoints: [null] }], { pttype: 'gpt' });
    expect(() => installPreflight(facts({ ...stopped, pvs: [{ ...stopped.pvs[0]!, tags: [] }] }, unmounted), { ...OPTS, vg: 'BiosVG', wipe: true }))
      .toThrow(/\/dev\/vdb3 is a PV of VG BiosVG, which is active/);
  });
});

describe('partitions, sizes, fstab', () => {
  it('GPT: BIOS boot or ESP, /boot, the PV; partition names for nvme too', () => {
    const bios = partitionLayout('/dev/vdb', 'bios', GiB);
    expect(bios.script.split('\n')[0]).toBe('label: gpt');
    expect(bios.script).toContain('start=2048, size=2048, type=21686148-6449-6E6F-744E-656564454649');
    expect(bios).toMatchObject({ esp: null, boot: '/dev/vdb2', pv: '/dev/vdb3' });
    const uefi = partitionLayout('/dev/nvme0n1', 'uefi', GiB);
    expect(uefi.script).toContain(`size=${(256 * MiB) / 512}, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B`);
    expect(uefi).toMatchObject({ esp: '/dev/nvme0n1p1', boot: '/dev/nvme0n1p2', pv: '/dev/nvme0n1p3' });
    expect(partitionPath('/dev/sda', 3)).toBe('/dev/sda3');
  });
  it('--pool-size: a size or a share', () => {
    expect(parsePoolSize('90%', parseSize)).toEqual({ percent: 90 });
    expect(parsePoolSize('20G', parseSize)).toEqual({ bytes: 20 * GiB });
    expect(parsePoolSize('0%', parseSize)).toBeNull();
    expect(parsePoolSize('101%', parseSize)).toBeNull();
    expect(parsePoolSize('lots', parseSize)).toBeNull();
  });
  it('the layer\'s fstab: the image\'s lines less /, /boot and /boot/efi, then this disk\'s by UUID', () => {
    const img = '# static\nUUID=old / ext4 defaults 0 1\nUUID=oldboot /boot ext4 defaults 0 2\n/dev/sdb1 /srv xfs defaults 0 2\n\n';
    expect(installedFstab(img, 'b-uuid', null)).toBe('# static\n/dev/sdb1 /srv xfs defaults 0 2\n# imgbase install: / comes from the kernel command line (imgbased.layer=, root=)\nUUID=b-uuid /boot ext4 defaults 0 2\n');
    expect(installedFstab('', 'b', 'ABCD-1234')).toContain('UUID=ABCD-1234 /boot/efi vfat umask=0077 0 1\n');
  });
});

describe('planInstall', () => {
  const REQ: InstallRequest = {
    disk: '/dev/vdb', firmware: 'bios', vg: 'InstVG', name: 'Image-1.0-0', sizes: { bootBytes: GiB, pool: { percent: 90 } },
    img: { path: '/var/tmp/img.raw', fsType: 'ext4', fsSizeBytes: 4 * GiB, usedBytes: GiB },
    kernel: { vg: 'InstVG', lv: 'Image-1.0-0', version: '6.1.0-9-amd64', kernel: { in: 'lv', path: 'boot/vmlinuz-6.1.0-9-amd64' }, initrd: { in: 'lv', path: 'boot/initrd.img-6.1.0-9-amd64' }, osRelease: 'PRETTY_NAME="Img"\n', bytes: 40 * MiB },
    copyIn: [], imageFstab: '', data: [], kernelArgs: ['console=ttyS0,115200'], bootUuid: '11111111-2222-3333-4444-555555555555', espUuid: null, bootMount: '/run/imgbased/install-boot',
  };
  it('disk, then base and layer (incomplete until complete), the boot part on the new /boot, GRUB, the VG tag last', () => {
    const { steps, layer } = planInstall(REQ);
    expect(layer).toBe('Image-1.0-0+1');
    expect(steps.map((s) => s.kind)).toEqual([
      'wipe-disk', 'partition', 'mkfs-dev', 'pv-create', 'vg-create', 'pool-create',
      'thin-lv', 'activate', 'copy-image', 'new-fs-uuid', 'deactivate', 'read-only', 'snapshot', 'activate', 'new-fs-uuid', 'fstab-write', 'deactivate', 'mount-dev',
      'copy-kernel', 'lv-untag', 'lv-untag', 'write-entry', 'write-menu', 'settle-boot',
      'grub-install', 'settle-boot', 'umount', 'vg-tag',
    ]);
    expect(steps.at(-1)).toEqual({ kind: 'vg-tag', vg: 'InstVG', tag: TAGS.vg, drop: TAGS.installing });
    expect(steps.find((s) => s.kind === 'vg-create')).toMatchObject({ tags: [TAGS.installing] });
    const entry = steps.find((s) => s.kind === 'write-entry') as Extract<typeof steps[number], { kind: 'write-entry' }>;
    expect(entry.file).toBe('/run/imgbased/install-boot/loader/entries/imgbased-Image-1.0-0_1.conf');
    expect(entry.content).toMatch(/^linux \/imgbased\/Image-1\.0-0\/vmlinuz-6\.1\.0-9-amd64$/m);
    expect(entry.content).toMatch(/^options root=\/dev\/InstVG\/Image-1\.0-0\+1 rd\.lvm\.lv=InstVG\/Image-1\.0-0\+1 rw console=ttyS0,115200 .*imgbased\.layer=Image-1\.0-0\+1/m);
    expect(steps.find((s) => s.kind === 'fstab-write')).toMatchObject({ content: expect.stringContaining('UUID=11111111-2222-3333-4444-555555555555 /boot ext4') });
    expect(steps.flatMap(touches)).not.toContain('/dev/vda');
    expect(renderPlan(steps)[2]).toBe('  2. write a GPT to /dev/vdb: BIOS boot, boot, imgbased');
  });
  it('uefi: an ESP first; an image without our module: its initramfs built in the layer, after imgbased is copied in', () => {
    const { steps } = planInstall({ ...REQ, firmware: 'uefi', espUuid: 'ABCD-1234', copyIn: ['/usr/sbin/imgbase'], initrd: { out: 'boot/initrd.img-6.1.0-9-amd64', install: [] } });
    const k = steps.map((s) => s.kind);
    expect(steps.filter((s) => s.kind === 'mkfs-dev').map((s) => (s as { fsType: string }).fsType)).toEqual(['vfat', 'ext4']);
    expect(k.indexOf('copy-in')).toBeLessThan(k.indexOf('build-initrd'));
    expect(steps.find((s) => s.kind === 'copy-kernel')).toMatchObject({ source: { lv: 'Image-1.0-0+1' } });
    expect(steps.find((s) => s.kind === 'grub-install')).toMatchObject({ firmware: 'uefi', esp: '/dev/vdb1', boot: '/dev/vdb2' });
  });
  it('data volumes: made in the new pool (incomplete until complete), filled from the image\'s tree, named by the layer\'s fstab', () => {
    const vol = (path: string, current: { usedBytes: number } | null): InstallRequest['data'][number] => ({
      path, sizeBytes: 4 * GiB, fsType: 'ext4', current, ...(current ? { copyFrom: `/run/imgbased/mnt/x${path}` } : {}),
      mountedFrom: null, fstab: { file: "the image's /etc/fstab", text: '' },
    });
    const { steps } = planInstall({ ...REQ, data: [vol('/home', null), vol('/var/log', { usedBytes: MiB })] });
    expect(steps.filter((s) => s.kind === 'thin-lv').map((s) => s.name)).toEqual(['Image-1.0-0', 'data-home', 'data-var-log']);
    expect(steps.find((s) => s.kind === 'thin-lv' && s.name === 'data-home')).toMatchObject({ tags: [TAGS.data, TAGS.incomplete], autoActivate: true, pool: 'pool' });
    expect(steps.filter((s) => s.kind === 'copy-dir')).toEqual([{ kind: 'copy-dir', vg: 'InstVG', lv: 'data-var-log', from: '/run/imgbased/mnt/x/var/log' }]);
    const fstab = (steps.find((s) => s.kind === 'fstab-write') as { content: string }).content;
    expect(fstab).toContain('/dev/InstVG/data-home /home ext4 defaults 0 2\n/dev/InstVG/data-var-log /var/log ext4 defaults 0 2\n');
    expect(steps.filter((s) => s.kind === 'lv-untag').map((s) => s.lv)).toEqual(['data-home', 'data-var-log', 'Image-1.0-0', 'Image-1.0-0+1']);
    expect(() => planInstall({ ...REQ, data: [vol('/home', null), vol('/home', null)] })).toThrow(/\/home given twice/);
    expect(() => planInstall({ ...REQ, data: [{ ...vol('/srv', null), fstab: { file: "the image's /etc/fstab", text: '/dev/sdb1 /srv xfs defaults 0 2\n' } }] })).toThrow(/already mounts \/dev\/sdb1 on \/srv/);
  });
  it.each(['bios', 'uefi'] as const)('%s: apply runs exactly the steps --dry-run prints, in that order', async (firmware) => {
    const { steps } = planInstall({ ...REQ, firmware, espUuid: firmware === 'uefi' ? 'ABCD-1234' : null });
    await expectApplyRunsPrinted(steps);
  });
});
