// Issue 3 on real LVM thin: every userland verb, bad input, rollback of a failed write, concurrent writers.
// One guest boot runs the whole script (boots are the expensive part under TCG); assertions read its outputs.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outFile, type BootResult } from './lab';
import { RECORD_SH, recorded, runScenario } from './script-run';

let result: BootResult;
const { rc, out, err, json } = recorded(() => result);

/** Small test images made on the host: an ext4 with ~24 MiB of data, the same inside a squashfs, an empty xfs. */
function makeImages(dir: string): void {
  const tree = path.join(dir, 'tree');
  mkdirSync(path.join(tree, 'etc'), { recursive: true });
  writeFileSync(path.join(tree, 'etc', 'os-release'), 'NAME="Test"\nPRETTY_NAME="Test image"\n');
  execFileSync('dd', ['if=/dev/urandom', `of=${path.join(tree, 'data.bin')}`, 'bs=1M', 'count=24', 'status=none']);
  execFileSync('mkfs.ext4', ['-q', '-F', '-d', tree, path.join(dir, 'small.ext4'), '256M']);
  const sq = path.join(dir, 'sq');
  mkdirSync(path.join(sq, 'LiveOS'), { recursive: true });
  execFileSync('cp', ['--sparse=always', path.join(dir, 'small.ext4'), path.join(sq, 'LiveOS', 'rootfs.img')]);
  execFileSync('mksquashfs', [sq, path.join(dir, 'small.squashfs'), '-quiet', '-noappend', '-comp', 'gzip']);
  execFileSync('truncate', ['-s', '320M', path.join(dir, 'empty.xfs')]);
  execFileSync('mkfs.xfs', ['-q', '-f', path.join(dir, 'empty.xfs')]);
}

