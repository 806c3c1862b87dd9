// Issue 13: a failure injected at EVERY step of `imgbase update` (fault injection fail@N) leaves the host as it was.
// Long (a minute or two per step under TCG): runs with the power-cut matrix (`npm run test:powercut`, or
// IMGBASED_POWERCUT=all with IMGBASED_POWERCUT_VERBS holding `update`); npm test runs a sample inside
// update.vm.test.ts. One qemu run over an overlay of the layered host (reboots: true):
//   start  a small image; fail@1..count: each exits non-zero, LVs, tags, every file on /boot and grubenv exactly as
//          before, `check` clean; too little room in the pool or on /boot: refused before any write; reboot
//   after  the old default boots through the disk's GRUB, `check` is clean, and the same update then goes through
//          (the image inside a squashfs as LiveOS/rootfs.img: `update --format liveimg`)
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { boot, expectDone, outFile, overlay, type BootResult } from './lab';
import { ensureLayeredHost } from './fixtures/layered';
import { RECORD_SH } from './script-run';
import { WAIT_ASSESS_SH, phasesSh } from './guest-sh';
import { UPDATE_FAULTS_SH, expectFaultsClean, expectRoomRefused } from './update-faults-lib';
import { parsePoints } from './powercut-lib';

const OLD_DEFAULT = 'Image-2.0-0+1';
const selected = (process.env.IMGBASED_POWERCUT_VERBS ?? 'update').split(',').map((s) => s.trim());
/** IMGBASED_POWERCUT_POINTS picks steps here too (default: every one). */
const wanted = parsePoints(process.env.IMGBASED_POWERCUT_POINTS) ?? (() => true);
const POINTS = Array.from({ length: 200 }, (_, i) => i + 1).filter(wanted);

const SCRIPT = String.raw`set -u
${RECORD_SH}${phasesSh('faults-state', 'start')}${WAIT_ASSESS_SH}${UPDATE_FAULTS_SH}
IMG=/var/tmp/v9.raw
case $PHASE in
start)
  mark root-start "$(running)"
  waitassess >/dev/null
  t0=$(date +%s)
  mksmall $IMG
  t plan imgbase update --from $IMG --dry-run --json
  COUNT=$(grep -o '"n":' "$O/plan.out" | wc -l)
  mark steps "$COUNT"
  for n in $(seq 1 "$COUNT"); do case " $POINTS " in *" $n "*) fault "$n" "fail@$n" ;; esac; done
  mark faults-took "$(( $(date +%s) - t0 ))"
  roomcases $IMG
  goto after; sync; mark reboot start; echo b >/proc/sysrq-trigger; sleep 300 ;;
after)
  mark root-after "$(running)"
  waitassess >/dev/null
  t check imgbase check
  # The original's form, with what oVirt Node ships: a squashfs holding LiveOS/rootfs.img.
  mkdir -p /var/tmp/sq/LiveOS && mv $IMG /var/tmp/sq/LiveOS/rootfs.img
  mksquashfs /var/tmp/sq /var/tmp/small.squashfs -quiet -noappend -comp gzip
  t update imgbase update --format liveimg /var/tmp/small.squashfs
  lvs --noheadings -o lv_name HostVG | xargs >"$O/lvs-after-update.txt"
  goto done ;;
esac
`;

let R: BootResult;
const f = (name: string): string => outFile(R, name).trim();

describe.runIf(process.env.IMGBASED_POWERCUT === 'all' && selected.includes('update'))('imgbase update: a failure at every step leaves the host as it was (issue 13)', () => {
  beforeAll(async () => {
    const lab = inject('lab');
    const layered = await ensureLayeredHost(lab);
    const disk = await overlay(layered.disk, 'update-faults');
    R = await boot({ name: 'update-faults', disk, reboots: true, script: `POINTS='${POINTS.join(' ')}'\n${SCRIPT}`, timeoutS: 5400 });
    expectDone(R);
    console.log(`update-faults: ${R.markers.steps?.[0]} steps, ${R.markers.fault?.length} injections in ${R.markers['faults-took']?.[0]} s`);
  }, 100 * 60_000);

  it('a failure at each step (IMGBASED_POWERCUT_POINTS: those): non-zero exit, LVs, tags, /boot and grubenv unchanged, check clean', () => {
    const count = Number(R.markers.steps?.[0]);
    expect(count).toBeGreaterThan(15);
    expectFaultsClean(R, POINTS.filter((n) => n <= count).map(String));
  });

  it('too little room in the pool or on /boot: refused before any write', () => {
    expectRoomRefused(R);
  });

  it('the old default boots through GRUB afterwards, check is clean, and the update (from a squashfs) then goes through', () => {
    expect(R.markers['root-start']).toEqual([OLD_DEFAULT]);
    expect(R.markers['root-after']).toEqual([OLD_DEFAULT]);
    expect(Number(f('check.rc')), f('check.out')).toBe(0);
    expect(Number(f('update.rc')), f('update.err')).toBe(0);
    expect(f('lvs-after-update.txt').split(' ')).toEqual(expect.arrayContaining(['Image-9.0-0', 'Image-9.0-0+1']));
  });
});
