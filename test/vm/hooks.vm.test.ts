// Issue 12 acceptance: lifecycle hooks on real LVM thin, GRUB and systemd. Three guest boots of one overlay of the
// plain project disk:
//   A (direct kernel boot of the host root): recording hooks in /etc/imgbased/hooks.d/<every event>/ (+ one alias
//     directory, + a post-layer-add hook stamping $IMGBASED_NEW_ROOT); layout --init, base --add --from, layer --add,
//     layer --remove, base --remove: each event once, with its environment. Then --dry-run (only pre- hooks, told so);
//     order across /usr/lib and /etc, replacement, masking, a non-executable file (hooks --list, --json); a failing
//     pre- hook (nothing changed: lvs, /boot, grubenv); a failing post- hook (work kept, exit 5); a hook past its
//     timeout (killed with its children); a world-writable hook and a group-writable hook directory (refused before
//     any change; hooks not owned by root listed as refused). Last: `boot --next` the stamped layer.
//   B (through the disk's GRUB): the one-shot lands on the stamped layer; the stamp is there; boot-good fires once.
//   C (direct boot, imgbased.layer=<missing layer>): the initramfs falls back; imgbased-boot-assess.service fires
//     boot-bad, fallback and boot-good once each; a second `imgbase boot --events` fires nothing.
// Every hook records into /var/lib/hooktest/<phase>.log of the root it runs on; the host asserts on those files.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { boot, expectDone, expectMarker, outFile, stripEscapes, type BootResult } from './lab';
import { WAIT_ASSESS_SH } from './guest-sh';
import { RECORD_SH, recorded, runScenario } from './script-run';

const VG = 'HostVG';
const B1 = 'Image-1.0-0';
const B2 = 'Image-2.0-0';
const L1 = `${B1}+1`;
const L2 = `${B1}+2`; // made in phase "events": stamped by the post-layer-add hook, booted through GRUB in B
const L3 = `${B1}+3`; // made in phase "order"
const L4 = `${B1}+4`; // made in phase "postfail"; the newest layer: where C falls back to
const MISSING = 'Image-9.9-9+1';
const HD = '/etc/imgbased/hooks.d';
const UD = '/usr/lib/imgbased/hooks.d';
const dm = (lv: string): string => `/dev/mapper/${VG}-${lv.replace(/-/g, '--')}`;
const re = (s: string): string => s.replace(/[.+*?()[\]{}^$|\\]/g, '\\$&');

const EVENTS = [
  'pre-layout-init', 'post-layout-init', 'pre-base-add', 'post-base-add', 'pre-base-remove', 'post-base-remove',
  'pre-layer-add', 'post-layer-add', 'pre-layer-remove', 'post-layer-remove', 'post-install', 'boot-good', 'boot-bad',
  'fallback',
];

/** The recording hook: which hook ran, its IMGBASED_* environment, cwd, stdin, and what NEW_ROOT is. ($0 is
 * /proc/self/fd/3: the open file imgbase checked; IMGBASED_HOOK is its path.) */
const REC = String.raw`#!/bin/sh
log=/var/lib/hooktest/$(cat /run/hooktest-phase 2>/dev/null || echo boot).log
{
  echo "== $IMGBASED_HOOK"
  env | grep '^IMGBASED_' | LC_ALL=C sort
  echo "PWD=$(pwd -P)"
  echo "STDIN=$(readlink /proc/$$/fd/0)"
  [ -z "$IMGBASED_NEW_ROOT" ] || echo "NEW_ROOT_MOUNT=$(findmnt -no SOURCE,OPTIONS --mountpoint "$IMGBASED_NEW_ROOT")"
} >>"$log"
echo "recorded $IMGBASED_EVENT"
`;

/** Shared by the three boots: the recorder prelude, and waiting for the boot-events unit to be done. */
const COMMON = String.raw`set -u
${RECORD_SH}stage() { mark stage "$1 $(cut -d' ' -f1 /proc/uptime)"; }
${WAIT_ASSESS_SH}waitunit() { mark "unit-$1" "$(waitassess) $(systemctl show -p Result --value imgbased-boot-assess.service)"; }
`;

