// Acceptance (issue 2), two lab patterns on one overlay of the plain host disk:
// - verbs that must run on real LVM: a guest script changes thin LVs and hands `lvs --reportformat json` back
//   through $LAB_OUT; the test asserts on the JSON;
// - a direct kernel + initramfs boot with root= + rd.lvm.lv= into a thin snapshot that has the activation-skip flag
//   (made in the first boot).
import { describe, expect, inject, test } from 'vitest';
import { boot, expectDone, expectMarker, outFile, overlay, type BootResult } from './lab/index.js';

interface LvsReport {
  report: Array<{ lv: Array<Record<string, string>> }>;
}
const lvNames = (json: string) => (JSON.parse(json) as LvsReport).report[0]!.lv.map((l) => l.lv_name!).sort();

describe.sequential('the lab on real LVM thin', () => {
  const lab = inject('lab');
  let disk = '';
  let first: BootResult;

  test('guest script creates and removes thin LVs; lvs JSON comes back', async () => {
    disk = await overlay(lab.hostDisk, 'lab-lvm');
    const lvs = 'lvs --reportformat json --units b --nosuffix -o lv_name,vg_name,pool_lv,origin,lv_attr,lv_size,lv_tags HostVG';
    first = await boot({
      name: 'lab-lvm',
      disk,
      kernel: lab.kernel,
      initrd: lab.initrd,
      append: lab.hostAppend,
      timeoutS: 600,
      script: [
        'set -eux',
        'lvcreate -y -V 1G -T HostVG/pool -n t1 --addtag lab:test',
        'lvcreate -y -V 2G -T HostVG/pool -n t2',
        'lvcreate -y -s -n t1s HostVG/t1',
        `${lvs} >"$LAB_OUT/created.json"`,
        'lvremove -y HostVG/t1s HostVG/t2',
        `${lvs} >"$LAB_OUT/removed.json"`,
        'mark wbt "$(cat /sys/block/vda/queue/wbt_lat_usec)"',
        'mark zeroes-discard "$(cat /sys/block/vda/queue/write_zeroes_max_bytes) $(cat /sys/block/vda/queue/discard_max_bytes)"',
        'mark pool-zero "$(lvs --noheadings -o zero HostVG/pool | xargs)"',
        'mark lvm ok',
        'echo snapshot-was-here >/etc/lab-snapshot-proof', // written before the snapshot: must be there in it
        'sync',
        'lvcreate -y -s -n snap HostVG/root',
        'rm /etc/lab-snapshot-proof', // removed from the origin afterwards: proves which LV is booted next
        'mark snap-attr "$(lvs --noheadings -o lv_attr,pool_lv,origin HostVG/snap | xargs)"',
        'mark snap-skip "$(lvs --noheadings -o lv_skip_activation HostVG/snap | xargs)"',
      ].join('\n'),
    });
    expectDone(first);
    expect(lvNames(outFile(first, 'created.json'))).toEqual(['pool', 'root', 't1', 't1s', 't2']);
    expect(lvNames(outFile(first, 'removed.json'))).toEqual(['pool', 'root', 't1']);
    const t1 = (JSON.parse(outFile(first, 'created.json')) as LvsReport).report[0]!.lv.find((l) => l.lv_name === 't1')!;
    expect(t1).toMatchObject({ vg_name: 'HostVG', pool_lv: 'pool', lv_size: '1073741824', lv_tags: 'lab:test' });
    const t1s = (JSON.parse(outFile(first, 'created.json')) as LvsReport).report[0]!.lv.find((l) => l.lv_name === 't1s')!;
    expect(t1s.origin).toBe('t1');
    // The lab's udev rule: no writeback throttling on the virtio disks (it hung writes into thin LVs twice).
    expect(first.markers.wbt).toEqual(['0']);
    // The lab's disks offer no WRITE ZEROES and no DISCARD (qemu.ts says why), so the thin pool, which zeroes new
    // chunks, writes zero pages.
    expect(first.markers['zeroes-discard']).toEqual(['0 0']);
    expect(first.markers['pool-zero']).toEqual(['zero']);
  });

  test('direct boot into a thin snapshot with activation skip', async () => {
    expect(first, 'the first boot did not run').toBeDefined();
    expectMarker(first, 'snap-attr', /^V.{8}k pool root$/);
    expectMarker(first, 'snap-skip', 'skip activation');
    const second = await boot({
      name: 'lab-snapshot',
      disk,
      kernel: lab.kernel,
      initrd: lab.initrd,
      append: 'root=/dev/HostVG/snap rd.lvm.lv=HostVG/snap rw',
      timeoutS: 600,
      script: [
        'src=$(findmnt -no SOURCE /)',
        'mark root "$src"',
        'mark root-lv "$(lvs --noheadings -o vg_name,lv_name,origin "$src" | xargs)"',
        'mark proof "$(cat /etc/lab-snapshot-proof 2>/dev/null || echo missing)"',
      ].join('\n'),
    });
    expectDone(second);
    expectMarker(second, 'root', '/dev/mapper/HostVG-snap');
    expectMarker(second, 'root-lv', 'HostVG snap root');
    expectMarker(second, 'proof', 'snapshot-was-here');
    expect(second.markers['boot-root']).toEqual(['/dev/mapper/HostVG-snap']);
  });
});
