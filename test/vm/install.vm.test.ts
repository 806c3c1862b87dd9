// Issue 14: `imgbase install` from an image to a blank second disk, then that disk booted alone through its own
// GRUB, on BIOS and on UEFI. Three qemu runs:
//   install  the project disk (direct boot) with three blank disks: vdb (4 GiB), vdc (1 GiB), vdd (4 GiB). The image:
//            this root (imgbased and the lab agent installed) as a raw ext4, with the kernel and initramfs in its
//            /boot. Refused, each with vdb unchanged byte for byte: vda (the running root's), vdb holding a partition
//            table (no --wipe), vdb with a partition mounted, vdc (too small), an image without a kernel;
//            --dry-run (the plan printed, vdb unchanged). An install failed at its GRUB step, then the install
//            (--wipe: vdb holds what the failed one left). Then vdd with --firmware uefi.
//   booted   vdb alone, through SeaBIOS and its own GRUB: / is the first layer, chosen by our initramfs;
//            `imgbase layout` and `imgbase check` are OK.
//   uefi     vdd alone, through OVMF and its own GRUB (EFI/BOOT/BOOTX64.EFI), four boots in one qemu run: the first
//            layer (layout, check OK; a second layer added; a dry-run install to a blank vdb without --firmware picks
//            UEFI; `boot --next` the first); `boot --next` honoured; then
//            `boot --set-default`; then the default's filesystem broken: our initramfs falls back to the other.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { boot, expectDone, outFile, overlay, type BootResult } from './lab';
import { outputDir } from './lab/paths';
import { RECORD_SH } from './script-run';
import { layerSh, phasesSh } from './guest-sh';
import { breakLayerScript } from './initrd-fixture';

const VG = 'InstVG';
const BASE = 'Inst-1.0-0';
const LAYER = `${BASE}+1`;
const LAYER2 = `${BASE}+2`;
const EFI_VG = 'EfiVG';

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
mkdir -p /run/imgbased && echo grub-install >/run/imgbased/fault-injection && t faulted $I --disk /dev/vdb --wipe
vgs --noheadings -o vg_name,vg_tags ${VG} >"$O/faulted-vg.txt" 2>&1
lvs --noheadings -o lv_name,lv_active ${VG} | awk '$2 == "active"' >"$O/faulted-active.txt" 2>&1
t0=$(date +%s)
t install $I --disk /dev/vdb --wipe
mark install-took "$(( $(date +%s) - t0 ))"
lvs --noheadings -o lv_name,lv_tags,vg_tags ${VG} >"$O/lvs.txt" 2>&1
sfdisk --dump /dev/vdb >"$O/table.txt" 2>&1
vgchange -qq -an ${VG}
# Refused as well: a disk that is a PV of an active VG, a VG name this machine has.
vgchange -qq -ay ${VG}
t activepv $I --disk /dev/vdb --wipe
vgchange -qq -an ${VG}
t vgtaken imgbase install --from /var/tmp/img.raw --vg HostVG --disk /dev/vdd --dry-run
# UEFI: an ESP instead of the BIOS boot partition, GRUB for x86_64-efi on the removable path.
U="imgbase install --from /var/tmp/img.raw --vg ${EFI_VG} --firmware uefi --kernel-arg console=ttyS0,115200 --disk /dev/vdd"
t udry $U --dry-run
t0=$(date +%s)
t uefi $U
mark uefi-took "$(( $(date +%s) - t0 ))"
sfdisk --dump /dev/vdd >"$O/table-uefi.txt" 2>&1
blkid -o export /dev/vdd1 >"$O/esp-blkid.txt" 2>&1
mkdir -p /mnt/esp && mount -o ro /dev/vdd1 /mnt/esp && (cd /mnt/esp && find . -type f | sort) >"$O/esp-files.txt" 2>&1
umount /mnt/esp
vgchange -qq -an ${EFI_VG}
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

