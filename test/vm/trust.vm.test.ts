// Nothing from an image reaches outside its layer, and install onto a second disk survives a kill -9. Two qemu runs:
//   host  the layered host (through its own GRUB) with a blank 8 GiB vdb. A good image (v3, mkimage) and from it a
//         hostile one: /etc -> /root (a host directory), /var/lib/imgbased -> /root, /proc -> /etc: update and
//         install refused, vdb untouched; with /etc made a directory again, install still refused (it would mount
//         /proc on the image's /etc). Before and after each: checksums of the host's /etc, /root, /boot and the
//         start of vdb (where a write through such a link goes: test/unit/confine.test.ts). Then an install of the
//         good image onto vdb is killed (-9) while e2image copies it into the new VG: no process of it is left; the
//         install of the same tree on XFS (a scratch LV) with --wipe succeeds; with the new VG active, the host's
//         `check` is OK and names the other layout in a note; a missing disk or image exits 3.
//   disk  vdb alone, through SeaBIOS and its own GRUB: / is its first layer, on XFS.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { boot, expectDone, outFile, overlay, type BootResult } from './lab';
import { outputDir } from './lab/paths';
import { ensureLayeredHost } from './fixtures/layered';
import { RECORD_SH, recorded } from './script-run';
import { MKIMAGE_SH, WAIT_ASSESS_SH } from './guest-sh';

const VG = 'BiosVG';
const BASE = 'Image-3.0-0';
const LAYER = `${BASE}+1`;

const HOST = String.raw`set -u
${RECORD_SH}${MKIMAGE_SH}${WAIT_ASSESS_SH}mountpoint -q /boot || mount /boot
# The boot's own assessment writes grubenv: done before the checksums start.
waitassess >/dev/null
# The host's files: type, mode, owner, link target and content. Not LVM's archive and backup (every LVM command
# rewrites them).
sums() {
  for d in "$@"; do
    (cd "$d" && find . -xdev ! -path './lvm/archive*' ! -path './lvm/backup*' -printf "$d/%p %y %m %U:%G %l\n" | sort &&
      find . -xdev -type f ! -path './lvm/archive*' ! -path './lvm/backup*' -print0 | sort -z | xargs -0 sha256sum)
  done
}
vdbsum() { { blkid -p /dev/vdb; dd if=/dev/vdb bs=1M count=4 status=none | sha256sum; } 2>&1; }
mkimage Image-2.0-0 3.0-0 /var/tmp/good.img
umount /mnt/img
cp --sparse=always /var/tmp/good.img /var/tmp/hostile.img
mount -o loop /var/tmp/hostile.img /mnt/img
mv /mnt/img/etc /mnt/img/etc.real && ln -s /root /mnt/img/etc
rm -rf /mnt/img/var/lib/imgbased && ln -s /root /mnt/img/var/lib/imgbased
rmdir /mnt/img/proc && ln -s /etc /mnt/img/proc
umount /mnt/img
I="imgbase install --disk /dev/vdb --vg ${VG} --kernel-arg console=ttyS0,115200 --kernel-arg panic=-1"
sums /etc /root >"$O/sums-0"; sums /boot >"$O/boot-0"; vdbsum >"$O/vdb-0"
t upd-etc imgbase update --from /var/tmp/hostile.img
t inst-etc $I --from /var/tmp/hostile.img
sums /etc /root >"$O/sums-1"; sums /boot >"$O/boot-1"; vdbsum >"$O/vdb-1"
# Its /etc back: install still refuses (it would mount /proc on the image's /etc), before writing.
mount -o loop /var/tmp/hostile.img /mnt/img
rm /mnt/img/etc && mv /mnt/img/etc.real /mnt/img/etc
umount /mnt/img
t inst-proc $I --from /var/tmp/hostile.img
sums /etc /root >"$O/sums-2"; sums /boot >"$O/boot-2"; vdbsum >"$O/vdb-2"
rm -f /var/tmp/hostile.img
# The image installed from here on: the same tree on XFS, in a scratch LV (an unmounted block device).
X=/dev/HostVG/xfsimg
lvcreate -qq -y -V 4G -T HostVG/pool -n xfsimg --setactivationskip n
mkfs.xfs -q -f $X && mkdir -p /mnt/x && mount $X /mnt/x
mount -o loop,ro /var/tmp/good.img /mnt/img && cp -a /mnt/img/. /mnt/x/ && umount /mnt/img /mnt/x
t nodisk imgbase install --disk /dev/nonexistent --from $X
t noimage imgbase install --disk /dev/vdb --from /var/tmp/nonexistent.img

# An install (of the ext4 image) onto vdb killed while e2image copies it into its new VG.
$I --from /var/tmp/good.img >"$O/killed.out" 2>"$O/killed.err" &
pid=$!
for i in $(seq 1 600); do pgrep -P "$pid" -x e2image >/dev/null && break; sleep 0.5; done
sleep 2
kids=$(pgrep -P "$pid" | xargs)
for k in $kids; do cat "/proc/$k/comm"; done >"$O/killed-comms.txt" 2>&1
kill -9 "$pid"; wait "$pid" 2>/dev/null
echo "$kids" >"$O/killed-kids.txt"
# A child busy in a write to the disk (state D) takes the signal when that write returns: give it 30 s.
alive() { for k in $kids; do [ -e "/proc/$k/stat" ] && ! grep -q ') Z ' "/proc/$k/stat" && echo "$k"; done; }
for i in $(seq 1 60); do [ -z "$(alive)" ] && break; sleep 0.5; done
mark killed-gone-after "$i"
alive | xargs >"$O/killed-left.txt"
for k in $(alive); do cat "/proc/$k/stat"; done >"$O/killed-left-stat.txt" 2>&1
vgs --noheadings -o vg_tags ${VG} >"$O/killed-vg.txt" 2>&1
rm -f /var/tmp/good.img
t rewipe $I --from $X --wipe
# The killed install's read-only mount of the image stays behind (it died before unmounting): undone by hand.
for m in $(findmnt -rn -o TARGET | grep '^/run/imgbased/mnt/'); do umount "$m"; done
lvremove -qq -f HostVG/xfsimg
lvchange -qq -ay -K ${VG}/${LAYER}
t check imgbase check
vgchange -qq -an ${VG}
`;

