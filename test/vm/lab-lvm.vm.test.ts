// Acceptance (issue 2): the pattern for verbs that must run on real LVM: a guest script changes thin LVs and hands
// `lvs --reportformat json` back through $LAB_OUT; the test asserts on the JSON.
import { expect, inject, test } from 'vitest';
import { boot, expectDone, outFile, overlay } from './lab/index.js';

interface LvsReport {
  report: Array<{ lv: Array<Record<string, string>> }>;
}
const lvNames = (json: string) => (JSON.parse(json) as LvsReport).report[0]!.lv.map((l) => l.lv_name!).sort();

test('guest script creates and removes thin LVs; lvs JSON comes back', async () => {
  const lab = inject('lab');
  const disk = await overlay(lab.hostDisk, 'lab-lvm');
  const lvs = 'lvs --reportformat json --units b --nosuffix -o lv_name,vg_name,pool_lv,origin,lv_attr,lv_size,lv_tags HostVG';
  const r = await boot({
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
      'mark lvm ok',
    ].join('\n'),
  });
  expectDone(r);
  expect(lvNames(outFile(r, 'created.json'))).toEqual(['pool', 'root', 't1', 't1s', 't2']);
  expect(lvNames(outFile(r, 'removed.json'))).toEqual(['pool', 'root', 't1']);
  const t1 = (JSON.parse(outFile(r, 'created.json')) as LvsReport).report[0]!.lv.find((l) => l.lv_name === 't1')!;
  expect(t1).toMatchObject({ vg_name: 'HostVG', pool_lv: 'pool', lv_size: '1073741824', lv_tags: 'lab:test' });
  const t1s = (JSON.parse(outFile(r, 'created.json')) as LvsReport).report[0]!.lv.find((l) => l.lv_name === 't1s')!;
  expect(t1s.origin).toBe('t1');
  // The lab's udev rule: no writeback throttling on the virtio disks (it hung writes into thin LVs twice).
  expect(r.markers.wbt).toEqual(['0']);
});
