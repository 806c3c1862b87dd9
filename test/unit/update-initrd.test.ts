// core/update/initrd: recognising our module in an initramfs listing, and the kernel copy of a built initramfs.
import { describe, expect, it } from 'vitest';
import { builtSource, initrdBuild, INITRD_ESTIMATE_BYTES, listingHasModule } from '../../src/core/update/initrd';
import type { KernelSource } from '../../src/core/steps';

// lsinitrd's listing: a header, then `ls -l`-like lines with paths relative to the initramfs root.
const LISTING = (extra: string): string => `Image: /boot/initrd.img-6.1.0-28-amd64: 14M
========================================================================
Version: dracut-059-4

dracut modules:
systemd
lvm
========================================================================
drwxr-xr-x  12 root     root            0 Dec  1 12:00 .
-rw-r--r--   1 root     root          512 Dec  1 12:00 usr/lib/systemd/system/systemd-udevd.service
${extra}========================================================================
`;

describe('listingHasModule', () => {
  it('finds our unit by its path, not a name that merely contains it', () => {
    expect(listingHasModule(LISTING('-rw-r--r--   1 root     root          420 Dec  1 12:00 usr/lib/systemd/system/imgbased-select.service\n'))).toBe(true);
    expect(listingHasModule(LISTING(''))).toBe(false);
    expect(listingHasModule(LISTING('-rw-r--r--   1 root     root          420 Dec  1 12:00 usr/lib/systemd/system/imgbased-select.service.d\n'))).toBe(false);
    expect(listingHasModule('')).toBe(false);
  });
});

describe('builtSource', () => {
  const image: KernelSource = {
    vg: 'HostVG', lv: 'C-3-0', version: '6.1.0-28-amd64', kernel: { in: 'lv', path: 'boot/vmlinuz-6.1.0-28-amd64' },
    initrd: { in: 'lv', path: 'boot/initrd.img-6.1.0-28-amd64' }, osRelease: 'ID=debian\n', bytes: 40_000_000,
  };
  it('reads the kernel as before and the built initramfs, both from the layer', () => {
    const b = initrdBuild(image.version, []);
    expect(b).toEqual({ out: 'boot/initrd.img-6.1.0-28-amd64', install: [] });
    expect(builtSource(image, 'C-3-0+1', b)).toEqual({ ...image, lv: 'C-3-0+1', initrd: { in: 'lv', path: b.out } });
  });
  it('an image without an initramfs: /boot room for one is budgeted', () => {
    const s = builtSource({ ...image, initrd: null, bytes: 8_000_000 }, 'C-3-0+1', initrdBuild(image.version, []));
    expect(s.bytes).toBe(8_000_000 + INITRD_ESTIMATE_BYTES);
    expect(s.initrd).toEqual({ in: 'lv', path: 'boot/initrd.img-6.1.0-28-amd64' });
  });
});