const SCRIPT_A = String.raw`${COMMON}
HD=${HD} UD=${UD} REC=/usr/local/lib/hooktest-rec
phase() { echo "$1" >/run/hooktest-phase; stage "$1"; }
lvsnap() { lvs --reportformat json -a -o lv_name,lv_attr,lv_tags,origin,lv_size,lv_uuid ${VG}; }
# /boot: every path with type, mode, size and mtime; the content of the entries, menus and grubenv.
bootsnap() {
  find /boot -xdev -printf '%y %m %s %T@ %p\n' | LC_ALL=C sort
  sha256sum /boot/loader/entries/* /boot/grub/grubenv /boot/grub/grub.cfg /boot/grub/imgbased.cfg 2>&1
}
snap() { lvsnap >"$O/$1.lvs.json" 2>&1; bootsnap >"$O/$1.boot.txt"; }
mountpoint -q /boot || mount /boot
mkdir -p /var/lib/hooktest
cp "$LAB_SHARE/rec" "$REC"

# 1. Every event once: a recorder in each event's directory, one in an alias directory, and a hook that stamps
# the new layer through $IMGBASED_NEW_ROOT. (42_imgbased stays: B boots through our GRUB menu.)
phase events
for e in ${EVENTS.join(' ')}; do install -D -m 0755 "$REC" "$HD/$e/10-rec"; done
install -D -m 0755 "$REC" "$HD/new-layer-added/20-alias"
printf '#!/bin/sh\nset -e\necho "$IMGBASED_LAYER" >"$IMGBASED_NEW_ROOT/etc/imgbased-hook-stamp"\necho "stamped $IMGBASED_NEW_ROOT"\n' >"$HD/post-layer-add/50-stamp"
chmod 0755 "$HD/post-layer-add/50-stamp"
t init imgbase layout --init ${B1} --from / --no-data
t badd imgbase base --add ${B2} --from "$LAB_SHARE/small.ext4"
t ladd imgbase layer --add ${B1}
t lrm imgbase layer --remove ${L1}
t brm imgbase base --remove ${B2}

# 2. --dry-run: the plan lists the hooks; only the pre- hooks run, with IMGBASED_DRY_RUN=1.
phase dry
snap dry-before
t dry imgbase --dry-run --json layer --add ${B1}
snap dry-after
rm -rf "$HD"/*

# 3. Order across /usr/lib and /etc (C locale: digits < upper case < lower case), replacement, masking, skipping.
phase order
oh() { mkdir -p "$1/pre-layer-add"; printf '#!/bin/sh\necho "%s %s" >>/var/lib/hooktest/order.log\n' "$2" "$3" >"$1/pre-layer-add/$2"; chmod "$4" "$1/pre-layer-add/$2"; }
oh "$UD" 10-a usr 0755; oh "$HD" 20-b etc 0755; oh "$UD" 30-c usr 0755
oh "$UD" 40-r usr 0755; oh "$HD" 40-r etc 0755
oh "$UD" 50-m usr 0755; ln -s /dev/null "$HD/pre-layer-add/50-m"
oh "$HD" 60-n etc 0644; oh "$HD" 70-x.imgnew etc 0755
oh "$UD" Z-up usr 0755; oh "$HD" a-low etc 0755
t hlist imgbase hooks --list --event pre-layer-add
t hjson imgbase hooks --list --event pre-layer-add --json
t order imgbase layer --add ${B1}
mark latest-order "$(imgbase layer --latest)"
rm -rf "$UD/pre-layer-add" "$HD/pre-layer-add"

# 4. A pre- hook exiting 1: nothing changes.
phase prefail
mkdir -p "$HD/pre-layer-add"
printf '#!/bin/sh\necho "no new layer today"\nexit 1\n' >"$HD/pre-layer-add/10-veto"; chmod 0755 "$HD/pre-layer-add/10-veto"
snap prefail-before
t prefail imgbase layer --add ${B1}
snap prefail-after
rm -rf "$HD/pre-layer-add"

# 5. A post- hook exiting 3: the layer is made and kept, the next post- hook still runs, exit 5.
phase postfail
mkdir -p "$HD/post-layer-add"
printf '#!/bin/sh\necho "post hook failing"\nexit 3\n' >"$HD/post-layer-add/10-fail"; chmod 0755 "$HD/post-layer-add/10-fail"
install -m 0755 "$REC" "$HD/post-layer-add/20-after"
t postfail imgbase layer --add ${B1}
mark latest-postfail "$(imgbase layer --latest)"
lvs --noheadings -o lv_name,lv_tags ${VG}/${L4} >"$O/postfail-lv.txt" 2>&1
ls /boot/loader/entries >"$O/postfail-entries.txt"
t postfail-check imgbase check
rm -rf "$HD/post-layer-add"

# 6. A hook past its timeout (5 s), with a child of its own: both killed, the command reports it.
phase timeout
echo 'timeout=5' >/etc/imgbased/hooks.conf
mkdir -p "$HD/pre-layer-remove"
printf '#!/bin/sh\nsleep 1000 &\necho "started sleep 1000 as $!"\nsleep 900\n' >"$HD/pre-layer-remove/10-slow"; chmod 0755 "$HD/pre-layer-remove/10-slow"
t tlist imgbase hooks --list --event pre-layer-remove --json
snap timeout-before
s=$(date +%s%N)
t timeout imgbase layer --remove ${L3}
echo $(( ($(date +%s%N) - s) / 1000000 )) >"$O/timeout.ms"
snap timeout-after
t pgrep pgrep -af '^sleep (1000|900)$'
rm -rf /etc/imgbased/hooks.conf "$HD/pre-layer-remove"

# 7. Refused before any change: a world-writable post- hook, a group-writable hook directory.
phase refuse
mkdir -p "$HD/post-layer-add"
install -m 0777 "$REC" "$HD/post-layer-add/10-ww"; chmod 0777 "$HD/post-layer-add/10-ww"
mkdir -p "$UD/pre-layer-remove"; install -m 0755 "$REC" "$UD/pre-layer-remove/10-ok"; chmod 0775 "$UD/pre-layer-remove"
# Not owned by root (a hook, a hook directory): listed as refused too.
install -D -m 0755 "$REC" "$HD/pre-base-add/10-uid"; chown 1000 "$HD/pre-base-add/10-uid"
install -D -m 0755 "$REC" "$HD/post-base-add/10-ok"; chown 1000 "$HD/post-base-add"
stat -c '%a %u %n' "$HD/post-layer-add/10-ww" "$UD/pre-layer-remove" "$HD/pre-base-add/10-uid" "$HD/post-base-add" >"$O/refuse-modes.txt"
t refuse-list imgbase hooks --list --json
rm -rf "$HD/pre-base-add" "$HD/post-base-add"
snap ww-before
t refuse-ww imgbase layer --add ${B1}
snap ww-after
snap gw-before
t refuse-gw imgbase layer --remove ${L3}
snap gw-after
rm -rf "$HD/post-layer-add" "$UD/pre-layer-remove"

# 8. The next boot (B, through GRUB) is the stamped layer.
phase final
t next imgbase boot --next ${L2}
mark latest "$(imgbase layer --latest)"
mark enabled "$(systemctl is-enabled imgbased-boot-assess.service 2>&1)"
journalctl -t imgbased-hook -o cat --no-pager >"$O/journal-hooks.txt" 2>&1
for f in /var/lib/hooktest/*.log; do cp "$f" "$O/A-$(basename "$f")"; done
imgbase layout >"$O/layout.txt" 2>&1
sync
`;

