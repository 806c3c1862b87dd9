// Issue 14 (BIOS): `imgbase install` from an image to a blank second disk, then that disk booted alone through its
// own GRUB. Two qemu runs:
//   install  the project disk (direct boot) with two blank disks: vdb (4 GiB), vdc (1 GiB). The image: this root
//            (imgbased and the lab agent installed) as a raw ext4, with the kernel and initramfs in its /boot.
//            Refused, each with vdb unchanged byte for byte: vda (the running root's), vdb holding a partition
//            table (no --wipe), vdb with a partition mounted, vdc (too small), an image without a kernel;
//            --dry-run (the plan printed, vdb unchanged). An install failed at its GRUB step, then the install
//            (--wipe: vdb holds what the failed one left).
//   booted   vdb alone, through SeaBIOS and its own GRUB: / is the first layer, chosen by our initramfs;
//            `imgbase layout` and `imgbase check` are OK.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { boot, expectDone, outFile, overlay, type BootResult } from './lab';
import { outputDir } from './lab/paths';
import { RECORD_SH } from './script-run';

const VG = 'InstVG';
const BASE = 'Inst-1.0-0';
const LAYER = `${BASE}+1`;

const INSTALL = String.raw`set -u
${RECORD_SH}mountpoint -q /boot || mount /boot
kv=$(uname -r)
disksum() { sha256sum "$1" | cut -d' ' -f1; }
# The image: a snapshot of this root copied as a raw ext4 (used blocks only), named by its os-release.
lvcreate -qq -s -n imgsrc HostVG/root && lvchange -qq -ay -K HostVG/imgsrc
e2image -ra /dev/HostVG/imgsrc /var/tmp/img.raw
lvchange -qq -an HostVG/imgsrc && lvremove -qq -f HostVG/imgsrc
mkdir -p /mnt/img && mount -o loop /var/tmp/img.raw /mnt/img
cp "/boot/vmlinuz-$kv" "/boot/initrd.img-$kv" /mnt/img/boot/
printf 'IMAGE_ID=Inst\nIMAGE_VERSION=1.0-0\n' >>/mnt/img/usr/lib/os-release
umount /mnt/img
# An image without a kernel.
mkdir -p /var/tmp/nok/etc && printf 'ID=debian\nVERSION_ID=12\n' >/var/tmp/nok/etc/os-release && mkfs.ext4 -q -d /var/tmp/nok /var/tmp/nok.raw 64M
I="imgbase install --from /var/tmp/img.raw --vg ${VG} --kernel-arg console=ttyS0,115200"

s0=$(disksum /dev/vdb)
t root $I --disk /dev/vda --wipe
t nokernel imgbase install --from /var/tmp/nok.raw --disk /dev/vdb
t small $I --disk /dev/vdc
t dry $I --disk /dev/vdb --dry-run
echo "$s0 $(disksum /dev/vdb)" >"$O/sum-blank"
printf 'label: gpt\nsize=64MiB, type=linux\n' | sfdisk -q /dev/vdb && udevadm settle && mkfs.ext4 -q /dev/vdb1
s1=$(disksum /dev/vdb)
lsblk --json --bytes -o PATH,TYPE,SIZE,FSTYPE,PTTYPE,MOUNTPOINTS /dev/vdb >"$O/lsblk-table.json" 2>&1
t table $I --disk /dev/vdb
mkdir -p /mnt/v && mount -o ro /dev/vdb1 /mnt/v
lsblk --json --bytes -o PATH,TYPE,SIZE,FSTYPE,PTTYPE,MOUNTPOINTS /dev/vdb >"$O/lsblk-mounted.json" 2>&1
t mounted $I --disk /dev/vdb --wipe
umount /mnt/v
echo "$s1 $(disksum /dev/vdb)" >"$O/sum-table"
# A failure at the GRUB step: the VG is left untagged and inactive; the same install with --wipe starts over.
t faulted env IMGBASED_FAULT=grub-install $I --disk /dev/vdb --wipe
vgs --noheadings -o vg_name,vg_tags ${VG} >"$O/faulted-vg.txt" 2>&1
lvs --noheadings -o lv_name,lv_active ${VG} | awk '$2 == "active"' >"$O/faulted-active.txt" 2>&1
t0=$(date +%s)
t install $I --disk /dev/vdb --wipe
mark install-took "$(( $(date +%s) - t0 ))"
lvs --noheadings -o lv_name,lv_tags,vg_tags ${VG} >"$O/lvs.txt" 2>&1
sfdisk --dump /dev/vdb >"$O/table.txt" 2>&1
vgchange -qq -an ${VG}
sync
`;

const BOOTED = String.raw`set -u
${RECORD_SH}mark root "$(findmnt -no SOURCE /)"
t layout imgbase layout --json
t check imgbase check
t w imgbase w
cp /run/imgbased/boot-status.json "$O/boot-status.json" 2>&1
findmnt -no SOURCE /boot >"$O/boot-src" 2>&1
cat /proc/cmdline >"$O/cmdline"
`;

let A: BootResult;
let B: BootResult;
const fa = (n: string): string => outFile(A, n).trim();
const fb = (n: string): string => outFile(B, n).trim();

