// Acceptance (issue 2): a direct kernel + initramfs boot with root= + rd.lvm.lv= into a thin snapshot that has
// the activation-skip flag (made in a first boot of the same overlay).
import { expect, inject, test } from 'vitest';
import { boot, expectDone, expectMarker, overlay } from './lab/index.js';

test('direct boot into a thin snapshot with activation skip', async () => {
  const lab = inject('lab');
  const disk = await overlay(lab.hostDisk, 'lab-snapshot');
  const first = await boot({
    name: 'lab-snapshot-1',
    disk,
    kernel: lab.kernel,
    initrd: lab.initrd,
    append: lab.hostAppend,
    timeoutS: 600,
    script: [
      'set -eux',
      'echo snapshot-was-here >/etc/lab-snapshot-proof', // written before the snapshot: must be there in it
      'sync',
      'lvcreate -y -s -n snap HostVG/root',
      'rm /etc/lab-snapshot-proof', // removed from the origin afterwards: proves which LV is booted next
      'mark snap-attr "$(lvs --noheadings -o lv_attr,pool_lv,origin HostVG/snap | xargs)"',
      'mark snap-skip "$(lvs --noheadings -o lv_skip_activation HostVG/snap | xargs)"',
    ].join('\n'),
  });
  expectDone(first);
  expectMarker(first, 'snap-attr', /^V.{8}k pool root$/);
  expectMarker(first, 'snap-skip', 'skip activation');

  const second = await boot({
    name: 'lab-snapshot-2',
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