const DISK = String.raw`set -u
mark root "$(findmnt -no SOURCE /)"
mark fstype "$(findmnt -no FSTYPE /)"
cp /run/imgbased/boot-status.json "$LAB_OUT/boot-status.json" 2>/dev/null
`;

describe('trust: a hostile image stays in its layer; install onto a second disk survives kill -9; an XFS layer boots', () => {
  const dir = outputDir('trust-disks');
  const vdb = path.join(dir, 'vdb.qcow2');
  let A: BootResult;
  let B: BootResult;
  const a = recorded(() => A);
  const fa = (n: string): string => outFile(A, n);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  beforeAll(async () => {
    const lab = inject('lab');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', vdb, '8G']);
    const layered = await ensureLayeredHost(lab);
    A = await boot({ name: 'trust-host', disk: await overlay(layered.disk, 'trust-host'), extraDisks: [vdb], script: HOST, timeoutS: 2400 });
    expectDone(A);
    B = await boot({ name: 'trust-disk', disk: vdb, script: DISK, timeoutS: 900 });
    expectDone(B);
  }, 60 * 60_000);

  it('an image with /etc -> /root, /var/lib/imgbased -> /root and /proc -> /etc: update and install refuse it; /etc, /root, /boot and the disk unchanged', () => {
    expect(a.rc('upd-etc')).toBe(1);
    expect(a.err('upd-etc')).toMatch(/^imgbase: update: the image: \/etc in the tree is a symlink \(to \/root\); refused/);
    expect(a.rc('inst-etc')).toBe(1);
    // install meets /proc first (it would chroot there): resolved inside the image, /proc -> /etc -> /root.
    expect(a.err('inst-etc')).toMatch(/^imgbase: install: the image: \/proc in the tree is a symlink \(to \/root\); refused/);
    expect(fa('sums-1')).toBe(fa('sums-0'));
    expect(fa('boot-1')).toBe(fa('boot-0'));
    expect(fa('vdb-1')).toBe(fa('vdb-0'));
  });

  it('with its /etc back but /proc -> /etc: install still refuses before writing; /etc, /root, /boot and the disk unchanged', () => {
    expect(a.rc('inst-proc')).toBe(1);
    expect(a.err('inst-proc')).toMatch(/^imgbase: install: the image: \/proc in the tree is a symlink \(to \/etc\); refused/);
    expect(fa('sums-2')).toBe(fa('sums-0'));
    expect(fa('boot-2')).toBe(fa('boot-0'));
    expect(fa('vdb-2')).toBe(fa('vdb-0'));
  });

  it('a disk or image that does not exist: exit 3', () => {
    expect(a.rc('nodisk')).toBe(3);
    expect(a.err('nodisk')).toMatch(/^imgbase: install: \/dev\/nonexistent does not exist/);
    expect(a.rc('noimage')).toBe(3);
    expect(a.err('noimage')).toMatch(/^imgbase: image \/var\/tmp\/nonexistent.img not found/);
  });

  it('install killed (-9) while copying: its children die with it, the VG is marked as an unfinished install, --wipe starts over', () => {
    expect(fa('killed-comms.txt')).toContain('e2image');
    expect(fa('killed-left.txt').trim(), `${fa('killed-comms.txt')} ${fa('killed-left-stat.txt')}`).toBe('');
    expect(fa('killed-vg.txt').trim()).toBe('imgbased:installing');
    expect(a.rc('rewipe'), a.err('rewipe')).toBe(0);
    expect(a.out('rewipe')).toBe(`installed /dev/vdb (bios): VG ${VG}, base ${BASE}, layer ${LAYER}; boot from /dev/vdb\n`);
  });

  it("with the new disk's VG active, the host's check is OK and names the other layout in a note", () => {
    expect(a.rc('check'), a.out('check')).toBe(0);
    expect(a.out('check')).toContain(`note: VG ${VG} is another imgbased layout (not the running system's): left alone`);
    expect(a.out('check')).toContain('Status: OK');
  });

  it('the installed disk (an XFS base and layer) boots alone through its own GRUB into its first layer', () => {
    expect(B.markers.root).toEqual([`/dev/mapper/${VG}-${LAYER.replace(/-/g, '--')}`]);
    expect(B.markers.fstype).toEqual(['xfs']);
    expect(JSON.parse(outFile(B, 'boot-status.json'))).toMatchObject({ booted: LAYER, vg: VG });
  });
});
