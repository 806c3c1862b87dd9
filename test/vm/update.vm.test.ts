// Issue 13, first part: `imgbase update --from IMAGE` on real LVM thin, booted through the disk's own GRUB. One
// qemu run over an overlay of the layered host (reboots: true; the phase is kept in the share):
//   start  on the newest layer (Image-2.0-0+1): the admin's changes (hostname, a file added, one removed, a file the
//          new image changes too, a user with a password, a unit enabled, one disabled, one masked, an fstab line;
//          /home and /var/lib/updata made data volumes);
//          the new image v3 made from Image-1.0-0 with its own changes (the same file, a new file, a system user,
//          os-release IMAGE_ID/IMAGE_VERSION); a clash refused; --dry-run; a failure injected at the middle step and
//          too little room (both not in npm test's sample, sample.ts; every step: update-faults.vm.test.ts, npm run
//          test:powercut); the update; reboot
//   after  GRUB boots the new layer Image-3.0-0+1: everything carried, the conflict's .imgnew, v3's own changes;
//          (v3 lacks imgbased: the update built its initramfs with v3's own dracut); the layer was a try and is
//          blessed; updated again to a small image: its gc (the unpinned oldest base goes, a pinned one stays);
//          rollback --to the old layer. The boot after a rollback (the old layer's /etc exactly as before the update,
//          the data volumes shared) is installed-host.vm.test.ts's, on a host made by `imgbase install`.
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { boot, expectDone, outFile, overlay, type BootResult } from './lab';
import { ensureLayeredHost } from './fixtures/layered';
import { RECORD_SH } from './script-run';
import { MKIMAGE_SH, WAIT_ASSESS_SH, phasesSh } from './guest-sh';
import { UPDATE_FAULTS_SH, expectFaultsClean, expectRoomRefused } from './update-faults-lib';
import { FULL, FULL_SH } from './sample';

const OLD_LAYER = 'Image-2.0-0+1';
const NEW_BASE = 'Image-3.0-0';
const NEW_LAYER = `${NEW_BASE}+1`;

