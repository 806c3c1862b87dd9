// An installed host: nothing from an image reaches outside its layer, install onto a second disk survives a kill -9,
// and on the installed disk nothing the admin made is lost by an update. Two qemu runs:
//   host  the layered host (through its own GRUB) with a blank 8 GiB vdb and an image disk vdc. A good image (v3,
//         mkimage, with the package imgtest-up 1.0) and from it a hostile one: /etc -> /root (a host directory),
//         /var/lib/imgbased -> /root, /proc -> /etc: update and install refused, vdb untouched; with /etc made a
//         directory again, install still refused (it would mount /proc on the image's /etc). Before and after each:
//         checksums of the host's /etc, /root, /boot and the start of vdb (where a write through such a link goes:
//         test/unit/confine.test.ts). The next image v4 (v3 with the package imgtest-v2) written to vdc. Then an
//         install of the good image onto vdb is killed (-9) while e2image copies it into the new VG: no process of it
//         is left; the install of the same tree on XFS (a scratch LV) with --wipe and defaults succeeds; with the new
//         VG active, the host's `check` is OK and names the other layout in a note; a missing disk or image exits 3.
//   disk  vdb alone, through SeaBIOS and its own GRUB (reboots: phases), with the image disk:
//     start  / is its first layer, on XFS; /home, /var/log, /var/crash are data volumes. The admin adds a user with a
//            file in her home, a file under /var/lib/myapp, packages (one by apt, one by dpkg depending on it, one
//            upgraded past the image's version); update refused above the carry limit and for a package that
//            conflicts with v4, nothing changed; --dry-run; the update to v4; `enter` of the staged layer installs a
//            package into it; reboot
//     after  GRUB boots v4's layer: all of it there, that package too; `enter` of the running layer refused;
//            rollback; reboot
//     back   the old layer, its /etc as before the update; the journal lists the boots of both layers; check
//            clean; no login message. The newer layer asked for once, its LV renamed away; reboot
//     fell   the initramfs fell back to the old layer: the login message says so (not in npm test's sample:
//            sample.ts)
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { boot, expectDone, outFile, overlay, type BootResult } from './lab';
import { outputDir } from './lab/paths';
import { ensureLayeredHost } from './fixtures/layered';
import { RECORD_SH, recorded } from './script-run';
import { ETCSUM_SH, MKDEB_SH, MKIMAGE_SH, WAIT_ASSESS_SH, phasesSh } from './guest-sh';
import { FULL, FULL_SH } from './sample';

const VG = 'BiosVG';
const BASE = 'Image-3.0-0';
const LAYER = `${BASE}+1`;

