// core/update/initrd: recognising our module in an initramfs, and the kernel copy of a built initramfs.
import { describe, expect, it } from 'vitest';
import { builtSource, extractHasModule, initrdBuild, INITRD_ESTIMATE_BYTES, INITRD_MARK_GLOB } from '../../src/core/update/initrd';
import type { KernelSource } from '../../src/core/steps';

describe('extractHasModule', () => {
  it('lsinitrd -f printed our unit: the module is there; nothing printed: it is not', () => {
    expect(extractHasModule('[Unit]\nDescription=imgbased: choose the layer to boot\n')).toBe(true);
    expect(extractHasModule('')).toBe(false);
    expect(extractHasModule('\n')).toBe(false);
  });
  it('the glob names the unit in any directory, and only that file name', () => {
    expect(INITRD_MARK_GLOB).toBe('*/imgbased-select.service');
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
