// Acceptance (issue 4): imgbased.layer= picks the layer in the initramfs (no root=/rd.lvm.lv= needed), "latest"
// picks the newest, imgbased.layer= wins over a root= safety net, and without imgbased.* stock dracut boots as
// before with the module installed. Boots are chained on one overlay of the shared layered host.
import { describe, expect, inject, test } from 'vitest';
import { expectMarker } from './lab/index.js';
import { MIDDLE, NEWEST, OLDEST, VG } from './initrd-fixture.js';
import { expectBootingLine, expectNoRootArgs, expectRoot, layeredOverlay, probeBoot, status } from './initrd-helpers.js';

describe.sequential('initrd: choosing a layer at boot', () => {
  const lab = inject('lab');
  let disk = '';

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

  test('imgbased.layer=latest boots the newest layer', async () => {
    const r = await probeBoot(lab, disk, 'initrd-select-latest', 'imgbased.layer=latest rw');
    expectRoot(r, NEWEST);
    expectBootingLine(r, NEWEST);
    expectMarker(r, 'pretty', /image 2/);
    expect(status(r)).toMatchObject({ requested: 'latest', booted: NEWEST, reason: 'latest', fallbacks: [] });
  });

  test('root= + rd.lvm.lv= name one layer, imgbased.layer= another: imgbased.layer wins', async () => {
    const r = await probeBoot(lab, disk, 'initrd-select-override',
      `root=/dev/${VG}/${OLDEST} rd.lvm.lv=${VG}/${OLDEST} imgbased.layer=${MIDDLE} rw`);
    expectRoot(r, MIDDLE);
    expectBootingLine(r, MIDDLE);
    expect(status(r)).toMatchObject({ requested: MIDDLE, booted: MIDDLE, fallbacks: [] });
  });

  test('no imgbased.* argument: stock root=/rd.lvm.lv= boot of a layer, module installed but inert', async () => {
    const r = await probeBoot(lab, disk, 'initrd-select-stock', `root=/dev/${VG}/${OLDEST} rd.lvm.lv=${VG}/${OLDEST} rw`);
    expectRoot(r, OLDEST);
    expectMarker(r, 'booting', '');
    expectMarker(r, 'alias', 'none');
    const s = status(r);
    expect(s.imgbased).toBe(false);
    expect(s.message).toMatch(/did not go through imgbased/);
  });
});
