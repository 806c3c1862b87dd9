// Issue 13: a failed `imgbase update` leaves the host as it was. One qemu run over an overlay of the layered host
// (reboots: true):
//   start  a small image v9 (the running /etc, a kernel and initrd, os-release 9.0-0: copied in seconds); a failure
//          injected at steps of the update (IMGBASED_FAULT=fail@N: the sample below, or every step with
//          IMGBASED_UPDATE_FAULTS=all): each exits non-zero, LVs, tags, every file on /boot and grubenv are exactly as
//          before, `check` is clean; too little room in the pool or on /boot: refused before any write; reboot
//   after  the old default boots through the disk's GRUB, `check` is clean, and the same update then goes through.
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { boot, expectDone, outFile, overlay, type BootResult } from './lab';
import { ensureLayeredHost } from './fixtures/layered';
import { RECORD_SH } from './script-run';
import { WAIT_ASSESS_SH, phasesSh } from './guest-sh';

const OLD_DEFAULT = 'Image-2.0-0+1';
const ALL = process.env.IMGBASED_UPDATE_FAULTS === 'all';
/** The sample: the first step of these kinds (IMGBASED_FAULT=KIND), and the plan's last step. */
const SAMPLE_KINDS = ['copy-image', 'carry-etc', 'copy-kernel', 'write-entry', 'grubenv-set'];

const SCRIPT = String.raw`set -u
${RECORD_SH}${phasesSh('faults-state', 'start')}${WAIT_ASSESS_SH}
IMG=/var/tmp/v9.raw
# What a failed update must leave as it was: the LVs and their tags, every file on /boot (grubenv included; not the
# filler of the /boot case).
state() {
  lvs --noheadings -o lv_name,lv_tags HostVG | sort
  (cd /boot && find . -xdev -type f ! -name filler -print0 | sort -z | xargs -0 sha256sum)
}
# Runs update with IMGBASED_FAULT=$2 as point $1: it must fail and change nothing; check must be clean.
fault() {
  local p=$1
  state >"$O/state-ref"
  IMGBASED_FAULT=$2 imgbase update --from $IMG >"$O/f-$p.out" 2>"$O/f-$p.err"
  echo $? >"$O/f-$p.rc"
  state >"$O/state-$p"
  if cmp -s "$O/state-ref" "$O/state-$p"; then echo same; else diff "$O/state-ref" "$O/state-$p" | head -20; fi >"$O/f-$p.diff"
  imgbase check >"$O/f-$p.check" 2>&1; echo $? >>"$O/f-$p.check"
  mark fault "$p $(cat "$O/f-$p.rc")"
}
case $PHASE in
start)
  mark root-start "$(running)"
  waitassess >/dev/null
  t0=$(date +%s)
  V=/var/tmp/v9; rm -rf $V; mkdir -p $V/boot $V/usr/lib
  cp -a /etc $V/
  echo v9 >$V/etc/v9.conf
  rm -f $V/etc/os-release
  printf 'ID=debian\nVERSION_ID=12\nIMAGE_ID=Image\nIMAGE_VERSION=9.0-0\n' >$V/usr/lib/os-release
  ln -s ../usr/lib/os-release $V/etc/os-release
  cp /boot/imgbased/Image-2.0-0/vmlinuz-* /boot/imgbased/Image-2.0-0/initrd* $V/boot/
  mkfs.ext4 -q -F -d $V $IMG 400M
  t plan imgbase update --from $IMG --dry-run --json
  COUNT=$(grep -o '"n":' "$O/plan.out" | wc -l)
  mark steps "$COUNT"
  if [ "$FAULTS" = all ]; then
    for n in $(seq 1 "$COUNT"); do fault "$n" "fail@$n"; done
  else
    for k in $FAULTS; do fault "$k" "$k"; done
    fault last "fail@$COUNT"
  fi
  mark faults-took "$(( $(date +%s) - t0 ))"
  # The pool: an image whose filesystem holds more (allocated, never written) than the pool has free.
  BIG=/var/tmp/big.raw
  truncate -s 64G $BIG && mkfs.ext4 -q -F -E lazy_itable_init=1,lazy_journal_init=1 $BIG
  mkdir -p /mnt/big && mount -o loop $BIG /mnt/big && cp -a $V/. /mnt/big/ && fallocate -l 48G /mnt/big/ballast && umount /mnt/big
  state >"$O/state-ref"
  t pool imgbase update --from $BIG
  state >"$O/state-pool"
  rm -f $BIG
  # /boot: free space below what the kernel copies need.
  free=$(df -B1 --output=avail /boot | tail -1)
  fallocate -l $(( free - 4 * 1024 * 1024 )) /boot/filler
  t boot imgbase update --from $IMG
  state >"$O/state-boot"
  rm -f /boot/filler
  goto after; sync; mark reboot start; echo b >/proc/sysrq-trigger; sleep 300 ;;
after)
  mark root-after "$(running)"
  waitassess >/dev/null
  t check imgbase check
  t update imgbase update --from $IMG
  lvs --noheadings -o lv_name HostVG | xargs >"$O/lvs-after-update.txt"
  goto done ;;
esac
`;