const HOST = String.raw`set -u
${RECORD_SH}${MKIMAGE_SH}${MKDEB_SH}${WAIT_ASSESS_SH}mountpoint -q /boot || mount /boot
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
mkdeb imgtest-up 1.0 && dpkg --root=/mnt/img -i /var/tmp/debs/imgtest-up_1.0_all.deb >"$O/v3-dpkg" 2>&1
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
# The next image, for the installed disk's update: v3 with a package of its own, on the image disk.
cp --sparse=always /var/tmp/good.img /var/tmp/v4.img && mount -o loop /var/tmp/v4.img /mnt/img
sed -i 's/^IMAGE_VERSION=3.0-0$/IMAGE_VERSION=4.0-0/' /mnt/img/usr/lib/os-release
mkdeb imgtest-v2 1.0 && dpkg --root=/mnt/img -i /var/tmp/debs/imgtest-v2_1.0_all.deb >"$O/v4-dpkg" 2>&1
umount /mnt/img && dd if=/var/tmp/v4.img of=/dev/vdc bs=1M conv=sparse status=none && rm -f /var/tmp/v4.img
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

const NEW_BASE = 'Image-4.0-0';
const NEW_LAYER = `${NEW_BASE}+1`;

const DISK = String.raw`set -u
${FULL_SH}${RECORD_SH}${phasesSh('admin-state', 'start')}${WAIT_ASSESS_SH}${MKDEB_SH}${ETCSUM_SH}
# The image disk (vdc in the first run): v4, an unmounted block device.
V4=/dev/vdb
reboot_now() { sync; mark reboot "$PHASE"; echo b >/proc/sysrq-trigger; sleep 300; }
datasrc() { for d in /home /var/log /var/crash; do echo "$d $(findmnt -no SOURCE "$d" 2>&1)"; done; }
# What a refused update must leave as it was: LVs and tags, GRUB's environment, the boot entries.
lvmboot() { lvs --noheadings -o lv_name,lv_tags ${VG} | sort; grub-editenv /boot/grub/grubenv list; ls /boot/loader/entries; }
pkgs() { dpkg-query -W -f '${'$'}{Package} ${'$'}{Version} ${'$'}{db:Status-Abbrev}\n' adm-lib adm-app imgtest-up imgtest-v2 adm-extra adm-x 2>&1 | sort; }
motd() { run-parts /etc/update-motd.d >"$O/$1" 2>&1; echo $? >"$O/$1.rc"; }
case $PHASE in
start)
  mark root "$(findmnt -no SOURCE /)"
  mark fstype "$(findmnt -no FSTYPE /)"
  cp /run/imgbased/boot-status.json "$O/boot-status.json" 2>/dev/null
  waitassess >/dev/null
  datasrc >"$O/data-start"
  # What each data volume costs the pool right after the install (thin: what mkfs and the copy wrote).
  lvs --noheadings --units b --nosuffix -o lv_name,lv_size,data_percent -S 'lv_tags=imgbased:data' ${VG} >"$O/data-cost"
  useradd -m alice && echo 'alice:Alice-Pw-1' | chpasswd
  echo 'alice notes' >/home/alice/notes && chown alice: /home/alice/notes
  mkdir -p /var/lib/myapp && head -c 65536 /dev/urandom >/var/lib/myapp/state
  sha256sum /var/lib/myapp/state >"$O/state-sum"
  mkdeb adm-lib 1.0 && mkdeb adm-app 1.0 'adm-lib (>= 1.0)' && mkdeb imgtest-up 2.0 && mkdeb adm-x 1.0 '' imgtest-v2
  t apt-lib apt-get install -y -q /var/tmp/debs/adm-lib_1.0_all.deb
  t dpkg-app dpkg -i /var/tmp/debs/adm-app_1.0_all.deb /var/tmp/debs/imgtest-up_2.0_all.deb
  pkgs >"$O/pkgs-start"
  journalctl --list-boots --no-pager >"$O/boots-start" 2>&1
  lvmboot >"$O/lvmboot-0"
  # Above the carry limit: refused with the list, nothing changed.
  mkdir -p /etc/imgbased && echo 'carry-limit = 16K' >/etc/imgbased/imgbased.conf
  t limit imgbase update --from $V4
  rm -f /etc/imgbased/imgbased.conf
  lvmboot >"$O/lvmboot-1"
  # A package of the admin's that conflicts with v4's: refused, nothing changed.
  t adm-x dpkg -i /var/tmp/debs/adm-x_1.0_all.deb
  t conflict imgbase update --from $V4
  dpkg -P adm-x >/dev/null 2>&1
  lvmboot >"$O/lvmboot-2"
  t dry imgbase update --from $V4 --dry-run
  etcsum >"$O/etc-before"
  t update imgbase update --from $V4
  # The staged layer, before its first boot: a package installed into it with enter.
  mkdeb adm-extra 1.0
  t enter imgbase enter ${NEW_LAYER} -- sh -c 'cat >/root/adm-extra.deb && dpkg -i /root/adm-extra.deb && rm /root/adm-extra.deb' </var/tmp/debs/adm-extra_1.0_all.deb
  pkgs >"$O/pkgs-after-enter"
  goto after; reboot_now ;;
after)
  mark root-after "$(running)"
  mark assess-after "$(waitassess)"
  datasrc >"$O/data-after"
  cat /home/alice/notes >"$O/notes-after" 2>&1
  (cd / && sha256sum var/lib/myapp/state) >"$O/state-sum-after" 2>&1
  pkgs >"$O/pkgs-after"
  echo 'written on v4' >/home/alice/from-v4
  t ustatus imgbase update --status
  t enter-running imgbase enter ${NEW_LAYER} -- true
  t rollback imgbase rollback
  goto back; reboot_now ;;