const SCRIPT = String.raw`set -u
${FULL_SH}${RECORD_SH}${phasesSh('up-state', 'start')}${WAIT_ASSESS_SH}${MKIMAGE_SH}${UPDATE_FAULTS_SH}
case $PHASE in
start)
  mark root-start "$(running)"
  waitassess >/dev/null
  # The admin's changes on the running layer.
  echo up-host >/etc/hostname
  echo 'mine' >/etc/up-added.conf
  # xattrs and a file capability: on a new file, and the only change to a file the image has as it was.
  setfattr -n user.imgbased -v carried /etc/up-added.conf
  setfattr -n trusted.imgbased -v trusted-too /etc/up-added.conf
  setfattr -n user.admin -v only-this /etc/host.conf
  cp /usr/bin/true /etc/up-cap && setcap cap_net_raw+ep /etc/up-cap
  rm -f /etc/motd
  echo 'issue: the admin' >/etc/issue
  useradd -m -u 1500 upalice && echo 'upalice:Up-Secret-42' | chpasswd
  getent shadow upalice | cut -d: -f2 >"$O/alice-hash"
  printf '[Unit]\nDescription=up hello\n[Service]\nType=oneshot\nExecStart=/bin/true\nRemainAfterExit=yes\n[Install]\nWantedBy=multi-user.target\n' >/etc/systemd/system/up-hello.service
  systemctl enable up-hello.service 2>"$O/enable.err"
  systemctl is-enabled fstrim.timer >"$O/fstrim-before" 2>&1
  systemctl disable fstrim.timer 2>/dev/null
  systemctl mask e2scrub_all.timer 2>/dev/null
  echo '/dev/HostVG/updata /srv/updata ext4 defaults,nofail 0 2' >>/etc/fstab
  # Data outside /etc: /home and a path under /var/lib made data volumes (their contents moved in).
  echo 'alice notes' >/home/upalice/notes && chown upalice: /home/upalice/notes
  mkdir -p /var/lib/updata && echo 'app state v1' >/var/lib/updata/state
  t data-bad imgbase data --add /var
  t data-home imgbase data --add /home
  t data-var imgbase data --add /var/lib/updata
  t data-list imgbase data --json
  mkdir -p /mnt/under && mount --bind / /mnt/under && ls /mnt/under/home/upalice >"$O/home-under" 2>&1; umount /mnt/under
  # data --add cut short, both ways (a complete volume no fstab line names; one still incomplete): run again, finished.
  lvcreate -qq -y -V 1G -T HostVG/pool -n data-srv-half --addtag imgbased:data --setactivationskip n && mkfs.ext4 -q /dev/HostVG/data-srv-half
  t data-half imgbase data --add /srv/half
  lvcreate -qq -y -V 1G -T HostVG/pool -n data-srv-inc --addtag imgbased:data --addtag imgbased:incomplete
  t data-inc imgbase data --add /srv/inc
  for d in /srv/half /srv/inc; do findmnt -no SOURCE "$d" >>"$O/data-rerun-src" 2>&1 || echo "$d not mounted" >>"$O/data-rerun-src"; done
  # The new image: Image-1.0-0's tree with its own changes.
  mkimage Image-1.0-0 3.0-0 /var/tmp/v3.raw
  echo 'issue: image v3' >/mnt/img/etc/issue
  echo 'v3' >/mnt/img/etc/up-v3-new.conf
  useradd --root /mnt/img -r -u 990 -s /usr/sbin/nologin upv3svc
  # v3 without imgbased: no binary, no dracut module, an initramfs without the module (update builds one).
  kv=$(ls /mnt/img/usr/lib/modules | head -1)
  rm -rf /mnt/img/usr/sbin/imgbase /mnt/img/usr/lib/dracut/modules.d/90imgbased /mnt/img/usr/lib/dracut/dracut.conf.d/90-imgbased.conf
  rm -rf /var/tmp/ird && mkdir /var/tmp/ird && (cd /var/tmp/ird && lsinitrd --unpack "/mnt/img/boot/initrd.img-$kv" &&
    find . -name 'imgbased*' -o -name imgbase -o -name '90-imgbased*' | xargs rm -rf &&
    find . | cpio -o -H newc --quiet | gzip -1 >"/mnt/img/boot/initrd.img-$kv")
  rm -rf /var/tmp/ird
  cp "/mnt/img/boot/initrd.img-$kv" /var/tmp/stripped-initrd
  lsinitrd "/mnt/img/boot/initrd.img-$kv" | grep -c imgbased-select.service >"$O/img-initrd-ours" 2>&1
  ls /mnt/img/boot >"$O/img-boot.txt"
  umount /mnt/img
  # A clash: an account added here with the uid v3's new system user has.
  useradd -M -u 990 upclash
  t clash imgbase update --from /var/tmp/v3.raw
  userdel upclash
  t dry imgbase update --from /var/tmp/v3.raw --dry-run
  lvs --noheadings -o lv_name HostVG | xargs >"$O/lvs-after-dry.txt"
  # Too little room.
  IMG=/var/tmp/small.raw
  mksmall $IMG
  # A sample of update-faults' failure at every step (npm run test:powercut): the middle one; and its room cases.
  # Both are left out of npm test's sample (sample.ts): update-faults runs them.
  if [ "$FULL" = 1 ]; then
    t fplan imgbase update --from $IMG --dry-run --json
    FCOUNT=$(grep -o '"n":' "$O/fplan.out" | wc -l)
    mark fsteps "$FCOUNT"
    fault $(( FCOUNT / 2 )) "fail@$(( FCOUNT / 2 ))"
    roomcases $IMG
  fi
  rm -f $IMG
  # An initramfs without our module in an image without dracut to build one: refused, nothing changed.
  cp /var/tmp/stripped-initrd /var/tmp/small-tree/boot/initrd.img-"$kv"
  mkfs.ext4 -q -F -d /var/tmp/small-tree /var/tmp/nodracut.raw 400M
  state >"$O/nodracut-ref"
  t nodracut imgbase update --from /var/tmp/nodracut.raw
  state >"$O/nodracut-state"
  rm -rf /var/tmp/nodracut.raw /var/tmp/small-tree /var/tmp/stripped-initrd
  # Pinned, the oldest base survives the gc that follows the update (3 bases, keep-bases 2).
  t pin imgbase base --pin Image-1.0-0
  t0=$(date +%s)
  t update imgbase update --from /var/tmp/v3.raw
  mark update-took "$(( $(date +%s) - t0 ))"
  lsinitrd /boot/imgbased/Image-3.0-0/initrd.img-* | grep -c 'imgbased-select.service' >"$O/built-initrd-ours" 2>&1
  lvs --noheadings -o lv_name HostVG | xargs >"$O/lvs-after-update.txt"
  grub-editenv /boot/grub/grubenv list >"$O/env-after-update.txt"
  t ustatus-start imgbase update --status
  imgbase boot --status >"$O/status-start.txt" 2>&1
  goto after; sync; mark reboot start; echo b >/proc/sysrq-trigger; sleep 300 ;;
after)
  mark root-after "$(running)"
  mark assess "$(waitassess)"
  imgbase boot --status --json >"$O/status-after.json" 2>&1
  cp /run/imgbased/boot-status.json "$O/initrd-status.json" 2>&1
  command -v imgbase >"$O/imgbase-path" 2>&1
  cat /etc/hostname >"$O/hostname"
  for f in up-added.conf motd issue issue.imgnew up-v3-new.conf; do
    if [ -e "/etc/$f" ]; then cat "/etc/$f" >"$O/etc-$f"; else echo ABSENT >"$O/etc-$f"; fi
  done
  getfattr --absolute-names -d -m '^(user|trusted)\.' /etc/up-added.conf /etc/host.conf >"$O/xattrs-after" 2>&1
  getcap /etc/up-cap >"$O/cap-after" 2>&1
  getent passwd upalice >"$O/passwd-alice"
  getent shadow upalice | cut -d: -f2 >"$O/alice-hash-after"
  getent passwd upv3svc >"$O/passwd-v3svc"
  # Logging in with the password: su run by an unprivileged user asks for it on a terminal (script(1) gives one).
  sutry() {
    { sleep 8; printf '%s\n' "$1"; sleep 4; } | setpriv --reuid=nobody --regid=nogroup --clear-groups --reset-env env SHELL=/bin/sh \
      script -qec 'su upalice -s /bin/sh -c id' /dev/null >"$O/su-$2" 2>&1
    echo $? >"$O/su-$2.rc"
  }
  sutry Up-Secret-42 pass
  sutry wrong-password wrong
  systemctl is-enabled up-hello.service >"$O/hello-enabled" 2>&1
  systemctl is-active up-hello.service >"$O/hello-active" 2>&1
  systemctl is-enabled fstrim.timer >"$O/fstrim-after" 2>&1
  systemctl is-enabled e2scrub_all.timer >"$O/e2scrub-after" 2>&1
  cp /etc/fstab "$O/fstab-after"
  for d in /home /var/lib/updata; do findmnt -no SOURCE "$d" >>"$O/data-src-after" 2>&1 || echo "$d not mounted" >>"$O/data-src-after"; done
  stat -c '%U %s' /home/upalice/notes >"$O/notes-after" 2>&1
  cat /var/lib/updata/state >"$O/state-after" 2>&1
  t check imgbase check
  t ustatus imgbase update --status
  # Updated again (to a small image): its gc removes the oldest base, unpinned now, with its layers; a pinned
  # one stays (the rollback's target), and so do the running layer's and the new default's.
  t pin2 imgbase base --pin Image-2.0-0
  t unpin imgbase base --unpin Image-1.0-0
  t gc-dry imgbase gc --dry-run
  mksmall /var/tmp/v9.raw
  t update2 imgbase update --from /var/tmp/v9.raw
  rm -f /var/tmp/v9.raw
  lvs --noheadings -o lv_name HostVG | xargs >"$O/lvs-after-gc.txt"
  t check-gc imgbase check
  t rollback imgbase rollback --to ${OLD_LAYER}
  goto done ;;
esac
`;