let R: BootResult;
const f = (name: string): string => outFile(R, name).trim();

describe('imgbase update: a failure at any step, or too little room, leaves the host as it was (issue 13)', () => {
  beforeAll(async () => {
    const lab = inject('lab');
    const layered = await ensureLayeredHost(lab);
    const disk = await overlay(layered.disk, 'update-faults');
    const faults = ALL ? 'all' : SAMPLE_KINDS.join(' ');
    R = await boot({ name: 'update-faults', disk, reboots: true, script: `FAULTS='${faults}'\n${SCRIPT}`, timeoutS: ALL ? 5400 : 1800 });
    expectDone(R);
    console.log(`update-faults: ${R.markers.steps?.[0]} steps, faults ${R.markers.fault?.length} point(s) in ${R.markers['faults-took']?.[0]} s`);
  }, 100 * 60_000);

  it('every injected failure: non-zero exit, LVs, tags, /boot and grubenv unchanged, check clean', () => {
    const count = Number(R.markers.steps?.[0]);
    expect(count).toBeGreaterThan(15);
    const points = (R.markers.fault ?? []).map((m) => m.split(' ')[0]!);
    expect(points).toEqual(ALL ? Array.from({ length: count }, (_, i) => String(i + 1)) : [...SAMPLE_KINDS, 'last']);
    for (const p of points) {
      expect(Number(f(`f-${p}.rc`)), `${p}: ${f(`f-${p}.err`)}`).not.toBe(0);
      expect(f(`f-${p}.err`), p).toMatch(/injected fault at step \d+/);
      expect(f(`f-${p}.diff`), p).toBe('same');
      expect(f(`f-${p}.check`).split('\n').at(-1), `${p}: ${f(`f-${p}.check`)}`).toBe('0');
    }
  });

  it('too little room in the pool or on /boot: refused before any write', () => {
    expect(Number(f('pool.rc'))).not.toBe(0);
    expect(f('pool.err')).toMatch(/^imgbase: update: thin pool HostVG\/pool has .* free, .* needed/m);
    expect(f('state-pool')).toBe(f('state-ref'));
    expect(Number(f('boot.rc'))).not.toBe(0);
    expect(f('boot.err')).toMatch(/not enough space on \/boot/);
    expect(f('state-boot')).toBe(f('state-ref'));
  });

  it('the old default boots through GRUB afterwards, check is clean, and the update then goes through', () => {
    expect(R.markers['root-start']).toEqual([OLD_DEFAULT]);
    expect(R.markers['root-after']).toEqual([OLD_DEFAULT]);
    expect(Number(f('check.rc')), f('check.out')).toBe(0);
    expect(Number(f('update.rc')), f('update.err')).toBe(0);
    expect(f('lvs-after-update.txt').split(' ')).toEqual(expect.arrayContaining(['Image-9.0-0', 'Image-9.0-0+1']));
  });
});
