// Across Debian releases, through the disk's own GRUB, in one qemu run (reboots: phases); npm test's Debian 12
// sample (an installed host, a GRUB boot with a fallback, an update). The Debian 12 host is the layered host of the
// bookworm lab (`imgbase install`, then the verbs), whichever release the run's main lab is.
//   vdb  a Debian 13 image, vdc a Debian 12 image: each the lab's tree of that release with imgbased installed
//        (build/install, as a user would), raw ext4, read-only block devices
//   start  Debian 12: a new layer asked for once, its LV renamed away; reboot
//   fell   the initramfs fell back to the running layer. The admin's changes: hostname, a user with a password, an
//          sshd_config change, ssh disabled, a file of her own, a locale (/etc/default/locale, a symlink to
//          ../locale.conf in Debian 13) and a time zone (/etc/timezone, gone in Debian 13); update to the 13 image
//   on13   GRUB boots Debian 13 as a trying layer; blessed; all of the above there; an update back to the 12 image
//          refused, nothing changed; rollback
//   back   Debian 12 again, its /etc exactly as before the update; check clean
import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { boot, expectDone, outFile, overlay, type BootResult } from './lab';
import { outputDir } from './lab/paths';
import { ensureLayeredHost } from './fixtures/layered';
import { labOf, releaseImage } from './fixtures/release-image';
import { RECORD_SH, recorded } from './script-run';
import { ETCSUM_SH, WAIT_ASSESS_SH, layerSh, phasesSh } from './guest-sh';

const VG = 'HostVG';
/** The layered host's default layer (its newest), and the layer added to fall back from. */
const L12 = 'Image-2.0-0+1';
const EXTRA = 'Image-2.0-0+2';
const L13 = 'debian-13-0+1';

const SCRIPT = String.raw`set -u
${RECORD_SH}${phasesSh('xr-state', 'start')}${WAIT_ASSESS_SH}${ETCSUM_SH}${layerSh(VG)}osv() { . /etc/os-release; echo "$VERSION_ID"; }
lvmboot() { lvs --noheadings -o lv_name,lv_tags ${VG} | sort; grub-editenv /boot/grub/grubenv list; ls /boot/loader/entries; }
# su as an unprivileged user: PAM asks for alice's password, read from stdin.
asalice() { echo "$1" | setpriv --reuid=65534 --regid=65534 --clear-groups su alice -c 'id -un'; }
case $PHASE in
start)
  mark root-start "$(running)"
  mark os-start "$(osv)"
  waitassess >/dev/null
  t add imgbase layer --add
  t next imgbase boot --next ${EXTRA}
  lvrename -qq ${VG} ${EXTRA} away-layer
  goto fell; reboot_now ;;
fell)
  mark root-fell "$(running)"
  waitassess >/dev/null
  cp /run/imgbased/boot-status.json "$O/boot-status-fell.json" 2>/dev/null
  lvrename -qq ${VG} away-layer ${EXTRA}
  t remove imgbase layer --remove ${EXTRA}
  echo edge-12 >/etc/hostname
  useradd -m alice && echo 'alice:Alice-Pw-1' | chpasswd
  t su-12 asalice Alice-Pw-1
  sed -i 's/^#MaxAuthTries 6$/MaxAuthTries 3/' /etc/ssh/sshd_config
  t disable systemctl disable ssh
  mkdir -p /etc/myapp && echo 'listen = 8080' >/etc/myapp/app.conf
  echo 'LANG=C.UTF-8' >/etc/default/locale
  ln -sf /usr/share/zoneinfo/Europe/Paris /etc/localtime && echo Europe/Paris >/etc/timezone
  etcsum >"$O/etc-before"
  t update imgbase update --from /dev/vdb
  goto on13; reboot_now ;;
on13)
  mark root-13 "$(running)"
  mark os-13 "$(osv)"
  cp /run/imgbased/boot-status.json "$O/boot-status-13.json" 2>/dev/null
  mark assess-13 "$(waitassess)"
  t status13 imgbase boot --status --json
  hostname >"$O/hostname-13"
  t su-13 asalice Alice-Pw-1
  t su-13-bad asalice Wrong-Pw
  t sshd sshd -T
  t ssh-enabled systemctl is-enabled ssh
  t ssh-active systemctl is-active ssh
  cat /etc/myapp/app.conf >"$O/app-13" 2>&1
  { readlink /etc/default/locale; cat /etc/locale.conf; } >"$O/locale-13" 2>&1
  { readlink /etc/localtime; ls /etc/timezone; } >"$O/tz-13" 2>&1
  t ustatus imgbase update --status
  lvmboot >"$O/lvmboot-13a"
  t downgrade imgbase update --from /dev/vdc
  lvmboot >"$O/lvmboot-13b"
  t check13 imgbase check
  t rollback imgbase rollback
  goto back; reboot_now ;;
back)
  mark root-back "$(running)"
  mark os-back "$(osv)"
  waitassess >/dev/null
  etcsum >"$O/etc-back"
  t check imgbase check
  goto done ;;
esac
`;