/** The UEFI disk, four boots through OVMF and its own GRUB: first layer; boot --next; --set-default; fallback. */
const UEFI = String.raw`set -u
${RECORD_SH}${phasesSh('uefi-state', 'first')}${layerSh(EFI_VG)}
rec() {
  mark "root-$1" "$(running)"
  cp /run/imgbased/boot-status.json "$O/$1-boot-status.json" 2>&1
  cat /proc/cmdline >"$O/$1-cmdline"
}
case $PHASE in
first)
  rec first
  mark efi "$([ -d /sys/firmware/efi ] && echo yes || echo no)"
  findmnt -no SOURCE,FSTYPE /boot/efi >"$O/esp-mount" 2>&1
  t layout imgbase layout --json
  t check imgbase check
  t add imgbase layer --add
  # No --firmware: a machine booted through UEFI installs for UEFI. The image: the base's kernel, initramfs, GRUB
  # for x86_64-efi and os-release, enough for the dry run's reads; vdb is blank.
  lvchange -qq -ay -K ${EFI_VG}/${BASE} && mkdir -p /mnt/base && mount -o ro /dev/${EFI_VG}/${BASE} /mnt/base
  mkdir -p /var/tmp/fw/boot /var/tmp/fw/etc /var/tmp/fw/usr/lib/grub
  cp /mnt/base/boot/vmlinuz-* /mnt/base/boot/initrd.img-* /var/tmp/fw/boot/
  cp -a /mnt/base/usr/lib/grub/x86_64-efi /var/tmp/fw/usr/lib/grub/
  cp /mnt/base/usr/lib/os-release /var/tmp/fw/etc/os-release
  umount /mnt/base
  mkfs.ext4 -q -d /var/tmp/fw /var/tmp/fw.raw 256M
  t fwdefault imgbase install --from /var/tmp/fw.raw --name Fw-1.0-0 --vg FwVG --disk /dev/vdb --dry-run
  t next imgbase boot --next ${LAYER}
  goto next; reboot_now ;;
next)
  rec next
  t setdef imgbase boot --set-default ${LAYER}
  goto pinned; reboot_now ;;
pinned)
  rec pinned
  t setdef2 imgbase boot --set-default ${LAYER2}
  ${breakLayerScript(LAYER2, EFI_VG).trim().replace(/\n/g, '\n  ')}
  goto fallback; reboot_now ;;
fallback)
  rec fallback
  t check2 imgbase check
  goto done ;;
esac
`;

let A: BootResult;
let B: BootResult;
let C: BootResult;
const fa = (n: string): string => outFile(A, n).trim();
const fb = (n: string): string => outFile(B, n).trim();
const fc = (n: string): string => outFile(C, n).trim();

