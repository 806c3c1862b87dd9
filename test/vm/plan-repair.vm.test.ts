// Issue 10, "Why" list, on real LVM thin: one test per item a new user hit. The empty-base sequence of the original
// imgbased; kill -9 mid-copy then a plain retry; /boot too full refused before any LV exists; a foreign file with our
// entry's name left alone; the global --lock-timeout and an empty pid file; a base --remove failing half-way finished
// by check --repair. One guest boot runs the whole script (boots are the expensive part under TCG); the host asserts.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outFile, type BootResult } from './lab';
import { RECORD_SH, recorded, runScenario } from './script-run';

let result: BootResult;
const { rc, out, err } = recorded(() => result);
const file = (name: string): string => outFile(result, name);
/** Non-empty lines. */
const lines = (s: string): string[] => s.split('\n').filter((l) => l.trim() !== '');
/** What a command said, for failure messages. */
const said = (name: string): string => `rc ${rc(name)}\nstdout: ${out(name)}\nstderr: ${err(name)}`;

/**
 * An ext4 image whose copy takes seconds under TCG (300 MiB of random data: e2image copies only used blocks, and
 * random data defeats any compression on the way), so the guest can kill the copy in the middle.
 */
function makeBigImage(dir: string): string {
  const tree = path.join(dir, 'tree');
  mkdirSync(path.join(tree, 'etc'), { recursive: true });
  writeFileSync(path.join(tree, 'etc', 'os-release'), 'NAME="Test"\nPRETTY_NAME="Test image 5"\n');
  execFileSync('dd', ['if=/dev/urandom', `of=${path.join(tree, 'data.bin')}`, 'bs=1M', 'count=300', 'status=none']);
  const img = path.join(dir, 'big.ext4');
  execFileSync('mkfs.ext4', ['-q', '-F', '-d', tree, img, '600M']);
  return img;
}

