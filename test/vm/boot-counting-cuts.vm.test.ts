// Issue 11, power cuts in boot counting (in `npm run test:powercut`, not `npm test`: five GRUB boots for two cuts).
// One overlay of the layered host, through its own GRUB:
//   C1 (one qemu run, reboots: true; phases in $LAB_SHARE/cut-state)
//      setup      a new layer ONCE armed for 2 tries, the default pinned elsewhere, ONCE booted once by boot --next;
//                 ONCE's assessment is cut right after its first step (a fault-injection file asking for powercut@1: sysrq b, no sync)
//      next-once  GRUB counted the try booted by boot --next
//      after-cut  back on the pinned layer: check names what the cut left, repair, check; ONCE armed again
//   C2 qemu killed as soon as GRUB prints ONCE's "Loading" line (after the count's save_env)
//   C3 the next boot counts on from there: ONCE boots on its second try and is blessed; check passes
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { boot, expectDone, outFile, overlay, type BootResult } from './lab';
import { ensureLayeredHost } from './fixtures/layered';
import { RECORD_SH, grubEnv } from './script-run';
import { AFTER_GRUB_CUT_SH, WAIT_ASSESS_SH, layerSh, phasesSh } from './guest-sh';

const VG = 'HostVG';
const PINNED = 'Image-2.0-0+1';
const ONCE = 'Image-2.0-0+2';
const id = (layer: string): string => `imgbased-${layer.replace(/\+/g, '_')}`;
const selected = (process.env.IMGBASED_POWERCUT_VERBS ?? 'boot-counting').split(',').map((s) => s.trim());

const SCRIPT_C1 = String.raw`set -u
${RECORD_SH}${phasesSh('cut-state', 'setup')}${WAIT_ASSESS_SH}
status() { imgbase boot --status --json >"$O/$1-status.json" 2>"$O/$1-status.err"; grub-editenv /boot/grub/grubenv list >"$O/$1-env.txt" 2>&1; }
${layerSh(VG)}case $PHASE in
setup)
  waitassess >/dev/null
  t add-once imgbase layer --add Image-2.0-0
  t arm-once imgbase boot --tries 2 ${ONCE}
  t pin imgbase boot --set-default ${PINNED}
  t next-once imgbase boot --next ${ONCE}
  inlayer ${ONCE}
  mkdir -p /mnt/l/etc/systemd/system/imgbased-boot-assess.service.d
  printf '[Service]\nExecStartPre=/bin/sh -c "mkdir -p /run/imgbased && echo powercut@1 >/run/imgbased/fault-injection"\n' >/mnt/l/etc/systemd/system/imgbased-boot-assess.service.d/cut.conf
  outlayer ${ONCE}
  status setup
  goto next-once; reboot_now ;;
next-once)
  grub-editenv /boot/grub/grubenv list >"$O/once-env-early.txt" 2>&1
  mark once-root "$(running)"
  goto after-cut
  waitassess >/dev/null; sleep 120; exit 0 ;;
after-cut)
  mark after-root "$(running)"
  waitassess >/dev/null; status after
  # What the cut left of the arm (keys the disarm had not unset yet) is reported, and repaired.
  t check imgbase check
  t repair imgbase check --repair
  t check2 imgbase check
  # For C2: the same layer armed again, without the fault, is GRUB's default.
  inlayer ${ONCE}; rm -rf /mnt/l/etc/systemd/system/imgbased-boot-assess.service.d; outlayer ${ONCE}
  t arm-again imgbase boot --tries 2 ${ONCE}
  grub-editenv /boot/grub/grubenv list >"$O/rearmed-env.txt" 2>&1
  goto done ;;
esac
`;


let C1: BootResult;
let C2: BootResult;
let C3: BootResult;

const file = (r: BootResult, name: string): string => outFile(r, name);
const env = (r: BootResult, name: string): Record<string, string> => grubEnv(file(r, name));
const rc = (r: BootResult, name: string): number => Number(file(r, `${name}.rc`).trim());
interface LayerRow { layer: string; state: string; left: number | null }
const layerState = (r: BootResult, name: string, layer: string): LayerRow | undefined =>
  (JSON.parse(file(r, name)) as { layers: LayerRow[] }).layers.find((l) => l.layer === layer);

describe.runIf(process.env.IMGBASED_POWERCUT === 'all' && selected.includes('boot-counting'))('boot counting across power cuts (issue 11)', () => {
  beforeAll(async () => {
    const lab = inject('lab');
    const layered = await ensureLayeredHost(lab);
    const disk = await overlay(layered.disk, 'bc-cuts');
    C1 = await boot({ name: 'bc-cuts', disk, reboots: true, script: SCRIPT_C1, timeoutS: 2400 });
    expectDone(C1);
    C2 = await boot({ name: 'bc-cuts-grub', disk, timeoutS: 600, cutAt: new RegExp(`Loading imgbased layer ${ONCE.replace(/[.+]/g, '\\$&')}`) });
    C3 = await boot({ name: 'bc-cuts-after', disk, timeoutS: 900, script: AFTER_GRUB_CUT_SH });
  }, 90 * 60_000);

  it('a try booted once by boot --next is counted like any other', () => {
    expect(rc(C1, 'add-once')).toBe(0);
    expect(rc(C1, 'arm-once')).toBe(0);
    expect(env(C1, 'setup-env.txt')).toMatchObject({ imgbased_try: ONCE, next_entry: id(ONCE), saved_entry: id(PINNED) });
    const arm = env(C1, 'setup-env.txt').imgbased_arm!;
    expect(C1.markers['once-root']).toEqual([ONCE]);
    expect(env(C1, 'once-env-early.txt').imgbased_count).toBe(`${arm}:1`);
  });

  it('a power cut right after the first step of a blessing: the next boot is consistent, at most that try lost', () => {
    expect(C1.markers.reboot).toContain('setup');
    // The cut boot never finished its assessment; the next boot is the pinned layer and everything checks out.
    expect(C1.markers['after-root']).toEqual([PINNED]);
    const once = layerState(C1, 'after-status.json', ONCE)!;
    expect(['new', 'trying']).toContain(once.state);
    if (once.state === 'trying') expect(once.left).toBe(1);
    // 'new': the first unset reached the disk, the other arm keys are leftovers that check names and repair unsets.
    expect(rc(C1, 'check')).toBe(once.state === 'new' ? 1 : 0);
    expect(rc(C1, 'repair')).toBe(0);
    expect(rc(C1, 'check2')).toBe(0);
  });

  it('a power cut right after GRUB counted a try: the next boot counts on from there, one try lost at most', () => {
    expect(rc(C1, 'arm-again')).toBe(0);
    const arm = env(C1, 'rearmed-env.txt').imgbased_arm!;
    expect(C2.cut).toBe(true);
    expectDone(C3);
    expect(C3.markers.root).toEqual([ONCE]);
    expect(env(C3, 'env-early.txt').imgbased_count).toBe(`${arm}:2`);
    const s = JSON.parse(file(C3, 'status.json')) as { layers: LayerRow[] };
    expect(s.layers.find((l) => l.layer === ONCE)).toMatchObject({ state: 'good' });
    expect(C3.markers['check-rc']).toEqual(['0']);
  });
});