const dir = outputDir('cross-release-images');
const img13 = path.join(dir, 'debian-13.raw');
const img12 = path.join(dir, 'debian-12.raw');
let R: BootResult;
const r = recorded(() => R);
const f = (n: string): string => outFile(R, n).trim();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(async () => {
  const lab12 = await labOf('bookworm', inject('lab'));
  const lab13 = await labOf('trixie', inject('lab'));
  rmSync(dir, { recursive: true, force: true });
  await releaseImage(lab13, img13);
  await releaseImage(lab12, img12);
  const layered = await ensureLayeredHost(lab12);
  R = await boot({
    name: 'cross-release', disk: await overlay(layered.disk, 'cross-release'), reboots: true, script: SCRIPT, timeoutS: 2700,
    extraDisks: [{ file: img13, format: 'raw', readonly: true }, { file: img12, format: 'raw', readonly: true }],
  });
  expectDone(R);
}, 90 * 60_000);

describe('Debian 12: an installed host boots through GRUB and falls back', () => {
  it('the layered host (imgbase install, then the verbs) boots Debian 12 through its own GRUB', () => {
    expect(R.markers['root-start']).toEqual([L12]);
    expect(R.markers['os-start']).toEqual(['12']);
  });

  it('a layer asked for whose LV is gone: the initramfs falls back to the previous one, and says why', () => {
    expect(r.rc('add'), r.err('add')).toBe(0);
    expect(r.rc('next'), r.err('next')).toBe(0);
    expect(R.markers['root-fell']).toEqual([L12]);
    expect(JSON.parse(f('boot-status-fell.json'))).toMatchObject({ booted: L12, requested: EXTRA });
    expect(r.rc('remove'), r.err('remove')).toBe(0);
  });
});

describe('a Debian 12 host updated to a Debian 13 image, and back by rollback', () => {
  it('update from Debian 12 to the Debian 13 image; GRUB boots it as a trying layer, and it is blessed', () => {
    expect(r.rc('update'), r.err('update')).toBe(0);
    expect(r.out('update')).toContain(`updated: base debian-13-0, layer ${L13} boots next`);
    expect(R.markers['root-13']).toEqual([L13]);
    expect(R.markers['os-13']).toEqual(['13']);
    expect(JSON.parse(f('boot-status-13.json'))).toMatchObject({ booted: L13 });
    expect(R.markers['assess-13']).toEqual(['active']);
    const rows = (JSON.parse(r.out('status13')) as { layers: Array<{ layer: string; state: string }> }).layers;
    expect(rows.find((l) => l.layer === L13)).toMatchObject({ state: 'good' });
  });

  it("the admin's hostname, user and password (su from a script), sshd setting, disabled service and own file are carried", () => {
    expect(r.rc('su-12'), r.err('su-12')).toBe(0);
    expect(f('hostname-13')).toBe('edge-12');
    expect(r.rc('su-13'), r.err('su-13')).toBe(0);
    expect(r.out('su-13').trim()).toBe('alice');
    expect(r.rc('su-13-bad')).not.toBe(0);
    expect(r.rc('sshd'), r.err('sshd')).toBe(0);
    expect(r.out('sshd')).toMatch(/^maxauthtries 3$/m);
    expect(r.rc('disable'), r.err('disable')).toBe(0);
    expect(r.out('ssh-enabled').trim()).toBe('disabled');
    expect(r.out('ssh-active').trim()).toBe('inactive');
    expect(f('app-13')).toBe('listen = 8080');
  });

  it('files Debian 13 made symlinks or removed: the locale follows the new symlink, the time zone file stays; both reported', () => {
    expect(f('locale-13')).toBe('../locale.conf\nLANG=C.UTF-8');
    expect(f('tz-13')).toBe('/usr/share/zoneinfo/Europe/Paris\n/etc/timezone');
    expect(r.out('update')).toContain('/etc/default/locale: added here, a symlink to ../locale.conf in the new image: the symlink kept, this version written to locale.conf');
    expect(r.out('update')).toContain('/etc/timezone: changed here, removed by the new image (kept)');
  });

  it('an update back to the Debian 12 image is refused with one line; nothing changed', () => {
    expect(r.rc('downgrade')).toBe(1);
    expect(r.err('downgrade')).toBe(
      'imgbase: update: the image is debian 12, older than the running debian 13: an update does not go back a release; nothing changed; ' +
        "to run the older release, keep its layer, or make a clean one: 'imgbase base --add NVR --from IMAGE', then 'imgbase layer --add NVR'\n",
    );
    expect(f('lvmboot-13b')).toBe(f('lvmboot-13a'));
    expect(r.rc('check13'), r.out('check13')).toBe(0);
  });

  it('rollback: GRUB boots Debian 12 again, its /etc exactly as before the update; check clean', () => {
    expect(r.rc('rollback'), r.err('rollback')).toBe(0);
    expect(R.markers['root-back']).toEqual([L12]);
    expect(R.markers['os-back']).toEqual(['12']);
    expect(f('etc-before')).toMatch(/^\.\/hostname f \d+ 0:0 $/m);
    expect(f('etc-before')).toContain('./myapp/app.conf f 644 0:0');
    expect(f('etc-back')).toBe(f('etc-before'));
    expect(r.rc('check'), r.out('check')).toBe(0);
  });
});
