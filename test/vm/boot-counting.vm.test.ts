// Issue 11 acceptance: boot counting, health checks, blessing, rollback, on real LVM thin, a real dracut initramfs,
// the disk's own GRUB and a real systemd, with no human input.
//
// A: one qemu run survives every reboot (lab `reboots: true`); a state machine in $LAB_SHARE/bc-state runs at each
//    boot the agent reaches (panicking boots never get there: GRUB counts them and the kernel's panic= reboots).
//      start         the fixture's newest layer (armed by layer --add) boots and is blessed
//      broken-init   a new layer whose systemd exits: 2 tries, then GRUB boots the previous good layer by id
//      garbage       a layer whose initramfs is garbage (kernel panics before it runs), armed for 1 try: same
//      health-fail   a new layer whose required check fails: marked bad, one reboot into the previous good layer
//      health-back   ... where the check is fixed and the layer re-armed (boot --tries 2)
//      blessed       it boots, is blessed; a failing and a hung wanted check are only logged (the hung one killed)
//      stay1, stay2  it stays the default across two reboots; rollback / rollback --to
//    then the default armed again (2 tries) for the cut below.
// C: qemu killed right after GRUB counted a try of the armed default; the next boot counts on (a sample of
//    boot-counting-cuts.vm.test.ts, which also cuts a blessing: `npm run test:powercut`).
// B: direct boots of the plain project disk (no imgbased tags): a good root= is booted as the last resort; without
//    root= one console line and the emergency shell within 3 minutes.
// npm test's sample (sample.ts) leaves out the garbage phase, stay1, C and B: IMGBASED_FULL=1 runs them.
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { boot, expectDone, outFile, overlay, stripEscapes, type BootResult } from './lab';
import { ensureLayeredHost } from './fixtures/layered';
import { RECORD_SH, grubEnv } from './script-run';
import { AFTER_GRUB_CUT_SH, WAIT_ASSESS_SH, layerSh, phasesSh } from './guest-sh';
import { FULL, FULL_SH } from './sample';

const VG = 'HostVG';
const L1 = 'Image-2.0-0+1';
const BROKEN = 'Image-2.0-0+2';
const GARBAGE = 'Image-1.0-0+3';
const HEALTH = 'Image-2.0-0+3';
/** A layer's menu / BLS entry id, as GRUB's saved_entry and the arm name it ('+' written as '_'). */
const id = (layer: string): string => `imgbased-${layer.replace(/\+/g, '_')}`;