const SCRIPT = String.raw`
set -u
${RECORD_SH}stage() { mark stage "$1 $(cut -d' ' -f1 /proc/uptime)"; }
lvsnap() { lvs --reportformat json -o lv_name,lv_attr,lv_tags,origin HostVG 2>/dev/null; }
lvnames() { lvs --noheadings -o lv_name HostVG | tr -d ' ' | sort; }
# /boot as a listing of paths and sizes, without the file that fills it.
bootls() { find /boot -xdev -path /boot/fill -prune -o -printf '%p %s\n' | sort; }
mountpoint -q /boot || mount /boot
# The GRUB menu is the boot-entry tests' subject; here layout --init's one grub-mkconfig would only cost ~100 s.
mv /etc/grub.d/42_imgbased /root/42_imgbased.off 2>/dev/null || true
kver=$(uname -r)

stage init
t init imgbase layout --init Image-1.0-0 --from / --no-data

# 1. The original imgbased's sanity sequence with an empty base (no filesystem in it).
stage empty-base
t eb-add imgbase base --add Image-42-0 --size 4096M
t eb-layer1 imgbase layer --add Image-42-0
t eb-layer2 imgbase layer --add Image-42-0
ls -A /boot/loader/entries >"$O/eb-entries.txt"
lvnames >"$O/eb-lvs-mid.txt"
t eb-latest imgbase layer --latest
t eb-remove imgbase base --remove Image-42-0
lvnames >"$O/eb-lvs-after.txt"

# 2. kill -9 in the middle of the copy, then the same command again. The whole process group is killed so that
# e2image does not go on writing into the LV as an orphan.
stage kill
IMG=$LAB_SHARE/big.ext4
setsid imgbase base --add Image-5.0-0 --from "$IMG" >"$O/kill-first.out" 2>"$O/kill-first.err" &
pid=$!
tagged=0 copying=0
for i in $(seq 1 300); do
  if [ $tagged = 0 ] && lvs --noheadings -o lv_tags HostVG/Image-5.0-0 2>/dev/null | grep -q imgbased:incomplete; then tagged=1; fi
  if [ $tagged = 1 ] && pgrep -x e2image >/dev/null; then copying=1; break; fi
  kill -0 $pid 2>/dev/null || break
  sleep 0.2
done
sleep 1
alive=0; kill -0 $pid 2>/dev/null && alive=1
ps -o pid=,args= -s $pid >"$O/kill-procs.txt" 2>&1
kill -9 -- -$pid 2>/dev/null
wait $pid; echo $? >"$O/kill-first.rc"
echo "tagged=$tagged copying=$copying alive=$alive" >"$O/kill-state.txt"
lvs --noheadings -o lv_name,lv_attr,lv_tags,data_percent HostVG/Image-5.0-0 >"$O/kill-lv-killed.txt" 2>&1
t kill-check imgbase check
start=$(date +%s)
t kill-retry imgbase base --add Image-5.0-0 --from "$IMG"
echo $(( $(date +%s) - start )) >"$O/kill-retry.secs"
lvs --noheadings -o lv_name,lv_attr,lv_tags HostVG/Image-5.0-0 >"$O/kill-lv-final.txt" 2>&1
lvs --noheadings -o lv_name HostVG | grep -c 'Image-5\.0-0' >"$O/kill-lv-count.txt"

# 3. /boot too full for a base's kernel copy: refused before any LV exists. Image-6.0-0 holds a kernel + initrd
# in its /boot (the running ones) and has no copy on /boot yet.
stage boot-full
mkdir -p /var/tmp/k6/boot /var/tmp/k6/etc
cp /boot/vmlinuz-"$kver" /boot/initrd.img-"$kver" /var/tmp/k6/boot/
cp /etc/fstab /var/tmp/k6/etc/
printf 'NAME="Test"\nPRETTY_NAME="Test image 6"\n' >/var/tmp/k6/etc/os-release
mkfs.ext4 -q -F -d /var/tmp/k6 /var/tmp/k6.ext4 256M
t full-base imgbase base --add Image-6.0-0 --from /var/tmp/k6.ext4
rm -rf /var/tmp/k6 /var/tmp/k6.ext4
need=$(( $(stat -c %s /boot/vmlinuz-"$kver") + $(stat -c %s /boot/initrd.img-"$kver") ))
avail=$(df --output=avail -B1 /boot | tail -1 | tr -d ' ')
# Room for the 16 MiB reserve and half the kernel copy: it is the copy that does not fit, not only the reserve.
leave=$(( 16 * 1048576 + need / 2 ))
fallocate -l $(( avail - leave )) /boot/fill
echo "need=$need avail-before=$avail avail-now=$(df --output=avail -B1 /boot | tail -1 | tr -d ' ')" >"$O/full-space.txt"
lvsnap >"$O/full-lvs-before.json"; bootls >"$O/full-boot-before.txt"
t full-layer imgbase layer --add Image-6.0-0
lvsnap >"$O/full-lvs-after.json"; bootls >"$O/full-boot-after.txt"
rm -f /boot/fill

# 4. A file with our entry's name but not our marker: never overwritten or removed, warned about, reported.
stage foreign
F=/boot/loader/entries/imgbased-Image-1.0-0_2.conf
printf '# written by hand\ntitle Hand-written\nlinux /vmlinuz-%s\noptions root=/dev/HostVG/root ro\n' "$kver" >"$F"
sha256sum "$F" >"$O/foreign-sha-before.txt"
t foreign-sync1 imgbase boot --sync
t foreign-add imgbase layer --add Image-1.0-0
t foreign-sync2 imgbase boot --sync
sha256sum "$F" >"$O/foreign-sha-after.txt"
t foreign-check imgbase check
rm -f "$F"
t foreign-resync imgbase boot --sync
grep -c 'imgbased: layer=Image-1.0-0+2' "$F" >"$O/foreign-ours.txt" 2>&1

# 5. The global --lock-timeout, a live holder, an empty pid file left 10 s ago.
stage lock
t lock-global imgbase --lock-timeout 5 layer --latest
t lock-global-eq imgbase --lock-timeout=5 layer --latest
t lock-global-bad imgbase --lock-timeout soon layer --latest
mkdir -p /run/imgbased/lock
sleep 60 & holder=$!
echo $holder >/run/imgbased/lock/pid
s=$(date +%s%N)
t lock-live imgbase --lock-timeout 2 layer --add Image-1.0-0
echo $(( ($(date +%s%N) - s) / 1000000 )) >"$O/lock-live.ms"
cat /run/imgbased/lock/pid >"$O/lock-live-pid.txt" 2>&1; echo $holder >"$O/lock-holder.txt"
kill $holder; wait $holder 2>/dev/null
rm -rf /run/imgbased/lock
mkdir -p /run/imgbased/lock; : >/run/imgbased/lock/pid
touch -d '-10 sec' /run/imgbased/lock/pid /run/imgbased/lock
s=$(date +%s%N)
t lock-empty imgbase --lock-timeout 2 layer --add Image-1.0-0
echo $(( ($(date +%s%N) - s) / 1000000 )) >"$O/lock-empty.ms"
if [ -e /run/imgbased/lock ]; then echo present; else echo absent; fi >"$O/lock-after.txt"

# 6. base --remove failing half-way (at its second LV removal), finished by check --repair.
stage remove-fault
t rm-l1 imgbase layer --add Image-6.0-0
t rm-l2 imgbase layer --add Image-6.0-0
t rm-check0 imgbase check
ls -A /boot/imgbased >"$O/rm-kernel-dirs-before.txt"
lvnames >"$O/rm-lvs-before.txt"
t rm-plan imgbase base --remove Image-6.0-0 --dry-run --json
N=$(tr -d ' \n\t' <"$O/rm-plan.out" | grep -o '"n":[0-9]*,"kind":"remove-lv"' | sed -n 2p | grep -o '[0-9][0-9]*')
echo "$N" >"$O/rm-n.txt"
[ -n "$N" ] && mkdir -p /run/imgbased && echo "fail@$N" >/run/imgbased/fault-injection && t rm-fault imgbase base --remove Image-6.0-0
lvnames >"$O/rm-lvs-after-fault.txt"
t rm-check1 imgbase check
t rm-repair imgbase check --repair
t rm-check2 imgbase check
lvnames >"$O/rm-lvs-final.txt"
t rm-list imgbase boot --list
ls -A /boot/imgbased >"$O/rm-kernel-dirs.txt"
ls -A /boot/loader/entries >"$O/rm-entries.txt"
stage end
`;