let R: BootResult;
const f = (name: string): string => outFile(R, name).trim();
const rc = (name: string): number => Number(f(`${name}.rc`));

describe('imgbase update: a new image, the host\'s /etc and accounts carried (issue 13)', () => {
  beforeAll(async () => {
    const lab = inject('lab');
    const layered = await ensureLayeredHost(lab);
    const disk = await overlay(layered.disk, 'update');
    R = await boot({ name: 'update', disk, reboots: true, script: SCRIPT, timeoutS: 3600 });
    console.log(`update: the update with an initramfs build took ${R.markers['update-took']?.[0]} s`);
    expectDone(R);
  }, 80 * 60_000);

  it('refuses an account id clash and changes nothing; --dry-run lists the plan and what it carries', () => {
    expect(R.markers['root-start']).toEqual([OLD_LAYER]);
    expect(rc('clash')).toBe(2);
    expect(f('clash.err')).toMatch(/uid 990 is upv3svc \(the new image\) and upclash \(this host\)/);
    expect(rc('dry')).toBe(0);
    expect(f('dry.out')).toMatch(/carry \d+ change\(s\) of \/etc into HostVG\/Image-3\.0-0\+1:\/etc \(\d+ conflict/);
    expect(f('dry.out')).toMatch(/\/etc\/up-added\.conf: added here, carried/);
    expect(f('dry.out')).toMatch(/\/etc\/issue: modified here and in the new image \(the new one kept as issue\.imgnew\)/);
    expect(f('lvs-after-dry.txt')).not.toContain(NEW_BASE);
  });

  it.runIf(FULL)('a failure injected at the middle step (every step: npm run test:powercut): non-zero exit, LVs, tags, /boot and grubenv unchanged, check clean', () => {
    const count = Number(R.markers.fsteps?.[0]);
    expect(count).toBeGreaterThan(15);
    expectFaultsClean(R, [String(Math.floor(count / 2))]);
  });

  it.runIf(FULL)('too little room in the pool or on /boot: refused before any step, nothing changed', () => {
    expectRoomRefused(R);
  });

  it('the update makes the new layer the default as a try; GRUB boots it and it is blessed', () => {
    expect(rc('update')).toBe(0);
    expect(f('update.out')).toContain(`updated: base ${NEW_BASE}, layer ${NEW_LAYER} boots next`);
    expect(f('env-after-update.txt')).toContain(`imgbased_try=${NEW_LAYER}`);
    expect(R.markers['root-after']).toEqual([NEW_LAYER]);
    const s = JSON.parse(f('status-after.json')) as { layers: Array<{ layer: string; state: string }> };
    expect(s.layers.find((l) => l.layer === NEW_LAYER)).toMatchObject({ state: 'good' });
    expect(rc('check')).toBe(0);
  });

  it('gc: a pinned base stays through an update; updated again, the unpinned oldest goes with its layers, never the running or default one\'s', () => {
    expect(rc('pin')).toBe(0);
    expect(f('lvs-after-update.txt').split(' ')).toEqual(expect.arrayContaining(['Image-1.0-0', 'Image-2.0-0', NEW_BASE, NEW_LAYER]));
    expect(rc('pin2')).toBe(0);
    expect(rc('unpin')).toBe(0);
    expect(rc('gc-dry')).toBe(0);
    expect(f('gc-dry.out')).toMatch(/remove HostVG\/Image-1\.0-0$/m);
    expect(rc('update2'), f('update2.err')).toBe(0);
    expect(f('update2.out')).toContain('updated: base Image-9.0-0, layer Image-9.0-0+1 boots next');
    expect(f('update2.out')).toContain('gc: removed base Image-1.0-0 and 2 layer(s)');
    const lvs = f('lvs-after-gc.txt').split(' ');
    expect(lvs).not.toContain('Image-1.0-0');
    expect(lvs).not.toContain('Image-1.0-0+1');
    // Two bases besides the pinned one: the running layer's and the new default's.
    expect(lvs.filter((l) => /^Image-[\d.]+-\d+$/.test(l)).sort()).toEqual(['Image-2.0-0', NEW_BASE, 'Image-9.0-0']);
    expect(lvs).toEqual(expect.arrayContaining(['Image-2.0-0+1', NEW_LAYER, 'Image-9.0-0+1']));
    expect(rc('check-gc')).toBe(0);
  });

  it('an image without imgbased: the layer\'s own dracut builds an initramfs with our module, and it picks the layer at boot', () => {
    expect(f('img-initrd-ours')).toBe('0');
    expect(f('dry.out')).toMatch(/build the initramfs of kernel \S+ into HostVG\/Image-3\.0-0\+1:\/boot\/initrd\.img-\S+ with the layer's own dracut in a chroot \(copied in first: \/usr\/sbin\/imgbase, \/usr\/lib\/dracut\/modules\.d\/90imgbased, \/usr\/lib\/dracut\/dracut\.conf\.d\/90-imgbased\.conf\)/);
    expect(f('update.err')).toContain("note: the image's initramfs lacks imgbased's dracut module: Image-3.0-0+1's own dracut builds one (in a chroot)");
    expect(f('built-initrd-ours')).toBe('1');
    expect(rc('nodracut')).toBe(2);
    expect(f('nodracut.err')).toMatch(/^imgbase: update: the image's initramfs lacks imgbased's dracut module and the image holds no dracut to build one/);
    expect(f('nodracut-state')).toBe(f('nodracut-ref'));
    const st = JSON.parse(f('initrd-status.json')) as { booted: string; requested: string };
    expect(st.booted).toBe(NEW_LAYER);
    expect(f('imgbase-path')).toBe('/usr/sbin/imgbase');
  });

  it('update --status: before the reboot the new layer is pending; on it, what it carried', () => {
    expect(f('ustatus-start.out')).toContain(`${OLD_LAYER}: not made by 'imgbase update'`);
    expect(f('ustatus-start.out')).toContain(`pending: ${NEW_LAYER} boots next`);
    expect(rc('ustatus')).toBe(0);
    expect(f('ustatus.out')).toContain(`${NEW_LAYER} was made by 'imgbase update' at `);
    expect(f('ustatus.out')).toContain(`carrying the state of ${OLD_LAYER}:`);
    expect(f('ustatus.out')).toContain('/etc/issue: modified here and in the new image (the new one kept as issue.imgnew)');
    expect(f('ustatus.out')).toContain('pending: nothing (the running layer boots next)');
  });

  it('/etc: added, changed and removed files carried; a file both changed keeps the admin\'s, the image\'s beside it', () => {
    expect(f('hostname')).toBe('up-host');
    expect(f('etc-up-added.conf')).toBe('mine');
    expect(f('etc-motd')).toBe('ABSENT');
    expect(f('etc-issue')).toBe('issue: the admin');
    expect(f('etc-issue.imgnew')).toBe('issue: image v3');
    expect(f('etc-up-v3-new.conf')).toBe('v3');
    // fstab: the admin's line; no line names the old layer (the lab's fstab has no / line: root= decides).
    expect(f('fstab-after')).toContain('/dev/HostVG/updata /srv/updata ext4 defaults,nofail 0 2');
    expect(f('fstab-after')).not.toContain(OLD_LAYER);
    // /boot as the running system mounts it (the image's own fstab has no /boot line).
    expect(f('fstab-after')).toMatch(/^UUID=\S+ \/boot ext4 defaults 0 2$/m);
  });

  it('xattrs (user., trusted.) and a file capability under /etc are carried, also when they are the only change to a file', () => {
    expect(f('xattrs-after')).toContain('# file: /etc/up-added.conf\ntrusted.imgbased="trusted-too"\nuser.imgbased="carried"');
    expect(f('xattrs-after')).toContain('# file: /etc/host.conf\nuser.admin="only-this"');
    expect(f('cap-after')).toBe('/etc/up-cap cap_net_raw=ep');
  });

  it('accounts: the admin\'s user with its id and password hash (su with the password works, a wrong one fails), the image\'s new system user', () => {
    expect(f('passwd-alice')).toMatch(/^upalice:x:1500:1500::\/home\/upalice:/);
    expect(f('alice-hash-after')).toBe(f('alice-hash'));
    expect(f('alice-hash')).toMatch(/^\$/);
    expect(rc('su-pass')).toBe(0);
    expect(f('su-pass')).toMatch(/uid=1500\(upalice\)/);
    expect(rc('su-wrong')).not.toBe(0);
    expect(f('su-wrong')).toMatch(/Authentication failure/);
    expect(f('passwd-v3svc')).toMatch(/^upv3svc:x:990:/);
  });

  it('rollback --to the old layer after the update makes it the default', () => {
    expect(rc('rollback')).toBe(0);
    expect(f('rollback.out')).toBe(`rollback: ${OLD_LAYER} is the default from now on`);
  });

  it('data volumes: /home and /var/lib/updata copied into their own LVs, mounted in the new layer', () => {
    // The originals stay in the layer, hidden under the mount.
    expect(f('home-under')).toBe('notes');
    expect(rc('data-bad')).toBe(2);
    expect(f('data-bad.err')).toMatch(/\/var holds the image's package database/);
    expect(rc('data-home')).toBe(0);
    expect(f('data-home.out')).toBe('/home is now data volume HostVG/data-home, mounted by /etc/fstab in this and every later layer');
    expect(rc('data-var')).toBe(0);
    const vols = (JSON.parse(f('data-list.out')) as { volumes: Array<{ lv: string; path: string }> }).volumes;
    expect(vols.map((v) => [v.lv, v.path])).toEqual([['data-home', '/home'], ['data-var-lib-updata', '/var/lib/updata']]);
    // The same LVs in the new layer: shared, never copied.
    const src = ['/dev/mapper/HostVG-data--home', '/dev/mapper/HostVG-data--var--lib--updata'];
    expect(f('data-src-after').split('\n')).toEqual(src);
    expect(rc('data-half')).toBe(0);
    expect(f('data-half.err')).toMatch(/an interrupted data --add\): only adding its line and mounting it/);
    expect(rc('data-inc')).toBe(0);
    expect(f('data-rerun-src').split('\n')).toEqual(['/dev/mapper/HostVG-data--srv--half', '/dev/mapper/HostVG-data--srv--inc']);
    expect(f('notes-after')).toBe('upalice 12');
    expect(f('state-after')).toBe('app state v1');
  });

  it('services: enabled, disabled and masked stay so', () => {
    expect(f('hello-enabled')).toBe('enabled');
    expect(f('hello-active')).toBe('active');
    expect(f('fstrim-before')).toBe('enabled');
    expect(f('fstrim-after')).toBe('disabled');
    expect(f('e2scrub-after')).toBe('masked');
  });
});