const SCRIPT_A = String.raw`set -u
${RECORD_SH}${phasesSh('bc-state', 'start')}${WAIT_ASSESS_SH}assessed() { mark "assess-$PHASE" "$(waitassess)"; }
rec() {
  mark "root-$1" "$(running)"
  imgbase boot --status --json >"$O/$1-status.json" 2>"$O/$1-status.err"
  imgbase boot --status >"$O/$1-status.txt" 2>&1
  grub-editenv /boot/grub/grubenv list >"$O/$1-env.txt" 2>&1
  cp /boot/grub/imgbased.cfg "$O/$1-menu.cfg" 2>/dev/null
  imgbase boot --list >"$O/$1-list.txt" 2>&1
}
${layerSh(VG)}${FULL_SH}add_health() {
  t add-health imgbase layer --add Image-2.0-0
  inlayer ${HEALTH}
  install -d /mnt/l/etc/imgbased/check.d/required /mnt/l/etc/imgbased/check.d/wanted
  # A layer made on a base gets the base's /etc: its own settings (the boot.conf above is the running layer's).
  printf 'tries=2\ncheck-timeout=8\n' >/mnt/l/etc/imgbased/boot.conf
  printf '#!/bin/sh\nif [ -e /etc/imgbased/fail-flag ]; then echo "bc: the app is not up"; exit 1; fi\necho "bc: the app is up"\n' >/mnt/l/etc/imgbased/check.d/required/50-app
  printf '#!/bin/sh\necho "bc: wanted check says no"\nexit 3\n' >/mnt/l/etc/imgbased/check.d/wanted/60-says-no
  printf '#!/bin/sh\necho "bc: hanging"\nsleep 600\n' >/mnt/l/etc/imgbased/check.d/wanted/70-hangs
  chmod 0755 /mnt/l/etc/imgbased/check.d/*/*
  touch /mnt/l/etc/imgbased/fail-flag
  outlayer ${HEALTH}
  rec p3b
}
case $PHASE in
start)
  assessed; rec p1
  printf 'tries=2\ncheck-timeout=8\n' >/etc/imgbased/boot.conf
  t add-broken imgbase layer --add Image-2.0-0
  inlayer ${BROKEN}
  printf '#!/bin/sh\necho "bc: broken init exits"\nexit 1\n' >/mnt/l/usr/lib/systemd/systemd
  outlayer ${BROKEN}
  rec p1b
  goto broken-init; reboot_now ;;
broken-init)
  assessed; rec p2
  if [ "$FULL" = 0 ]; then add_health; goto health-back; reboot_now; fi
  t add-garbage imgbase layer --add Image-1.0-0
  for f in /boot/imgbased/Image-1.0-0/initrd*; do head -c 3000000 /dev/urandom >"$f"; done
  t arm-garbage imgbase boot --tries 1 ${GARBAGE}
  rec p2b
  goto garbage; reboot_now ;;
garbage)
  assessed; rec p3
  add_health
  goto health-back; reboot_now ;;
health-back)
  if [ "$(running)" = ${HEALTH} ]; then
    # The layer under test: the assessment marks it bad and reboots by itself; keep what it wrote meanwhile.
    mark health-fail-booted yes
    for i in $(seq 1 400); do [ -e /run/imgbased/health.json ] && break; sleep 1; done
    cp /run/imgbased/health.json "$O/p4-health.json"
    # Let the assessment's reboot go on without this agent to stop (systemd would wait 90 s for it).
    touch /run/lab-no-poweroff; exit 0
  fi
  assessed; rec p5
  inlayer ${HEALTH}; rm -f /mnt/l/etc/imgbased/fail-flag; outlayer ${HEALTH}
  t rearm imgbase boot --tries 2 ${HEALTH}
  rec p5b
  goto blessed; reboot_now ;;
blessed)
  assessed; rec p6
  journalctl -b -t imgbased-check -o cat --no-pager >"$O/p6-journal-checks.txt" 2>&1
  journalctl -b -u imgbased-boot-assess.service -o cat --no-pager >"$O/p6-journal-unit.txt" 2>&1
  if [ "$FULL" = 1 ]; then goto stay1; else goto stay2; fi; reboot_now ;;
stay1)
  assessed; rec p7
  goto stay2; reboot_now ;;
stay2)
  assessed; rec p8
  t rollback imgbase rollback --json
  grub-editenv /boot/grub/grubenv list >"$O/rollback-env.txt"
  t rollback-to imgbase rollback --to ${HEALTH}
  grub-editenv /boot/grub/grubenv list >"$O/rollback-to-env.txt"
  t rollback-bad imgbase rollback --to ${BROKEN}
  t tries-bad imgbase boot --tries 12 ${HEALTH}
  # For the cut below: the default armed for 2 tries.
  t arm-cut imgbase boot --tries 2 ${HEALTH}
  grub-editenv /boot/grub/grubenv list >"$O/arm-cut-env.txt"
  goto done ;;
*) mark unexpected-phase "$PHASE" ;;
esac
`;

let A: BootResult;
let C2: BootResult;
let C3: BootResult;
let B1: BootResult;
let B2: BootResult;