describe('issue 10: the write path as a new user met it', () => {
  let disk = '';
  afterAll(() => rmSync(disk, { force: true }));

  beforeAll(async () => {
    ({ result, disk } = await runScenario({ name: 'plan-repair', script: SCRIPT, files: (dir) => ({ 'big.ext4': makeBigImage(dir) }), timeoutS: 1500 }));
  });

  it('layout --init works (everything below builds on it)', () => {
    expect(rc('init'), said('init')).toBe(0);
  });

  it('the empty-base sequence: base --size, two plain-snapshot layers without entries, --latest, base --remove', () => {
    expect(rc('eb-add'), said('eb-add')).toBe(0);
    for (const [n, layer] of [['eb-layer1', 'Image-42-0+1'], ['eb-layer2', 'Image-42-0+2']] as const) {
      expect(rc(n), said(n)).toBe(0);
      expect(lines(out(n)).pop(), said(n)).toBe(layer);
      expect(lines(err(n)).length, said(n)).toBeLessThanOrEqual(1);
    }
    expect(lines(file('eb-lvs-mid.txt'))).toEqual(expect.arrayContaining(['Image-42-0', 'Image-42-0+1', 'Image-42-0+2']));
    expect(file('eb-entries.txt')).not.toMatch(/Image-42-0/);
    expect(rc('eb-latest'), said('eb-latest')).toBe(0);
    expect(lines(out('eb-latest'))).toHaveLength(1);
    expect(rc('eb-remove'), said('eb-remove')).toBe(0);
    expect(file('eb-lvs-after.txt')).not.toMatch(/Image-42-0/);
  });

  it('kill -9 mid-copy: check names the LV, the same command again succeeds', () => {
    // The kill hit a running copy (else this proves nothing).
    expect(file('kill-state.txt').trim(), file('kill-procs.txt')).toBe('tagged=1 copying=1 alive=1');
    expect(file('kill-lv-killed.txt')).toMatch(/imgbased:incomplete/);
    expect(rc('kill-check'), said('kill-check')).toBe(1);
    expect(out('kill-check') + err('kill-check')).toMatch(/Image-5\.0-0/);
    expect(rc('kill-retry'), said('kill-retry')).toBe(0);
    const final = file('kill-lv-final.txt').trim().split(/\s+/);
    expect(final[0]).toBe('Image-5.0-0');
    expect(final[1]![1], 'read-only').toBe('r');
    expect(file('kill-lv-final.txt')).not.toMatch(/incomplete/);
    expect(file('kill-lv-count.txt').trim()).toBe('1');
  });

  it('/boot too full: refused before any LV exists, one line, LVM and /boot unchanged', () => {
    expect(rc('full-base'), said('full-base')).toBe(0);
    expect(rc('full-layer'), `${said('full-layer')}\n${file('full-space.txt')}`).not.toBe(0);
    expect(lines(err('full-layer')), said('full-layer')).toHaveLength(1);
    expect(err('full-layer')).toMatch(/space|\/boot/);
    expect(file('full-lvs-after.json')).toBe(file('full-lvs-before.json'));
    expect(file('full-boot-after.txt')).toBe(file('full-boot-before.txt'));
  });

  it('a foreign file with our entry name is left alone, warned about and reported', () => {
    expect(rc('foreign-sync1'), said('foreign-sync1')).toBe(0);
    expect(rc('foreign-add'), said('foreign-add')).toBe(0);
    expect(lines(out('foreign-add')).pop()).toBe('Image-1.0-0+2');
    expect(err('foreign-add'), said('foreign-add')).toMatch(/imgbased-Image-1\.0-0_2\.conf|Image-1\.0-0\+2/);
    expect(rc('foreign-sync2'), said('foreign-sync2')).toBe(0);
    expect(file('foreign-sha-after.txt')).toBe(file('foreign-sha-before.txt'));
    expect(out('foreign-check') + err('foreign-check'), said('foreign-check')).toMatch(/imgbased-Image-1\.0-0_2\.conf/);
    // Once the foreign file is gone, a sync writes ours.
    expect(rc('foreign-resync'), said('foreign-resync')).toBe(0);
    expect(file('foreign-ours.txt').trim()).toBe('1');
  });

  it('--lock-timeout before the verb; a live holder blocks with exit 4; an old empty pid file does not', () => {
    expect(rc('lock-global'), said('lock-global')).toBe(0);
    expect(rc('lock-global-eq'), said('lock-global-eq')).toBe(0);
    expect(lines(out('lock-global'))).toEqual(lines(out('lock-global-eq')));
    expect(rc('lock-global-bad'), said('lock-global-bad')).toBe(2);
    expect(lines(err('lock-global-bad'))).toHaveLength(1);
    expect(err('lock-global-bad')).toMatch(/--lock-timeout/);
    expect(rc('lock-live'), said('lock-live')).toBe(4);
    const ms = Number(file('lock-live.ms').trim());
    expect(ms).toBeGreaterThanOrEqual(2000);
    expect(ms).toBeLessThanOrEqual(10_000);
    expect(file('lock-live-pid.txt')).toBe(file('lock-holder.txt')); // not taken from a live holder
    expect(rc('lock-empty'), said('lock-empty')).toBe(0);
    expect(file('lock-after.txt').trim()).toBe('absent');
  });

  it('base --remove failing half-way is finished by check --repair: base, layers, entries and kernels gone', () => {
    expect(rc('rm-l1'), said('rm-l1')).toBe(0);
    expect(rc('rm-l2'), said('rm-l2')).toBe(0);
    expect(rc('rm-check0'), said('rm-check0')).toBe(0);
    expect(file('rm-kernel-dirs-before.txt')).toMatch(/Image-6\.0-0/);
    const ours = (s: string): string[] => lines(s).filter((l) => l.startsWith('Image-6.0-0'));
    expect(ours(file('rm-lvs-before.txt'))).toEqual(['Image-6.0-0', 'Image-6.0-0+1', 'Image-6.0-0+2']);
    // The guest's grep/sed pick agrees with the JSON.
    expect(rc('rm-plan'), said('rm-plan')).toBe(0);
    const steps = (JSON.parse(out('rm-plan')) as { steps: { n: number; kind: string }[] }).steps;
    const removals = steps.filter((s) => s.kind === 'remove-lv');
    expect(removals.length, out('rm-plan')).toBe(3);
    expect(file('rm-n.txt').trim()).toBe(String(removals[1]!.n));
    expect(rc('rm-fault'), said('rm-fault')).not.toBe(0);
    expect(err('rm-fault')).toMatch(/inject/);
    const left = ours(file('rm-lvs-after-fault.txt'));
    expect(left.length, left.join(' ')).toBeGreaterThan(0);
    expect(left.length, left.join(' ')).toBeLessThan(3);
    expect(rc('rm-check1'), said('rm-check1')).toBe(1);
    for (const lv of left) expect(out('rm-check1') + err('rm-check1')).toContain(lv);
    expect(rc('rm-repair'), said('rm-repair')).toBe(0);
    expect(rc('rm-check2'), said('rm-check2')).toBe(0);
    expect(ours(file('rm-lvs-final.txt'))).toEqual([]);
    expect(rc('rm-list'), said('rm-list')).toBe(0);
    expect(out('rm-list')).not.toMatch(/Image-6\.0-0/);
    expect(file('rm-kernel-dirs.txt')).not.toMatch(/Image-6\.0-0/);
    expect(file('rm-entries.txt')).not.toMatch(/Image-6\.0-0/);
  });
});
