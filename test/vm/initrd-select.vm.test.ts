// Acceptance (issue 4): imgbased.layer= picks the layer in the initramfs (no root=/rd.lvm.lv= needed), "latest"
// picks the newest, imgbased.layer= wins over a root= safety net, and without imgbased.* stock dracut boots as
// before with the module installed. Boots are chained on one overlay of the shared layered host. The last boot also
// shows (issue 4) that dracut strips every executable it installs and binutils is installed in the guest, yet the
// imgbase binary inside the project initramfs is byte-identical to the installed one (module-setup.sh installs it
// 0644 with its libraries resolved; the select service runs it through its dynamic loader). npm test's sample
// (sample.ts) leaves out the "latest" and the root= override boots.
import { describe, expect, inject, test } from 'vitest';
import { expectMarker, type BootResult } from './lab/index.js';
import { FULL } from './sample.js';
import { MIDDLE, NEWEST, OLDEST, STRIP_PROOF, VG } from './initrd-fixture.js';
import { expectBootingLine, expectNoRootArgs, expectRoot, layeredOverlay, probeBoot, status } from './initrd-helpers.js';

describe.sequential('initrd: choosing a layer at boot', () => {
  const lab = inject('lab');
  let disk = '';
  let stock: BootResult | undefined;

  test('imgbased.layer=<middle layer> boots exactly that layer, no root=/rd.lvm.lv=', async () => {
    disk = await layeredOverlay(lab, 'initrd-select');
    const append = `imgbased.layer=${MIDDLE} rw`;
    expectNoRootArgs(append);
    const r = await probeBoot(lab, disk, 'initrd-select-middle', append);
    expectRoot(r, MIDDLE);
    expectBootingLine(r, MIDDLE);
    expectMarker(r, 'root-rw', 'rw');
    expectMarker(r, 'alias', /^\/dev\/dm-\d+$/);
    expectMarker(r, 'unusable', '');
    expect(status(r)).toMatchObject({ imgbased: true, requested: MIDDLE, booted: MIDDLE, reason: 'requested', fallbacks: [] });
  });

  test.runIf(FULL)('imgbased.layer=latest boots the newest layer', async () => {
    const r = await probeBoot(lab, disk, 'initrd-select-latest', 'imgbased.layer=latest rw');
    expectRoot(r, NEWEST);
    expectBootingLine(r, NEWEST);
    expectMarker(r, 'pretty', /image 2/);
    expect(status(r)).toMatchObject({ requested: 'latest', booted: NEWEST, reason: 'latest', fallbacks: [] });
  });

  test.runIf(FULL)('root= + rd.lvm.lv= name one layer, imgbased.layer= another: imgbased.layer wins', async () => {
    const r = await probeBoot(lab, disk, 'initrd-select-override',
      `root=/dev/${VG}/${OLDEST} rd.lvm.lv=${VG}/${OLDEST} imgbased.layer=${MIDDLE} rw`);
    expectRoot(r, MIDDLE);
    expectBootingLine(r, MIDDLE);
    expect(status(r)).toMatchObject({ requested: MIDDLE, booted: MIDDLE, fallbacks: [] });
  });

  test('no imgbased.* argument: stock root=/rd.lvm.lv= boot of a layer, module installed but inert', async () => {
    stock = await probeBoot(lab, disk, 'initrd-select-stock', `root=/dev/${VG}/${OLDEST} rd.lvm.lv=${VG}/${OLDEST} rw`, STRIP_PROOF);
    const r = stock;
    expectRoot(r, OLDEST);
    expectMarker(r, 'booting', '');
    expectMarker(r, 'alias', 'none');
    const s = status(r);
    expect(s.imgbased).toBe(false);
    expect(s.message).toMatch(/did not go through imgbased/);
  });

  test('the binary in the initramfs survived dracut\'s strip step; no root= baked in', () => {
    const r = stock!;
    expect(r, 'the stock boot did not run').toBeDefined();
    expectMarker(r, 'boot-mounted', 'yes');
    expect(expectMarker(r, 'strip-tool')).not.toBe('none');
    expectMarker(r, 'strip-initrd', new RegExp(`^/boot/imgbased/${OLDEST.replace(/\+\d+$/, '').replace(/\./g, '\\.')}/initrd\\.img-`));
    expectMarker(r, 'initrd-imgbase-identical', 'yes');
    expectMarker(r, 'initrd-has-module', '2');
    expectMarker(r, 'initrd-cmdline-d', '0');
  });
});