const file = (r: BootResult, name: string): string => outFile(r, name);
const json = <T = Record<string, unknown>>(r: BootResult, name: string): T => JSON.parse(file(r, name)) as T;
const env = (r: BootResult, name: string): Record<string, string> => grubEnv(file(r, name));
const rc = (r: BootResult, name: string): number => Number(file(r, `${name}.rc`).trim());
interface LayerRow { layer: string; state: string; left: number | null; tries: number | null; reason: string | null }
const layerState = (r: BootResult, p: string, layer: string): LayerRow | undefined =>
  json<{ layers: LayerRow[] }>(r, `${p}-status.json`).layers.find((l) => l.layer === layer);
/** A line GRUB printed: it wraps long lines on the serial console, so any space may have become a line break. */
const grubSaid = (text: string): RegExp => new RegExp(text.replace(/[.+*?()[\]{}^$|\\]/g, '\\$&').replace(/ /g, '\\s+'));
/** Entry ids of our menu file in order. */
const menuIds = (r: BootResult, p: string): string[] => [...file(r, `${p}-menu.cfg`).matchAll(/--id '([^']+)'/g)].map((m) => m[1]!);

describe('boot counting, health checks, blessing, rollback (issue 11)', () => {
  beforeAll(async () => {
    const lab = inject('lab');
    const layered = await ensureLayeredHost(lab);
    const diskA = await overlay(layered.disk, 'boot-counting');
    const diskB = await overlay(lab.projectDisk, 'boot-counting-root');
    const chain = boot({ name: 'boot-counting', disk: diskA, reboots: true, script: SCRIPT_A, timeoutS: 5400 });
    // B: the issue's own command line (a VG without imgbased tags); then no root= at all.
    const direct = FULL && (async () => {
      B1 = await boot({
        name: 'boot-counting-root', disk: diskB, kernel: lab.projectKernel, initrd: lab.projectInitrd,
        append: 'root=/dev/HostVG/root rd.lvm.lv=HostVG/root imgbased.layer=x rw', timeoutS: 600,
        script: `${RECORD_SH}t status imgbase boot --status --json\nt status-txt imgbase boot --status\n`,
      });
      B2 = await boot({
        name: 'boot-counting-noroot', disk: diskB, kernel: lab.projectKernel, initrd: lab.projectInitrd,
        append: 'rd.lvm.lv=HostVG/root imgbased.layer=x rw', timeoutS: 240, script: 'mark reached-userland yes\n',
        // The emergency shell is where this boot ends: no need to wait for the timeout.
        cutAt: /Entering emergency mode/,
      });
    })();
    A = await chain;
    expectDone(A);
    if (!FULL) return;
    // npm test's sample of boot-counting-cuts: qemu killed as soon as GRUB prints the armed default's "Loading"
    // line (after the count's save_env); the next boot counts on from there.
    C2 = await boot({ name: 'boot-counting-grubcut', disk: diskA, timeoutS: 600, cutAt: new RegExp(`Loading imgbased layer ${HEALTH.replace(/[.+]/g, '\\$&')}`) });
    C3 = await boot({ name: 'boot-counting-after-cut', disk: diskA, timeoutS: 900, script: AFTER_GRUB_CUT_SH });
    await direct;
  }, 3 * 3600_000);

  it('the fixture\'s armed layer boots through GRUB and is blessed good', () => {
    expect(A.markers['root-p1']).toEqual([L1]);
    expect(layerState(A, 'p1', L1)).toMatchObject({ state: 'good' });
    expect(env(A, 'p1-env.txt').imgbased_try ?? '').toBe('');
  });

  it('1. a layer whose init dies: after its 2 tries GRUB boots the previous good layer; it is bad and last', () => {
    expect(rc(A, 'add-broken')).toBe(0);
    expect(env(A, 'p1b-env.txt')).toMatchObject({ imgbased_try: BROKEN, imgbased_tries: '2', imgbased_fallback: id(L1) });
    const log = stripEscapes(A.log);
    // Its init (the layer's systemd) exits: the kernel panics, panic= reboots, GRUB counts. Twice.
    expect(log.match(/Kernel panic - not syncing: Attempted to kill init/g)?.length).toBe(2);
    expect(log).toMatch(grubSaid(`imgbased: ${BROKEN} used up its 2 boot tries; booting ${id(L1)}`));
    expect(A.markers['root-p2']).toEqual([L1]);
    const s = json<{ grubFellBackFrom: string; booted: string }>(A, 'p2-status.json');
    expect(s).toMatchObject({ booted: L1, grubFellBackFrom: BROKEN });
    expect(layerState(A, 'p2', BROKEN)).toMatchObject({ state: 'bad', reason: expect.stringMatching(/used up its 2 boot tries/) });
    expect(file(A, 'p2-status.txt')).toMatch(new RegExp(`${BROKEN.replace(/[.+]/g, '\\$&')}\\s+bad: used up its 2 boot tries`));
    expect(menuIds(A, 'p2').at(-1)).toBe(id(BROKEN));
    // boot --list marks the default GRUB boots: the good layer, not the newer bad one.
    expect(file(A, 'p2-list.txt')).toMatch(new RegExp(`^\\*>?\\s+${L1.replace(/[.+]/g, '\\$&')}\\s`, 'm'));
    expect(file(A, 'p2-list.txt')).not.toMatch(new RegExp(`^\\*>?\\s+${BROKEN.replace(/[.+]/g, '\\$&')}\\s`, 'm'));
    expect(file(A, 'p2-menu.cfg')).toContain('(marked bad)');
  });

  it.runIf(FULL)('3. a layer whose kernel panics before the initramfs runs (garbage initramfs): GRUB falls back after its try', () => {
    expect(rc(A, 'arm-garbage')).toBe(0);
    expect(env(A, 'p2b-env.txt')).toMatchObject({ imgbased_try: GARBAGE, imgbased_tries: '1', saved_entry: id(GARBAGE) });
    expect(stripEscapes(A.log)).toMatch(grubSaid(`imgbased: ${GARBAGE} used up its 1 boot tries; booting ${id(L1)}`));
    expect(A.markers['root-p3']).toEqual([L1]);
    expect(layerState(A, 'p3', GARBAGE)).toMatchObject({ state: 'bad', reason: expect.stringMatching(/used up its 1 boot try/) });
    // The bad layer's pin is gone: the default is the previous good layer.
    expect(env(A, 'p3-env.txt').saved_entry ?? '').not.toBe(id(GARBAGE));
  });

  it('2. a required check fails: marked bad, one reboot into the previous good layer; fixed and re-armed it is blessed and stays', () => {
    expect(A.markers['health-fail-booted']).toEqual(['yes']);
    const h = json<{ layer: string; healthy: boolean; reboot: string; checks: Array<{ name: string; ok: boolean; why: string }> }>(A, 'p4-health.json');
    expect(h).toMatchObject({ layer: HEALTH, healthy: false, reboot: L1 });
    expect(h.checks.find((c) => c.name === '50-app')).toMatchObject({ ok: false, why: 'exit 1' });
    expect(A.markers['root-p5']).toEqual([L1]);
    expect(layerState(A, 'p5', HEALTH)).toMatchObject({ state: 'bad', reason: 'required health check 50-app failed' });
    // One reboot: the health-back phase ran exactly twice (the failing boot, then the fallback).
    expect(A.markers.phase!.filter((p) => p.startsWith('health-back'))).toHaveLength(2);
    expect(rc(A, 'rearm')).toBe(0);
    expect(layerState(A, 'p5b', HEALTH)).toMatchObject({ state: 'trying', left: 2, tries: 2 });
    expect(A.markers['root-p6']).toEqual([HEALTH]);
    expect(layerState(A, 'p6', HEALTH)).toMatchObject({ state: 'good' });
    if (FULL) expect(A.markers['root-p7']).toEqual([HEALTH]);
    expect(A.markers['root-p8']).toEqual([HEALTH]);
  });

  it('4. a failing wanted check: blessed anyway, logged; a hung check is killed at its timeout and counts as failed', () => {
    const s = json<{ health: { healthy: boolean; summary: string; checks: Array<{ name: string; kind: string; ok: boolean; why: string; seconds: number }> } }>(A, 'p6-status.json');
    expect(s.health.healthy).toBe(true);
    expect(s.health.summary).toMatch(/wanted failed \(logged only\): 60-says-no, 70-hangs/);
    const hung = s.health.checks.find((c) => c.name === '70-hangs')!;
    expect(hung).toMatchObject({ kind: 'wanted', ok: false, why: 'killed after 8 s' });
    expect(hung.seconds).toBeGreaterThanOrEqual(8);
    expect(hung.seconds).toBeLessThan(30);
    expect(file(A, 'p6-journal-checks.txt')).toContain('60-says-no: bc: wanted check says no');
    expect(file(A, 'p6-journal-checks.txt')).toContain('50-app: bc: the app is up');
  });

  it('6. rollback and rollback --to; a bad layer is refused; a try count out of range is a usage error', () => {
    expect(rc(A, 'rollback')).toBe(0);
    expect(JSON.parse(file(A, 'rollback.out'))).toEqual({ default: L1 });
    expect(env(A, 'rollback-env.txt').saved_entry).toBe(id(L1));
    expect(rc(A, 'rollback-to')).toBe(0);
    expect(env(A, 'rollback-to-env.txt').saved_entry).toBe(id(HEALTH));
    expect(rc(A, 'rollback-bad')).not.toBe(0);
    expect(file(A, 'rollback-bad.err')).toMatch(/is bad .*boot --tries/);
    expect(rc(A, 'tries-bad')).toBe(2);
  });

  it.runIf(FULL)('a power cut right after GRUB counted a try (qemu killed at its Loading line): the next boot counts on, one try lost at most', () => {
    expect(rc(A, 'arm-cut')).toBe(0);
    const arm = env(A, 'arm-cut-env.txt').imgbased_arm!;
    expect(C2.cut).toBe(true);
    expectDone(C3);
    expect(C3.markers.root).toEqual([HEALTH]);
    expect(env(C3, 'env-early.txt').imgbased_count).toBe(`${arm}:2`);
    expect(json<{ layers: LayerRow[] }>(C3, 'status.json').layers.find((l) => l.layer === HEALTH)).toMatchObject({ state: 'good' });
    expect(C3.markers['check-rc']).toEqual(['0']);
  });

  it.runIf(FULL)('7. no usable layer but a good root=: root= boots, status says so', () => {
    expectDone(B1);
    expect(B1.markers['boot-root']?.[0]).toMatch(/HostVG-root$/);
    expect(stripEscapes(B1.log)).toMatch(/imgbased: no volume group tagged imgbased:vg found; booting root=\/dev\/HostVG\/root \(\/dev\/HostVG\/root\) as the last resort/);
    expect(stripEscapes(B1.log)).toContain('imgbased: x unusable: not found in any imgbased volume group; no other layer to try');
    const s = JSON.parse(file(B1, 'status.out')) as { booted: string | null; lastResort: string };
    expect(s).toMatchObject({ booted: null, lastResort: '/dev/HostVG/root' });
    expect(file(B1, 'status-txt.out')).toContain('last resort: booted /dev/HostVG/root');
  });

  it.runIf(FULL)('7. no usable layer and no root=: one clear console line and the emergency shell within 3 minutes', () => {
    const log = stripEscapes(B2.log);
    expect(B2.cut).toBe(true);
    expect(B2.markers['reached-userland']).toBeUndefined();
    const lines = log.split('\n').filter((l) => l.includes('imgbased: cannot boot'));
    expect(lines.length).toBeGreaterThanOrEqual(1);
    expect(lines[0]).toContain('no root= to fall back to');
    // The kernel's own timestamp on that console line: seconds since the kernel started.
    const at = Number(/\[\s*(\d+\.\d+)\]/.exec(lines[0]!)?.[1] ?? NaN);
    expect(at).toBeLessThan(170);
    expect(log.slice(log.indexOf(lines[0]!))).toMatch(/emergency/i);
  });
});