const SCRIPT_B = String.raw`${COMMON}
stage b
t stamp cat /etc/imgbased-hook-stamp
t status imgbase boot --status --json
# Fired here or by the unit, whichever comes first; the other finds the marker.
t ev imgbase boot --events
waitunit b
cp /var/lib/hooktest/boot.log "$O/B-boot.log"
`;

const SCRIPT_C = String.raw`${COMMON}
stage c
mark enabled "$(systemctl is-enabled imgbased-boot-assess.service 2>&1)"
# The unit (after multi-user.target) fires this boot's events; the agent runs before that, so wait for it.
waitunit c
cp /var/lib/hooktest/boot.log "$O/C-boot-unit.log" 2>&1
journalctl -u imgbased-boot-assess.service -o cat --no-pager >"$O/unit-journal.txt" 2>&1
journalctl -t imgbased-hook -o cat --no-pager >"$O/journal-hooks.txt" 2>&1
t ev2 imgbase boot --events
cp /var/lib/hooktest/boot.log "$O/C-boot-after.log" 2>&1
cp /run/imgbased/boot-status.json "$O/status.json"
`;

interface Rec {
  path: string;
  env: Record<string, string>;
}

/** The recorder's log as records, in the order the hooks ran. */
function records(text: string): Rec[] {
  const out: Rec[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('== ')) out.push({ path: line.slice(3), env: {} });
    else if (out.length > 0 && line.includes('=')) {
      const i = line.indexOf('=');
      out[out.length - 1]!.env[line.slice(0, i)] = line.slice(i + 1);
    }
  }
  return out;
}