const SCRIPT = String.raw`
set -u
${RECORD_SH}lvsnap() { lvs --reportformat json -a -o lv_name,lv_attr,lv_tags,origin,vg_tags 2>/dev/null; }
IMG=$LAB_SHARE
# The GRUB menu is the boot-entry tests' subject; here layout --init's one grub-mkconfig (it puts 42_imgbased's stub
# in grub.cfg) would only cost ~100 s under TCG.
mv /etc/grub.d/42_imgbased /root/42_imgbased.off 2>/dev/null || true

t help imgbase --help
t version imgbase --version
t layout-help imgbase layout --help
t check-before imgbase check

# Bad input: one line, exit != 0, nothing changed.
lvsnap >"$O/lvs-before-bad.json"
t bad-init-name imgbase layout --init 'bad name' --from /
t bad-init-nonvr imgbase layout --init 'Image' --from /
t bad-init-nofrom imgbase layout --init Image-1.0-0
t bad-init-notthin imgbase layout --init Image-1.0-0 --from /boot
t bad-verb imgbase frobnicate
t bad-opt imgbase layer --bogus
t bad-init-data imgbase layout --init Image-1.0-0 --from / --data /var
t dry-init imgbase layout --init Image-1.0-0 --from / --dry-run
lvsnap >"$O/lvs-after-bad.json"

# /srv/initdata becomes a data volume: its contents copied in, its fstab line in the base (so in every layer).
mkdir -p /srv/initdata && echo 'kept by init' >/srv/initdata/f
# Files imgbase diff finds changed in a layer later: in the base, so in every layer.
mkdir -p /srv/difftest && for f in modify remove chmod touched; do echo "$f one" >"/srv/difftest/$f"; done
t init imgbase layout --init Image-1.0-0 --from / --no-data --data /srv/initdata
lvs --noheadings -o lv_name,lv_tags HostVG/data-srv-initdata | xargs >"$O/initdata-lv" 2>&1
mkdir -p /mnt/x
for l in Image-1.0-0 Image-1.0-0+1; do
  lvchange -ay -K "HostVG/$l" && mount -o ro "/dev/HostVG/$l" /mnt/x && echo "$l $(grep initdata /mnt/x/etc/fstab)"; umount /mnt/x; lvchange -an "HostVG/$l"
done >"$O/initdata-fstab" 2>&1
mount -o ro /dev/HostVG/data-srv-initdata /mnt/x && cat /mnt/x/f >"$O/initdata-f" 2>&1; umount /mnt/x
t init-again imgbase layout --init Image-1.0-0 --from /
t layout imgbase layout
t layout-json imgbase layout --json
t bases imgbase layout --bases
t layers imgbase layout --layers --json
t free imgbase layout --free-space
t free-json imgbase layout --free-space --units m --json

t layer-add-default imgbase layer --add
t layer-add-base imgbase layer --add Image-1.0-0
t layer-add-layer imgbase layer --add Image-1.0-0+1
t layer-add-missing imgbase layer --add Image-9.9-9
t layer-add-bad imgbase layer --add '../../x'
t layer-add-dry imgbase layer --add --dry-run
for l in Image-1.0-0+1 Image-1.0-0+2 Image-1.0-0+3; do
  lvchange -ay -K "HostVG/$l"; blkid -s UUID -o value "/dev/HostVG/$l"; lvchange -an "HostVG/$l"
done >"$O/uuids.out"

lvsnap >"$O/lvs-before-fault.json"
mkdir -p /run/imgbased && echo copy-image >/run/imgbased/fault-injection
t fault-base imgbase base --add Image-9.0-0 --from "$IMG/small.ext4"
mkdir -p /run/imgbased && echo lv-untag >/run/imgbased/fault-injection
t fault-layer imgbase layer --add
lvsnap >"$O/lvs-after-fault.json"

t base-add-small-size imgbase base --add Image-2.0-0 --from "$IMG/small.ext4" --size 100M
t base-add imgbase base --add Image-2.0-0 --from "$IMG/small.ext4"
t base-add-dup imgbase base --add Image-2.0-0 --from "$IMG/small.ext4"
t base-add-sq imgbase base --add Image-3.0-0 --from "$IMG/small.squashfs" --size 512M
t base-add-xfs imgbase base --add Image-4.0-0 --from "$IMG/empty.xfs"
t base-add-missing imgbase base --add Image-5.0-0 --from /nonexistent.img
t base-add-mounted imgbase base --add Image-5.0-0 --from "$(findmnt -no SOURCE /boot)"
# An image on a block device (the XFS one, whose copy reads the device's size), removed again.
loopdev=$(losetup -f --show -r "$IMG/empty.xfs")
t base-add-blockdev imgbase base --add Image-6.0-0 --from "$loopdev"
lvs --noheadings -o lv_name,lv_attr,lv_size --units b --nosuffix HostVG/Image-6.0-0 | xargs >"$O/blockdev-lv" 2>&1
losetup -d "$loopdev"
t base-rm-blockdev imgbase base --remove Image-6.0-0
t layer-on-2 imgbase layer --add Image-2.0-0
lvchange -ay -K HostVG/Image-2.0-0+1 && mkdir -p /mnt/l && mount /dev/HostVG/Image-2.0-0+1 /mnt/l && cat /mnt/l/etc/os-release >"$O/l2-os-release.out"; umount /mnt/l; lvchange -an HostVG/Image-2.0-0+1
lvs --reportformat json --units b --nosuffix -o lv_name,lv_size,data_percent,lv_attr HostVG >"$O/sizes.json"
t base-latest imgbase base --latest
t base-of imgbase base --of-layer Image-1.0-0+2
t layer-latest imgbase layer --latest
t layer-path imgbase layer --volume-path Image-1.0-0+2
t w imgbase w
t w-json imgbase w --json

# imgbase diff: Image-1.0-0+2 changed by hand (mounted read-write, then inactive again), compared with its base.
# 'modify' keeps its size (its contents are read), 'touched' only gets a new mtime (no change), and what is written
# under the data volume's mount point in the layer's own filesystem is left out.
{
  lvchange -ay -K HostVG/Image-1.0-0+2 && mkdir -p /mnt/d && mount /dev/HostVG/Image-1.0-0+2 /mnt/d &&
    echo new >/mnt/d/srv/difftest/added &&
    echo 'modify two' >/mnt/d/srv/difftest/modify &&
    rm /mnt/d/srv/difftest/remove &&
    chmod 600 /mnt/d/srv/difftest/chmod &&
    touch /mnt/d/srv/difftest/touched &&
    echo 'under the data volume' >/mnt/d/srv/initdata/hidden
  umount /mnt/d && lvchange -an HostVG/Image-1.0-0+2
} >"$O/diff-setup" 2>&1
t diff imgbase diff Image-1.0-0+2 --json
lvs --noheadings -o lv_active HostVG/Image-1.0-0 HostVG/Image-1.0-0+2 | grep -c active >"$O/diff-active"
findmnt -rn -o TARGET | grep -c '^/run/imgbased/mnt' >"$O/diff-mounts"
t diff-base imgbase diff Image-1.0-0
t diff-missing imgbase diff Image-1.0-0+77 --against Image-1.0-0

# Concurrent writers: the second waits for the lock; both succeed with distinct names.
( imgbase layer --add Image-1.0-0 >"$O/conc1.out" 2>&1; echo $? >"$O/conc1.rc" ) &
( imgbase layer --add Image-1.0-0 >"$O/conc2.out" 2>&1; echo $? >"$O/conc2.rc" ) &
wait
# A held lock with --lock-timeout 1 fails clearly (exit 4).
mkdir -p /run/imgbased/lock && echo $$ >/run/imgbased/lock/pid
t locked imgbase layer --add --lock-timeout 1
# check waits for a writer too (it would read its work half-done).
t locked-check imgbase check --lock-timeout 1
rm -rf /run/imgbased/lock

t remove-layer imgbase layer --remove Image-1.0-0+3
t remove-layer-missing imgbase layer --remove Image-1.0-0+77
t remove-base imgbase base --remove Image-3.0-0
t remove-base-dry imgbase base --remove Image-2.0-0 --dry-run
t layout-final imgbase layout --json

t check-healthy imgbase check --json
# Degraded: a half-created layer, then the pool filled above the threshold.
lvcreate -q -s -n Image-1.0-0+90 --addtag imgbased:layer --addtag imgbased:incomplete HostVG/Image-1.0-0 >/dev/null
t check-halfmade imgbase check --json
lvremove -q -f HostVG/Image-1.0-0+90 >/dev/null
read -r size pct < <(lvs --noheadings --units b --nosuffix -o lv_size,data_percent HostVG/pool)
fill=$(awk -v s="$size" -v p="$pct" 'BEGIN { n = int((0.83 - p / 100) * s / 4194304) + 1; print (n > 0 ? n : 1) }')
lvcreate -q -V "$((fill * 4 + 64))M" -T HostVG/pool -n fill >/dev/null
start=$(date +%s)
dd if=/dev/zero of=/dev/HostVG/fill bs=4M count="$fill" oflag=direct status=none
mark fill-seconds "$(( $(date +%s) - start ))"
t check-full imgbase check --json
t check-full-text imgbase check
lvsnap >"$O/lvs-final.json"
`;

