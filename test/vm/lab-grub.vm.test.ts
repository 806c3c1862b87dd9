// Acceptance (issue 2): the provisioned disk boots through its own on-disk GRUB into the thin root LV.
import { expect, inject, test } from 'vitest';
import { boot, expectDone, expectMarker, grubMenu, overlay } from './lab/index.js';

test('provisioned host boots via on-disk BIOS GRUB into HostVG/root (thin LV)', async () => {
  const lab = inject('lab');
  const disk = await overlay(lab.hostDisk, 'lab-grub');
  const r = await boot({
    name: 'lab-grub',
    disk, // no kernel: SeaBIOS -> GRUB on vda -> /boot/grub/grub.cfg -> kernel + initrd from vda1
    timeoutS: 600,
    script: [
      'src=$(findmnt -no SOURCE /)',
      'mark root "$src"',
      'mark root-lv "$(lvs --noheadings -o vg_name,lv_name,segtype "$src" | xargs)"',
      'mark cmdline "$(cat /proc/cmdline)"',
      'mark boot-mounted "$(findmnt -no SOURCE /boot)"',
      'ls /boot/loader/entries >/dev/null && mark loader-entries yes',
    ].join('\n'),
  });
  expectDone(r);
  expectMarker(r, 'root', '/dev/mapper/HostVG-root');
  expectMarker(r, 'root-lv', 'HostVG root thin');
  expectMarker(r, 'cmdline', /BOOT_IMAGE=\/vmlinuz-\S+ root=\/dev\/mapper\/HostVG-root .*rd\.lvm\.lv=HostVG\/root/);
  expectMarker(r, 'boot-mounted', '/dev/vda1');
  expectMarker(r, 'loader-entries', 'yes');
  // GRUB drew its menu on the serial console.
  expect(grubMenu(r.log)).toEqual([
    { title: 'Debian GNU/Linux', selected: true },
    { title: 'Advanced options for Debian GNU/Linux', selected: false },
  ]);
  console.log(`lab-grub: boot via GRUB took ${r.durationS.toFixed(1)}s`);
});