const CONTRACT_KEYS = [
  'IMGBASED_BASE', 'IMGBASED_DRY_RUN', 'IMGBASED_EVENT', 'IMGBASED_HOOK', 'IMGBASED_LAYER', 'IMGBASED_NEW_ROOT', 'IMGBASED_PREV_LAYER', 'IMGBASED_VG',
];
const imgbasedKeys = (r: Rec): string[] => Object.keys(r.env).filter((k) => k.startsWith('IMGBASED_')).sort();

function makeImage(dir: string): string {
  const tree = path.join(dir, 'tree');
  mkdirSync(path.join(tree, 'etc'), { recursive: true });
  writeFileSync(path.join(tree, 'etc', 'os-release'), 'NAME="Test"\nPRETTY_NAME="Test image 2"\n');
  const img = path.join(dir, 'small.ext4');
  execFileSync('mkfs.ext4', ['-q', '-F', '-d', tree, img, '64M']);
  return img;
}

let a: BootResult;
let b: BootResult;
let c: BootResult;
let disk = '';
const A = recorded(() => a);
const fileA = (n: string): string => outFile(a, n);
const said = (n: string): string => `rc ${A.rc(n)}\nstdout: ${A.out(n)}\nstderr: ${A.err(n)}`;
const lines = (s: string): string[] => s.split('\n').filter((l) => l.trim() !== '');
const durations: string[] = [];