describe('imgbase verbs on real LVM thin', () => {
  let disk = '';
  // The pool-filling step writes gigabytes into the overlay: don't keep it.
  afterAll(() => rmSync(disk, { force: true }));

  beforeAll(async () => {
    ({ result, disk } = await runScenario({
      name: 'imgbase-verbs',
      script: SCRIPT,
      files: (dir) => {
        makeImages(dir);
        return Object.fromEntries(['small.ext4', 'small.squashfs', 'empty.xfs'].map((f) => [f, path.join(dir, f)]));
      },
      timeoutS: 1800,
    }));
  });

  it('prints help and version', () => {
    expect(rc('help')).toBe(0);
    expect(out('help')).toMatch(/layout/);
    expect(out('version')).toMatch(/^imgbase \d/);
    expect(out('layout-help')).toMatch(/--init NVR --from SRC/);
  });

  it('check fails before the host is initialised', () => {
    expect(rc('check-before')).toBe(1);
  });

  it('rejects bad input with one line, a non-zero exit and no change', () => {
    for (const n of ['bad-init-name', 'bad-init-nonvr', 'bad-init-nofrom', 'bad-init-notthin', 'bad-verb', 'bad-opt', 'bad-init-data']) {
      expect(rc(n), n).toBe(2);
      expect(err(n).trim().split('\n'), n).toHaveLength(1);
    }
    expect(rc('dry-init')).toBe(0);
    expect(out('dry-init')).toMatch(/^  \d+\. create thin snapshot HostVG\/Image-1.0-0 of root/m);
    // Without --no-data: /home, /var/log and /var/crash become data volumes, filled from what is there (where any is).
    for (const lv of ['data-home', 'data-var-log', 'data-var-crash']) expect(out('dry-init')).toMatch(new RegExp(`^  \\d+\\. create thin LV HostVG/${lv} `, 'm'));
    expect(out('dry-init')).toMatch(/^  \d+\. copy what is in \/var\/log into HostVG\/data-var-log$/m);
    expect(outFile(result, 'lvs-after-bad.json')).toBe(outFile(result, 'lvs-before-bad.json'));
  });

  it('layout --init makes a read-only base and its first layer, once', () => {
    expect(rc('init'), err('init')).toBe(0);
    expect(rc('init-again')).toBe(2);
    expect(err('init-again')).toMatch(/already an imgbased layout/);
    expect(out('layout')).toContain('Image-1.0-0\n');
    expect(json('layout-json')).toMatchObject({ vg: 'HostVG', pool: 'pool' });
    expect(out('bases').trim()).toBe('Image-1.0-0');
    expect(json('layers')).toEqual(['Image-1.0-0+1']);
    expect(out('free')).toMatch(/GiB|MiB/);
    expect(json<{ freeBytes: number }>('free-json').freeBytes).toBeGreaterThan(0);
  });

  it('layout --init --data: a data volume holding what was at the path, mounted by the base\'s fstab (so every layer\'s)', () => {
    expect(err('bad-init-data')).toMatch(/^imgbase: layout --init --data: \/var holds the image's package database/);
    expect(outFile(result, 'initdata-lv').trim()).toBe('data-srv-initdata imgbased:data');
    const line = '/dev/HostVG/data-srv-initdata /srv/initdata ext4 defaults 0 2';
    expect(outFile(result, 'initdata-fstab').trim().split('\n')).toEqual([`Image-1.0-0 ${line}`, `Image-1.0-0+1 ${line}`]);
    expect(outFile(result, 'initdata-f').trim()).toBe('kept by init');
  });

  it('adds layers on the latest layer, on a base and on a layer, each with its own filesystem UUID', () => {
    expect(out('layer-add-default').trim()).toBe('Image-1.0-0+2');
    expect(out('layer-add-base').trim()).toBe('Image-1.0-0+3');
    expect(out('layer-add-layer').trim()).toBe('Image-1.0-0+4');
    expect(rc('layer-add-missing')).toBe(3);
    expect(rc('layer-add-bad')).toBe(2);
    expect(out('layer-add-dry')).toMatch(/^  \d+\. create thin snapshot/m);
    const uuids = outFile(result, 'uuids.out').trim().split('\n');
    expect(uuids).toHaveLength(3);
    expect(new Set(uuids).size).toBe(3);
  });

  it('a failure injected mid-write leaves no LV behind', () => {
    expect(rc('fault-base')).toBe(1);
    expect(err('fault-base')).toMatch(/injected fault/);
    expect(rc('fault-layer')).toBe(1);
    expect(outFile(result, 'lvs-after-fault.json')).toBe(outFile(result, 'lvs-before-fault.json'));
  });

  it('adds bases from ext4, squashfs and xfs images sparsely', () => {
    expect(rc('base-add-small-size')).toBe(2);
    expect(err('base-add-small-size')).toMatch(/smaller than the image/);
    expect(rc('base-add'), err('base-add')).toBe(0);
    expect(rc('base-add-dup')).toBe(2);
    expect(rc('base-add-sq'), err('base-add-sq')).toBe(0);
    expect(rc('base-add-xfs'), err('base-add-xfs')).toBe(0);
    expect(rc('base-add-missing')).toBe(3);
    expect(err('base-add-missing')).toBe('imgbase: image /nonexistent.img not found\n');
    expect(rc('base-add-mounted')).toBe(2);
    expect(err('base-add-mounted')).toMatch(/^imgbase: image \/dev\/\S+ is mounted on \/boot; unmount it first$/m);
    expect(rc('base-add-blockdev'), err('base-add-blockdev')).toBe(0);
    expect(outFile(result, 'blockdev-lv')).toMatch(/^Image-6\.0-0 .r\S* \d+$/m);
    expect(rc('base-rm-blockdev')).toBe(0);
    expect(rc('layer-on-2')).toBe(0);
    expect(outFile(result, 'l2-os-release.out')).toContain('Test image');
    type Row = { lv_name: string; lv_size: string; data_percent: string; lv_attr: string };
    const rows = (JSON.parse(outFile(result, 'sizes.json')) as { report: { lv: Row[] }[] }).report[0]!.lv;
    const b2 = rows.find((r) => r.lv_name === 'Image-2.0-0')!;
    expect(Number(b2.lv_size)).toBe(256 * 1024 * 1024);
    expect(b2.lv_attr[1]).toBe('r');
    // Only used blocks reach the pool: ~24 MiB of data plus ext4 metadata in a 256 MiB filesystem.
    const used = (Number(b2.data_percent) / 100) * Number(b2.lv_size);
    expect(used).toBeLessThan(64 * 1024 * 1024);
    const b3 = rows.find((r) => r.lv_name === 'Image-3.0-0')!;
    expect(Number(b3.lv_size)).toBe(512 * 1024 * 1024);
  });

  it('answers the read verbs', () => {
    expect(out('base-latest').trim()).toBe('Image-4.0-0');
    expect(out('base-of').trim()).toBe('Image-1.0-0');
    expect(out('layer-latest').trim()).toBe('Image-2.0-0+1');
    expect(out('layer-path').trim()).toBe('/dev/HostVG/Image-1.0-0+2');
    expect(rc('w')).toBe(1);
    expect(out('w')).toMatch(/not on an imgbased layer \(root is HostVG\/root\)/);
    expect(json('w-json')).toEqual({ layer: null, base: null, lv: 'HostVG/root' });
  });

  it('diff: exactly what was changed in a layer against its base; touched-only and data volume paths left out', () => {
    expect(outFile(result, 'diff-setup')).toBe('');
    expect(rc('diff'), err('diff')).toBe(0);
    // layer --add changed nothing in the tree: this guest's fstab has no / line and its /boot line is the host's.
    const file = (name: string, change: string, more: object = {}): object => ({ path: `/srv/difftest/${name}`, change, kind: 'file', ...more });
    expect(json('diff')).toEqual({
      layer: 'Image-1.0-0+2', against: 'Image-1.0-0', excluded: ['/srv/initdata'],
      changes: [file('added', 'added'), file('chmod', 'modified', { mode: { from: '0644', to: '0600' } }), file('modify', 'modified', { content: true }), file('remove', 'removed')],
    });
    // The base and the layer were inactive: activated for the read, inactive again, nothing left mounted.
    expect(outFile(result, 'diff-active').trim()).toBe('0');
    expect(outFile(result, 'diff-mounts').trim()).toBe('0');
    expect(rc('diff-base')).toBe(2);
    expect(err('diff-base')).toMatch(/^imgbase: diff: Image-1\.0-0 is a base/);
    expect(rc('diff-missing')).toBe(3);
  });

  it('serialises concurrent writers', () => {
    expect(outFile(result, 'conc1.rc').trim()).toBe('0');
    expect(outFile(result, 'conc2.rc').trim()).toBe('0');
    const names = [outFile(result, 'conc1.out'), outFile(result, 'conc2.out')].map((s) => s.trim().split('\n').pop());
    expect(new Set(names)).toEqual(new Set(['Image-1.0-0+5', 'Image-1.0-0+6']));
    expect(rc('locked')).toBe(4);
    expect(err('locked')).toMatch(/another imgbase command/);
    expect(rc('locked-check')).toBe(4);
    expect(err('locked-check')).toMatch(/another imgbase command/);
  });

  it('removes layers and bases', () => {
    expect(rc('remove-layer')).toBe(0);
    expect(rc('remove-layer-missing')).toBe(3);
    expect(rc('remove-base')).toBe(0);
    expect(out('remove-base-dry')).toMatch(/^  \d+\. remove HostVG\/Image-2.0-0\+1$/m);
    const final = json<{ bases: { name: string; layers: string[] }[] }>('layout-final');
    expect(final.bases.map((b) => b.name)).toEqual(['Image-1.0-0', 'Image-2.0-0', 'Image-4.0-0']);
    expect(final.bases[0]!.layers).toEqual(['Image-1.0-0+1', 'Image-1.0-0+2', 'Image-1.0-0+4', 'Image-1.0-0+5', 'Image-1.0-0+6']);
  });

  it('check: healthy, then degraded by a half-created layer and by a full pool', () => {
    expect(rc('check-healthy'), out('check-healthy')).toBe(0);
    expect(json<{ healthy: boolean }>('check-healthy').healthy).toBe(true);
    expect(rc('check-halfmade')).toBe(1);
    expect(out('check-halfmade')).toMatch(/half-created/);
    expect(rc('check-full')).toBe(1);
    expect(out('check-full-text')).toMatch(/FAIL thin pool data .* used \(threshold 80 %\)/);
  });
});