// Not in npm test (a whole-disk hash under TCG costs minutes): `npm run test:install`.
describe.runIf(process.env.IMGBASED_INSTALL === '1')('imgbase install: an image to a blank disk that then boots alone (BIOS, UEFI)', () => {
  const dir = outputDir('install-disks');
  const vdb = path.join(dir, 'vdb.qcow2');
  const vdc = path.join(dir, 'vdc.qcow2');
  const vdd = path.join(dir, 'vdd.qcow2');
  const fwBlank = path.join(dir, 'fw-blank.qcow2');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  beforeAll(async () => {
    const lab = inject('lab');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', vdb, '4G']);
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', vdc, '1G']);
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', vdd, '4G']);
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', fwBlank, '4G']);
    const disk = await overlay(lab.projectDisk, 'install');
    A = await boot({
      name: 'install', disk, kernel: lab.projectKernel, initrd: lab.projectInitrd, append: lab.hostAppend,
      extraDisks: [vdb, vdc, vdd], script: INSTALL, timeoutS: 3000,
    });
    expectDone(A);
    console.log(`install: ${A.markers['install-took']?.[0]} s for the BIOS install, ${A.markers['uefi-took']?.[0]} s for the UEFI one`);
    [B, C] = await Promise.all([
      boot({ name: 'install-booted', disk: vdb, script: BOOTED, timeoutS: 900 }),
      boot({ name: 'install-uefi', disk: vdd, firmware: 'uefi', reboots: true, extraDisks: [fwBlank], script: UEFI, timeoutS: 2400 }),
    ]);
    expectDone(B);
    expectDone(C);
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

  it('refused: a PV of an active VG (the installed one, activated), a VG name this machine already has', () => {
    expect(Number(fa('activepv.rc'))).toBe(2);
    expect(fa('activepv.err')).toMatch(new RegExp(`^imgbase: install: /dev/vdb3 is a PV of VG ${VG}, which is active`));
    expect(Number(fa('vgtaken.rc'))).toBe(2);
    expect(fa('vgtaken.err')).toMatch(/^imgbase: install: this machine already has a VG named HostVG/);
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

  it('installs for UEFI: an ESP (FAT) holding only EFI/BOOT/BOOTX64.EFI, /boot, the PV; the dry run names the ESP and x86_64-efi', () => {
    expect(Number(fa('udry.rc')), fa('udry.err')).toBe(0);
    expect(fa('udry.out')).toMatch(/^ {2}\d+\. write a GPT to \/dev\/vdd: ESP, boot, imgbased$/m);
    expect(fa('udry.out')).toMatch(/install GRUB \(x86_64-efi, removable path on the ESP\)/);
    expect(Number(fa('uefi.rc')), fa('uefi.err')).toBe(0);
    expect(fa('uefi.out')).toBe(`installed /dev/vdd (uefi): VG ${EFI_VG}, base ${BASE}, layer ${LAYER}; boot from /dev/vdd`);
    expect(fa('table-uefi.txt')).toMatch(/type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B/);
    expect(fa('esp-blkid.txt')).toMatch(/^TYPE=vfat$/m);
    // Only GRUB's EFI image: grub.cfg, modules and grubenv live in /boot/grub on the ext4 /boot, as on BIOS.
    expect(fa('esp-files.txt')).toBe('./EFI/BOOT/BOOTX64.EFI');
  });

  it('the UEFI disk boots alone through OVMF and its own GRUB: / is the first layer; layout and check OK; /boot/efi mounted', () => {
    expect(C.markers['root-first']).toEqual([LAYER]);
    expect(C.markers.efi).toEqual(['yes']);
    expect(JSON.parse(fc('first-boot-status.json'))).toMatchObject({ booted: LAYER, vg: EFI_VG });
    expect(fc('first-cmdline')).toContain(`imgbased.layer=${LAYER}`);
    expect(fc('esp-mount')).toBe('/dev/vda1 vfat');
    expect(Number(fc('layout.rc'))).toBe(0);
    expect(JSON.parse(fc('layout.out'))).toMatchObject({ vg: EFI_VG, bases: [{ name: BASE, layers: [LAYER] }] });
    expect(Number(fc('check.rc')), fc('check.out')).toBe(0);
    expect(Number(fc('add.rc')), fc('add.err')).toBe(0);
  });

  it('without --firmware, a machine booted through UEFI installs for UEFI: the dry run names the ESP and x86_64-efi', () => {
    expect(Number(fc('fwdefault.rc')), fc('fwdefault.err')).toBe(0);
    expect(fc('fwdefault.out')).toMatch(/^ {2}\d+\. write a GPT to \/dev\/vdb: ESP, boot, imgbased$/m);
    expect(fc('fwdefault.out')).toMatch(/install GRUB \(x86_64-efi, removable path on the ESP\)/);
  });

  it('on UEFI, boot --next boots the named layer once, --set-default pins one, and a broken default falls back in the initramfs', () => {
    expect(Number(fc('next.rc')), fc('next.err')).toBe(0);
    expect(C.markers['root-next']).toEqual([LAYER]);
    expect(JSON.parse(fc('next-boot-status.json'))).toMatchObject({ requested: LAYER, booted: LAYER });
    expect(Number(fc('setdef.rc')), fc('setdef.err')).toBe(0);
    expect(C.markers['root-pinned']).toEqual([LAYER]);
    expect(fc('pinned-cmdline')).toContain(`imgbased.layer=${LAYER}`);
    expect(Number(fc('setdef2.rc')), fc('setdef2.err')).toBe(0);
    expect(C.markers['broken-mounts']).toEqual(['no']);
    expect(C.markers['root-fallback']).toEqual([LAYER]);
    expect(fc('fallback-cmdline')).toContain(`imgbased.layer=${LAYER2}`);
    const s = JSON.parse(fc('fallback-boot-status.json')) as { requested: string; booted: string; fallbacks: { layer: string; why: string }[] };
    expect(s).toMatchObject({ requested: LAYER2, booted: LAYER });
    expect(s.fallbacks[0]!.layer).toBe(LAYER2);
    expect(s.fallbacks[0]!.why).toMatch(/^fsck failed/);
  });
});