describe.sequential('lifecycle hooks (issue 12)', () => {
  beforeAll(async () => {
    const r = await runScenario({
      name: 'hooks-a',
      script: SCRIPT_A,
      timeoutS: 1800,
      files: (dir) => {
        const rec = path.join(dir, 'rec');
        writeFileSync(rec, REC);
        return { 'small.ext4': makeImage(dir), rec };
      },
    });
    a = r.result;
    disk = r.disk;
    durations.push(`A ${a.durationS.toFixed(0)} s`);
  }, 40 * 60_000);

  afterAll(() => console.log(`hooks: boot durations ${durations.join(', ')}`));

  describe('A: the verbs and their hooks', () => {
    it('every verb succeeded', () => {
      for (const n of ['init', 'badd', 'ladd', 'lrm', 'brm']) expect(A.rc(n), said(n)).toBe(0);
    });

    it('each event fires exactly once, in order, with the documented environment', () => {
      const recs = records(fileA('A-events.log'));
      const none = { IMGBASED_VG: VG, IMGBASED_DRY_RUN: '0', IMGBASED_NEW_ROOT: '', PWD: '/', STDIN: '/dev/null' };
      const layerAdd = { IMGBASED_BASE: B1, IMGBASED_LAYER: L2, IMGBASED_PREV_LAYER: L1 };
      const expected: Array<[string, Record<string, string>]> = [
        [`${HD}/pre-layout-init/10-rec`, { ...none, IMGBASED_EVENT: 'pre-layout-init', IMGBASED_BASE: B1, IMGBASED_LAYER: L1, IMGBASED_PREV_LAYER: '' }],
        [`${HD}/post-layout-init/10-rec`, { ...none, IMGBASED_EVENT: 'post-layout-init', IMGBASED_BASE: B1, IMGBASED_LAYER: L1, IMGBASED_PREV_LAYER: '' }],
        [`${HD}/pre-base-add/10-rec`, { ...none, IMGBASED_EVENT: 'pre-base-add', IMGBASED_BASE: B2, IMGBASED_LAYER: '', IMGBASED_PREV_LAYER: '' }],
        [`${HD}/post-base-add/10-rec`, { ...none, IMGBASED_EVENT: 'post-base-add', IMGBASED_BASE: B2, IMGBASED_LAYER: '', IMGBASED_PREV_LAYER: '' }],
        [`${HD}/pre-layer-add/10-rec`, { ...none, IMGBASED_EVENT: 'pre-layer-add', ...layerAdd }],
        [`${HD}/post-layer-add/10-rec`, { ...none, IMGBASED_EVENT: 'post-layer-add', ...layerAdd }],
        [`${HD}/new-layer-added/20-alias`, { ...none, IMGBASED_EVENT: 'post-layer-add', ...layerAdd }],
        [`${HD}/post-install/10-rec`, { ...none, IMGBASED_EVENT: 'post-install', ...layerAdd }],
        [`${HD}/pre-layer-remove/10-rec`, { ...none, IMGBASED_EVENT: 'pre-layer-remove', IMGBASED_BASE: B1, IMGBASED_LAYER: L1, IMGBASED_PREV_LAYER: '' }],
        [`${HD}/post-layer-remove/10-rec`, { ...none, IMGBASED_EVENT: 'post-layer-remove', IMGBASED_BASE: B1, IMGBASED_LAYER: L1, IMGBASED_PREV_LAYER: '' }],
        [`${HD}/pre-base-remove/10-rec`, { ...none, IMGBASED_EVENT: 'pre-base-remove', IMGBASED_BASE: B2, IMGBASED_LAYER: '', IMGBASED_PREV_LAYER: '' }],
        [`${HD}/post-base-remove/10-rec`, { ...none, IMGBASED_EVENT: 'post-base-remove', IMGBASED_BASE: B2, IMGBASED_LAYER: '', IMGBASED_PREV_LAYER: '' }],
      ];
      // Which hooks ran, in which order: each event's recorder once, the alias directory's once, no boot event.
      expect(recs.map((r) => r.path)).toEqual(expected.map(([p]) => p));
      for (const e of EVENTS.filter((x) => !x.startsWith('boot-') && x !== 'fallback')) {
        expect(recs.filter((r) => r.env.IMGBASED_EVENT === e && r.path.endsWith('/10-rec')), e).toHaveLength(1);
      }
      for (const [i, [p, env]] of expected.entries()) {
        const r = recs[i]!;
        expect(imgbasedKeys(r), p).toEqual(CONTRACT_KEYS);
        const newRoot = r.env.IMGBASED_NEW_ROOT!;
        if (env.IMGBASED_EVENT === 'post-layer-add' || env.IMGBASED_EVENT === 'post-install') {
          // The new layer, mounted read-write.
          expect(newRoot, p).not.toBe('');
          expect(r.env.NEW_ROOT_MOUNT, p).toMatch(new RegExp(`^(${re(dm(L2))}|/dev/${VG}/${re(L2)}) rw[, ]`));
          expect({ ...r.env, IMGBASED_NEW_ROOT: '' }, p).toMatchObject(env);
        } else {
          expect(r.env, p).toMatchObject(env);
        }
      }
    });

    it("hook output reaches stderr and the journal, each line prefixed with the hook's name", () => {
      const err = A.err('init');
      const pre = err.indexOf('10-rec: recorded pre-layout-init');
      const post = err.indexOf('10-rec: recorded post-layout-init');
      expect(pre, err).toBeGreaterThanOrEqual(0);
      expect(post, err).toBeGreaterThan(pre);
      expect(A.err('ladd')).toContain('20-alias: recorded post-layer-add');
      expect(A.err('ladd')).toMatch(/^50-stamp: stamped \/\S+$/m);
      const journal = fileA('journal-hooks.txt');
      for (const e of ['pre-layout-init', 'post-layout-init', 'pre-base-add', 'post-base-remove', 'post-install']) {
        expect(journal).toContain(`10-rec: recorded ${e}`);
      }
      expect(journal).toContain('20-alias: recorded post-layer-add');
    });

    it('--dry-run lists the hooks as the first and last steps, runs only the pre- hooks (IMGBASED_DRY_RUN=1), changes nothing', () => {
      expect(A.rc('dry'), said('dry')).toBe(0);
      const steps = A.json<{ steps: Array<{ n: number; kind: string; text: string }> }>('dry').steps;
      const hooks = steps.filter((s) => s.kind === 'hook').map((s) => s.text);
      expect(hooks).toEqual([
        `run pre-layer-add hook ${HD}/pre-layer-add/10-rec`,
        `run post-layer-add hook ${HD}/post-layer-add/10-rec with ${VG}/${L3} mounted as IMGBASED_NEW_ROOT`,
        `run post-layer-add hook ${HD}/new-layer-added/20-alias with ${VG}/${L3} mounted as IMGBASED_NEW_ROOT`,
        `run post-layer-add hook ${HD}/post-layer-add/50-stamp with ${VG}/${L3} mounted as IMGBASED_NEW_ROOT`,
        `run post-install hook ${HD}/post-install/10-rec with ${VG}/${L3} mounted as IMGBASED_NEW_ROOT`,
      ]);
      expect(steps[0]!.kind).toBe('hook');
      expect(steps.slice(-4).every((s) => s.kind === 'hook')).toBe(true);
      const recs = records(fileA('A-dry.log'));
      expect(recs.map((r) => r.path)).toEqual([`${HD}/pre-layer-add/10-rec`]);
      expect(recs[0]!.env).toMatchObject({ IMGBASED_EVENT: 'pre-layer-add', IMGBASED_DRY_RUN: '1', IMGBASED_LAYER: L3, IMGBASED_NEW_ROOT: '' });
      expect(fileA('dry-after.lvs.json')).toBe(fileA('dry-before.lvs.json'));
      expect(fileA('dry-after.boot.txt')).toBe(fileA('dry-before.boot.txt'));
    });

    it('order across /usr/lib and /etc by name (C locale); /etc replaces; a /dev/null link masks; non-executables and names other than [A-Za-z0-9_-]+ are skipped', () => {
      expect(A.rc('order'), said('order')).toBe(0);
      expect(lines(fileA('A-order.log'))).toEqual(['10-a usr', '20-b etc', '30-c usr', '40-r etc', 'Z-up usr', 'a-low etc']);
      expectMarker(a, 'latest-order', L3);
      const j = A.json<{ timeoutS: number; events: Array<{ event: string; hooks: Array<{ name: string; path: string; status: string; why: string | null }> }> }>('hjson');
      expect(j.events.map((e) => e.event)).toEqual(['pre-layer-add']);
      expect(j.timeoutS).toBe(300);
      const got = j.events[0]!.hooks.map((h) => `${h.status} ${h.path}`);
      expect(got).toEqual([
        `run ${UD}/pre-layer-add/10-a`,
        `run ${HD}/pre-layer-add/20-b`,
        `run ${UD}/pre-layer-add/30-c`,
        `replaced ${UD}/pre-layer-add/40-r`,
        `run ${HD}/pre-layer-add/40-r`,
        `replaced ${UD}/pre-layer-add/50-m`,
        `masked ${HD}/pre-layer-add/50-m`,
        `skipped ${HD}/pre-layer-add/60-n`,
        `skipped ${HD}/pre-layer-add/70-x.imgnew`,
        `run ${UD}/pre-layer-add/Z-up`,
        `run ${HD}/pre-layer-add/a-low`,
      ]);
      const text = A.out('hlist');
      expect(A.rc('hlist')).toBe(0);
      expect(text).toMatch(new RegExp(`^\\s*skipped\\s+${re(`${HD}/pre-layer-add/60-n`)}.*not executable`, 'm'));
      expect(text).toMatch(new RegExp(`^\\s*skipped\\s+${re(`${HD}/pre-layer-add/70-x.imgnew`)}.*name is not \\[A-Za-z0-9_-\\]\\+ \\(like run-parts\\)`, 'm'));
      expect(text).toMatch(new RegExp(`^\\s*masked\\s+${re(`${HD}/pre-layer-add/50-m`)}`, 'm'));
      expect(text).toMatch(new RegExp(`^\\s*replaced\\s+${re(`${UD}/pre-layer-add/40-r`)}.*${re(`${HD}/pre-layer-add/40-r`)}`, 'm'));
    });

    it('a pre- hook exiting 1: exit 1, one line naming the hook and its exit code, LVM and /boot byte for byte as before', () => {
      expect(A.rc('prefail'), said('prefail')).toBe(1);
      const err = lines(A.err('prefail'));
      expect(err).toContain('10-veto: no new layer today');
      const ours = err.filter((l) => l.startsWith('imgbase:'));
      expect(ours, A.err('prefail')).toHaveLength(1);
      expect(ours[0]).toMatch(new RegExp(`${re(`${HD}/pre-layer-add/10-veto`)}.*\\b1\\b`));
      expect(ours[0]).toMatch(/exit/);
      expect(fileA('prefail-after.lvs.json')).toBe(fileA('prefail-before.lvs.json'));
      expect(fileA('prefail-after.boot.txt')).toBe(fileA('prefail-before.boot.txt'));
      expect(fileA('prefail-before.boot.txt')).toMatch(/ \/boot\/grub\/grubenv$/m);
    });

    it('a post- hook failing: the layer is made and kept, later post- hooks still run, exit 5', () => {
      expect(A.rc('postfail'), said('postfail')).toBe(5);
      expect(A.err('postfail')).toContain('10-fail: post hook failing');
      expect(A.err('postfail')).toMatch(new RegExp(`${re(`${HD}/post-layer-add/10-fail`)} exited 3`));
      expectMarker(a, 'latest-postfail', L4);
      const lv = fileA('postfail-lv.txt');
      expect(lv).toContain(L4);
      expect(lv).not.toContain('imgbased:incomplete');
      expect(lines(fileA('postfail-entries.txt'))).toContain(`imgbased-${L4.replace('+', '_')}.conf`);
      expect(A.rc('postfail-check'), said('postfail-check')).toBe(0);
      const recs = records(fileA('A-postfail.log'));
      expect(recs.map((r) => r.path)).toEqual([`${HD}/post-layer-add/20-after`]);
      expect(recs[0]!.env).toMatchObject({ IMGBASED_EVENT: 'post-layer-add', IMGBASED_LAYER: L4, IMGBASED_PREV_LAYER: L3 });
    });

    it('a hook past its timeout is killed with its children; the command reports it and changes nothing', () => {
      expect(A.json<{ timeoutS: number }>('tlist').timeoutS).toBe(5);
      expect(A.rc('timeout'), said('timeout')).toBe(1);
      expect(A.err('timeout')).toMatch(/^10-slow: started sleep 1000 as \d+$/m);
      expect(A.err('timeout')).toMatch(new RegExp(`${re(`${HD}/pre-layer-remove/10-slow`)} did not finish within 5 s`));
      const ms = Number(fileA('timeout.ms').trim());
      expect(ms).toBeGreaterThanOrEqual(5000);
      expect(ms).toBeLessThan(60_000);
      // pgrep: exit 1 = no process matched.
      expect(A.rc('pgrep'), said('pgrep')).toBe(1);
      expect(A.out('pgrep')).toBe('');
      expect(fileA('timeout-after.lvs.json')).toBe(fileA('timeout-before.lvs.json'));
      expect(fileA('timeout-after.boot.txt')).toBe(fileA('timeout-before.boot.txt'));
      console.log(`hooks: the timed-out command took ${ms} ms`);
    });

    it('a world-writable hook and a group-writable hook directory are refused before any change; hooks not owned by root are listed as refused', () => {
      expect(lines(fileA('refuse-modes.txt'))).toEqual([
        `777 0 ${HD}/post-layer-add/10-ww`, `775 0 ${UD}/pre-layer-remove`, `755 1000 ${HD}/pre-base-add/10-uid`, `755 1000 ${HD}/post-base-add`,
      ]);
      const j = A.json<{ events: Array<{ event: string; hooks: Array<{ path: string; status: string; why: string | null }> }> }>('refuse-list');
      const status = (e: string): string[] => j.events.find((x) => x.event === e)!.hooks.map((h) => `${h.status} ${h.path} (${h.why})`);
      expect(status('post-layer-add')).toEqual([`refused ${HD}/post-layer-add/10-ww (it is writable by group or others (mode 777))`]);
      expect(status('pre-layer-remove')).toEqual([`refused ${UD}/pre-layer-remove/10-ok (its directory is writable by group or others (mode 775))`]);
      expect(status('pre-base-add')).toEqual([`refused ${HD}/pre-base-add/10-uid (it is owned by uid 1000, not root)`]);
      expect(status('post-base-add')).toEqual([`refused ${HD}/post-base-add/10-ok (its directory is owned by uid 1000, not root)`]);
      for (const [n, hook, why] of [
        ['refuse-ww', `${HD}/post-layer-add/10-ww`, /writable by group or others \(mode 777\)/],
        ['refuse-gw', `${UD}/pre-layer-remove/10-ok`, /directory is writable by group or others \(mode 775\)/],
      ] as const) {
        expect(A.rc(n), said(n)).toBe(1);
        // One line, nothing of the hook's own (it never ran).
        expect(lines(A.err(n)), said(n)).toHaveLength(1);
        expect(A.err(n)).toContain(hook);
        expect(A.err(n)).toMatch(/refused/);
        expect(A.err(n)).toMatch(why);
      }
      expect(fileA('ww-after.lvs.json')).toBe(fileA('ww-before.lvs.json'));
      expect(fileA('ww-after.boot.txt')).toBe(fileA('ww-before.boot.txt'));
      expect(fileA('gw-after.lvs.json')).toBe(fileA('gw-before.lvs.json'));
      expect(fileA('gw-after.boot.txt')).toBe(fileA('gw-before.boot.txt'));
      expect(fileA('gw-before.lvs.json')).toContain(`"${L3}"`);
    });

    it('the boot-events unit is enabled; the stamped layer is the next boot', () => {
      expectMarker(a, 'enabled', 'enabled');
      expect(A.rc('next'), said('next')).toBe(0);
      expectMarker(a, 'latest', L4);
    });
  });

  it('B: through GRUB, the one-shot boots the layer the post-layer-add hook stamped; boot-good fires once', async () => {
    b = await boot({ name: 'hooks-b', disk, script: SCRIPT_B, timeoutS: 900 });
    durations.push(`B ${b.durationS.toFixed(0)} s (GRUB)`);
    expectDone(b);
    const booted = /Booting `([^\n]*)'/.exec(stripEscapes(b.log))?.[1];
    expect(booted, 'what GRUB booted').toMatch(new RegExp(`\\(${re(L2)}\\)$`));
    expectMarker(b, 'boot-root', dm(L2));
    const B = recorded(() => b);
    expect(B.rc('stamp'), B.err('stamp')).toBe(0);
    expect(B.out('stamp').trim()).toBe(L2);
    expect(B.json<{ booted: string }>('status').booted).toBe(L2);
    expect(B.rc('ev')).toBe(0);
    expectMarker(b, 'unit-b', 'active success');
    const recs = records(outFile(b, 'B-boot.log'));
    expect(recs.map((r) => r.path)).toEqual([`${HD}/boot-good/10-rec`]);
    expect(recs[0]!.env).toMatchObject({
      IMGBASED_EVENT: 'boot-good', IMGBASED_VG: VG, IMGBASED_BASE: B1, IMGBASED_LAYER: L2, IMGBASED_PREV_LAYER: '', IMGBASED_NEW_ROOT: '',
      IMGBASED_DRY_RUN: '0', PWD: '/', STDIN: '/dev/null',
    });
  }, 20 * 60_000);

  it('C: a fallback boot; the unit fires boot-bad, fallback and boot-good once each; a second call fires nothing', async () => {
    const lab = inject('lab');
    c = await boot({
      name: 'hooks-c', disk, kernel: lab.projectKernel, initrd: lab.projectInitrd, append: `imgbased.layer=${MISSING} rw`,
      script: SCRIPT_C, timeoutS: 900,
    });
    durations.push(`C ${c.durationS.toFixed(0)} s`);
    expectDone(c);
    const status = JSON.parse(outFile(c, 'status.json')) as { requested: string; booted: string; fallbacks: Array<{ layer: string }> };
    expect(status).toMatchObject({ requested: MISSING, booted: L4, fallbacks: [{ layer: MISSING }] });
    expectMarker(c, 'boot-root', dm(L4));
    expectMarker(c, 'enabled', 'enabled');
    // The unit ran (after multi-user.target) and succeeded; it fired the three events, in this order, once each.
    expectMarker(c, 'unit-c', 'active success');
    const unitLog = outFile(c, 'C-boot-unit.log');
    const recs = records(unitLog);
    expect(recs.map((r) => r.path)).toEqual([`${HD}/boot-bad/10-rec`, `${HD}/fallback/10-rec`, `${HD}/boot-good/10-rec`]);
    const common = { IMGBASED_VG: VG, IMGBASED_NEW_ROOT: '', IMGBASED_DRY_RUN: '0', PWD: '/', STDIN: '/dev/null' };
    for (const r of recs) expect(imgbasedKeys(r), r.path).toEqual(CONTRACT_KEYS);
    expect(recs[0]!.env).toMatchObject({ ...common, IMGBASED_EVENT: 'boot-bad', IMGBASED_BASE: '', IMGBASED_LAYER: MISSING, IMGBASED_PREV_LAYER: '' });
    expect(recs[1]!.env).toMatchObject({ ...common, IMGBASED_EVENT: 'fallback', IMGBASED_BASE: '', IMGBASED_LAYER: L4, IMGBASED_PREV_LAYER: MISSING });
    // Run by the unit, stderr is the journal already: each hook line is in the journal once, not twice.
    expect(outFile(c, 'unit-journal.txt').split('\n').filter((l) => l.includes('10-rec: recorded fallback'))).toHaveLength(1);
    expect(recs[2]!.env).toMatchObject({ ...common, IMGBASED_EVENT: 'boot-good', IMGBASED_BASE: B1, IMGBASED_LAYER: L4, IMGBASED_PREV_LAYER: '' });
    expect(outFile(c, 'unit-journal.txt')).toMatch(/boot events: boot-bad, fallback, boot-good/);
    expect(outFile(c, 'journal-hooks.txt')).toContain('10-rec: recorded fallback');
    // Once per boot: the second call says so and runs nothing.
    const C = recorded(() => c);
    expect(C.rc('ev2'), C.err('ev2')).toBe(0);
    expect(C.err('ev2')).toMatch(/already fired/);
    expect(outFile(c, 'C-boot-after.log')).toBe(unitLog);
  }, 20 * 60_000);
});