back)
  mark root-back "$(running)"
  waitassess >/dev/null
  datasrc >"$O/data-back"
  pkgs >"$O/pkgs-back"
  cat /home/alice/notes /home/alice/from-v4 >"$O/notes-back" 2>&1
  etcsum >"$O/etc-back"
  journalctl --list-boots --no-pager >"$O/boots-back" 2>&1
  lvs --noheadings -o lv_name -S 'lv_tags=imgbased:data' ${VG} | xargs >"$O/data-lvs"
  t check imgbase check
  motd motd-clean
  [ "$FULL" = 1 ] || { goto done; exit 0; }
  # A fallback: the newer layer asked for once, its LV gone from under its boot entry.
  t next imgbase boot --next ${NEW_LAYER}
  lvrename -qq ${VG} ${NEW_LAYER} away-layer
  goto fell; reboot_now ;;
fell)
  mark root-fell "$(running)"
  waitassess >/dev/null
  cp /run/imgbased/boot-status.json "$O/boot-status-fell.json" 2>/dev/null
  motd motd-fell
  lvrename -qq ${VG} away-layer ${NEW_LAYER}
  goto done ;;
esac
`;

const dir = outputDir('installed-host-disks');
const vdb = path.join(dir, 'vdb.qcow2');
const vdc = path.join(dir, 'vdc.qcow2');
let A: BootResult;
let B: BootResult;
const a = recorded(() => A);
const b = recorded(() => B);
const fa = (n: string): string => outFile(A, n);
const fb = (n: string): string => outFile(B, n).trim();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(async () => {
  const lab = inject('lab');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', vdb, '8G']);
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', vdc, '8G']);
  const layered = await ensureLayeredHost(lab);
  A = await boot({ name: 'installed-host', disk: await overlay(layered.disk, 'installed-host'), extraDisks: [vdb, vdc], script: HOST, timeoutS: 2400 });
  expectDone(A);
  B = await boot({ name: 'installed-disk', disk: vdb, extraDisks: [vdc], reboots: true, script: DISK, timeoutS: 2400 });
  expectDone(B);
}, 80 * 60_000);

describe('trust: a hostile image stays in its layer; install onto a second disk survives kill -9; an XFS layer boots', () => {
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

describe('an installed host keeps what the admin made across an update and a rollback (issue 24)', () => {
  const dataSrc = (phase: string): string[] => fb(`data-${phase}`).split('\n');
  const vol = (p: string): string => `/dev/mapper/${VG}-data${p.replace(/\//g, '-').replace(/-/g, '--')}`;
  const DATA = ['/home', '/var/log', '/var/crash'].map((p) => `${p} ${vol(p)}`);

  it('install with defaults: /home, /var/log and /var/crash are data volumes, one LV each, mounted by every layer', () => {
    expect(dataSrc('start')).toEqual(DATA);
    expect(dataSrc('after')).toEqual(DATA);
    expect(dataSrc('back')).toEqual(DATA);
    expect(fb('data-lvs')).toBe('data-home data-var-crash data-var-log');
    const cost = fb('data-cost').split('\n').map((l) => l.trim().split(/\s+/));
    console.log(`installed-host: data volumes' pool cost after install: ${cost.map(([n, size, pct]) => `${n} ${((Number(size) * Number(pct)) / 100 / 2 ** 20).toFixed(1)} MiB`).join(', ')}`);
    expect(cost.map((c) => c[0]).sort()).toEqual(['data-home', 'data-var-crash', 'data-var-log']);
  });

  it('refused above the carry limit (with the list) and for a package that conflicts with the image (naming it): nothing changed', () => {
    expect(b.rc('limit')).not.toBe(0);
    // The largest paths first, then the one error line with the total and the advice.
    expect(b.err('limit')).toMatch(/^ {2}\/var\/lib\/myapp: added here, carried \(\S+, 1 entry below\)$/m);
    expect(b.err('limit')).toMatch(/^imgbase: update: \d+ path\(s\) changed outside \/etc, \S+, above carry-limit 16\.00KiB: nothing changed; .*'imgbase data --add \/var\/lib\/myapp'/m);
    expect(fb('lvmboot-1')).toBe(fb('lvmboot-0'));
    expect(b.rc('adm-x'), b.err('adm-x')).toBe(0);
    expect(b.rc('conflict')).not.toBe(0);
    expect(b.err('conflict').trim().split('\n')[0]).toMatch(/^imgbase: update: .*adm-x/);
    expect(fb('lvmboot-2')).toBe(fb('lvmboot-0'));
  });

  it('--dry-run lists what is carried (with sizes) and the packages re-installed', () => {
    expect(b.rc('dry'), b.err('dry')).toBe(0);
    expect(b.out('dry')).toMatch(/var\/lib\/myapp/);
    expect(b.out('dry')).toMatch(/adm-app/);
    expect(b.out('dry')).toMatch(/imgtest-up/);
  });

  it("after the update and a reboot: the home file (same LV), /var/lib/myapp carried, the admin's packages at their versions", () => {
    expect(b.rc('update'), b.err('update')).toBe(0);
    expect(B.markers['root-after']).toEqual([NEW_LAYER]);
    expect(fb('notes-after')).toBe('alice notes');
    expect(fb('state-sum-after')).toBe(fb('state-sum').replace('/var/lib/myapp/state', 'var/lib/myapp/state'));
    expect(b.out('update')).toMatch(/var\/lib\/myapp/);
    const pk = (phase: string): string[] => fb(`pkgs-${phase}`).split('\n')
      .filter((l) => !l.startsWith('dpkg-query:')).map((l) => l.trimEnd());
    expect(pk('start')).toEqual(['adm-app 1.0 ii', 'adm-lib 1.0 ii', 'imgtest-up 2.0 ii']);
    expect(pk('after')).toEqual(['adm-app 1.0 ii', 'adm-extra 1.0 ii', 'adm-lib 1.0 ii', 'imgtest-up 2.0 ii', 'imgtest-v2 1.0 ii']);
  });

  it('enter: in the staged layer before its first boot it installs a package, which that boot has; refused for the running layer', () => {
    expect(b.rc('enter'), b.err('enter')).toBe(0);
    // Not into the running layer: where enter ran, the package is not.
    expect(fb('pkgs-after-enter')).not.toContain('adm-extra 1.0');
    expect(fb('pkgs-after')).toContain('adm-extra 1.0 ii ');
    expect(b.rc('enter-running')).toBe(4);
    expect(b.err('enter-running')).toBe(`imgbase: enter: ${NEW_LAYER} is the running layer; run the command directly\n`);
    expect(fb('pkgs-back')).not.toContain('adm-extra 1.0');
  });

  it('rollback: GRUB boots the old layer again, its /etc exactly as before the update; what the new layer wrote to /home is there', () => {
    expect(b.rc('rollback'), b.err('rollback')).toBe(0);
    expect(B.markers['root-back']).toEqual([LAYER]);
    expect(fb('etc-before')).toContain('./passwd f 644 0:0');
    expect(fb('etc-back')).toBe(fb('etc-before'));
    expect(fb('notes-back')).toBe('alice notes\nwritten on v4');
  });

  it('the journal of every boot survives the update and the rollback (/var/log is shared); check is clean', () => {
    const boots = fb('boots-back').split('\n').filter((l) => /^\s*-?\d+\s+[0-9a-f]{32}\s/.test(l));
    expect(boots.length, fb('boots-back')).toBeGreaterThanOrEqual(3);
    expect(b.rc('check'), b.out('check')).toBe(0);
  });

  it('the login message: nothing after a clean boot', () => {
    expect(fb('motd-clean')).not.toMatch(/imgbased/);
  });

  it.runIf(FULL)('the login message after a fallback: which layer was asked for and why', () => {
    expect(b.rc('next'), b.err('next')).toBe(0);
    expect(B.markers['root-fell']).toEqual([LAYER]);
    // The removed layer's entry still names its LV as root=: the boot does not wait for it (~60 s in the lab).
    const started = B.markers['agent-start'] ?? [];
    expect(Number(started[started.length - 1])).toBeLessThan(180);
    expect(fb('motd-fell')).toMatch(/imgbased/);
    expect(fb('motd-fell')).toContain(NEW_LAYER);
  });
});