// Not in npm test yet (issue 14 is open: UEFI to come): `npm run test:install`.
describe.runIf(process.env.IMGBASED_INSTALL === '1')('imgbase install: an image to a blank disk that then boots alone (BIOS)', () => {
  const dir = outputDir('install-disks');
  const vdb = path.join(dir, 'vdb.qcow2');
  const vdc = path.join(dir, 'vdc.qcow2');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  beforeAll(async () => {
    const lab = inject('lab');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', vdb, '4G']);
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', vdc, '1G']);
    const disk = await overlay(lab.projectDisk, 'install');
    A = await boot({
      name: 'install', disk, kernel: lab.projectKernel, initrd: lab.projectInitrd, append: lab.hostAppend,
      extraDisks: [vdb, vdc], script: INSTALL, timeoutS: 2400,
    });
    expectDone(A);
    console.log(`install: ${A.markers['install-took']?.[0]} s for the install`);
    B = await boot({ name: 'install-booted', disk: vdb, script: BOOTED, timeoutS: 900 });
    expectDone(B);
  }, 60 * 60_000);

  it('refused, with the disk unchanged: the running root\'s disk, a table without --wipe, a mounted partition, too small, no kernel; --dry-run', () => {
    expect(Number(fa('root.rc'))).toBe(2);
    expect(fa('root.err')).toMatch(/^imgbase: install: \/dev\/vda holds the running root/);
    expect(Number(fa('nokernel.rc'))).toBe(2);
    expect(fa('nokernel.err')).toMatch(/holds no kernel/);
    expect(Number(fa('small.rc'))).toBe(2);
    expect(fa('small.err')).toMatch(/^imgbase: install: \/dev\/vdc has 1\.00GiB, .* needed/);
    expect(Number(fa('dry.rc'))).toBe(0);
    expect(fa('dry.out')).toMatch(/^ {2}\d+\. write a GPT to \/dev\/vdb: BIOS boot, boot, imgbased$/m);
    expect(fa('dry.out')).toMatch(/install GRUB \(i386-pc/);
    const [b0, b1] = fa('sum-blank').split(' ');
    expect(b1).toBe(b0);
    expect(Number(fa('table.rc'))).toBe(2);
    expect(fa('table.err')).toMatch(/^imgbase: install: \/dev\/vdb holds a gpt partition table, ext4 on \/dev\/vdb1/);
    expect(Number(fa('mounted.rc'))).toBe(2);
    expect(fa('mounted.err')).toMatch(/\/dev\/vdb1 is mounted on \/mnt\/v/);
    const [t0, t1] = fa('sum-table').split(' ');
    expect(t1).toBe(t0);
  });

  it('a failure half-way leaves no layout (the VG untagged, inactive) and says so; the same install with --wipe starts over', () => {
    expect(Number(fa('faulted.rc'))).toBe(1);
    expect(fa('faulted.err')).toMatch(/injected fault at step \d+ \(grub-install\); \/dev\/vdb holds no valid layout \(VG InstVG is not tagged\)/);
    expect(fa('faulted.err')).toMatch(/run the same install with --wipe to start over/);
    expect(fa('faulted-vg.txt')).toBe(VG);
    expect(fa('faulted-active.txt')).toBe('');
  });

  it('installs: GPT with a BIOS boot partition, /boot, the PV; VG tagged like a layout --init host', () => {
    expect(Number(fa('install.rc')), fa('install.err')).toBe(0);
    expect(fa('install.out')).toBe(`installed /dev/vdb (bios): VG ${VG}, base ${BASE}, layer ${LAYER}; boot from /dev/vdb`);
    expect(fa('table.txt')).toMatch(/type=21686148-6449-6E6F-744E-656564454649/);
    const lvs = fa('lvs.txt');
    expect(lvs).toMatch(new RegExp(`^\\s*${BASE.replace(/[.+]/g, '\\$&')}\\s+imgbased:base\\s+imgbased:vg`, 'm'));
    expect(lvs).toMatch(new RegExp(`^\\s*${LAYER.replace(/[.+]/g, '\\$&')}\\s+imgbased:layer\\s+imgbased:vg`, 'm'));
    expect(lvs).toMatch(/^\s*pool\s+imgbased:pool\s+imgbased:vg/m);
  });

  it('the disk boots alone through its own GRUB: / is the first layer, picked by our initramfs; layout and check OK', () => {
    expect(B.markers.root).toEqual([`/dev/mapper/${VG}-${LAYER.replace(/-/g, '--')}`]);
    expect(JSON.parse(fb('boot-status.json'))).toMatchObject({ booted: LAYER, vg: VG });
    expect(fb('cmdline')).toContain(`imgbased.layer=${LAYER}`);
    expect(Number(fb('layout.rc'))).toBe(0);
    expect(JSON.parse(fb('layout.out'))).toMatchObject({ vg: VG, pool: 'pool', bases: [{ name: BASE, layers: [LAYER] }] });
    expect(Number(fb('check.rc')), fb('check.out')).toBe(0);
    expect(fb('w.out')).toContain(LAYER);
    expect(fb('boot-src')).toBe('/dev/vda2');
  });
});
