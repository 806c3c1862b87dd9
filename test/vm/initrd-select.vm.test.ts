// Acceptance (issue 4): imgbased.layer= picks the layer in the initramfs (no root=/rd.lvm.lv= needed), "latest"
// picks the newest, imgbased.layer= wins over a root= safety net, and without imgbased.* stock dracut boots as
// before with the module installed. Boots are chained on one overlay (setup once, then one boot per case).
import { describe, expect, inject, test } from 'vitest';
import { expectMarker, overlay } from './lab/index.js';
import { MIDDLE, NEWEST, VG, LAYERS } from './initrd-fixture.js';
import { expectBootingLine, expectNoRootArgs, expectRoot, probeBoot, setupLayers, status } from './initrd-helpers.js';

describe.sequential('initrd: choosing a layer at boot', () => {
  const lab = inject('lab');
  let disk = '';

  test('setup: 2 bases, 4 layers; binary in the initramfs survived strip', async () => {
    disk = await overlay(lab.projectDisk, 'initrd-select');
    const r = await setupLayers(lab, disk, 'initrd-select-setup');
    expect(expectMarker(r, 'strip-tool')).not.toBe('none');
    expectMarker(r, 'initrd-imgbase-identical', 'yes');
    expectMarker(r, 'initrd-has-module', '2');
    expectMarker(r, 'initrd-cmdline-d', '0');
  });

  test('imgbased.layer=<middle layer> boots exactly that layer, no root=/rd.lvm.lv=', async () => {
    const append = `imgbased.layer=${MIDDLE} rw`;
    expectNoRootArgs(append);
    const r = await probeBoot(lab, disk, 'initrd-select-middle', append);
    expectRoot(r, MIDDLE);
    expectBootingLine(r, MIDDLE);
    expectMarker(r, 'root-rw', 'rw');
    expectMarker(r, 'select-unit', 'active');
    expectMarker(r, 'unusable', '');
    expect(status(r)).toMatchObject({ imgbased: true, requested: MIDDLE, booted: MIDDLE, reason: 'requested', fallbacks: [] });
  });

  test('imgbased.layer=latest boots the newest layer', async () => {
    const r = await probeBoot(lab, disk, 'initrd-select-latest', 'imgbased.layer=latest rw');
    expectRoot(r, NEWEST);
    expectBootingLine(r, NEWEST);
    expect(status(r)).toMatchObject({ requested: 'latest', booted: NEWEST, reason: 'latest', fallbacks: [] });
  });

  test('root= + rd.lvm.lv= name one layer, imgbased.layer= another: imgbased.layer wins', async () => {
    const other = LAYERS[0];
    const r = await probeBoot(lab, disk, 'initrd-select-override',
      `root=/dev/${VG}/${other} rd.lvm.lv=${VG}/${other} imgbased.layer=${NEWEST} rw`);
    expectRoot(r, NEWEST);
    expect(status(r)).toMatchObject({ requested: NEWEST, booted: NEWEST, fallbacks: [] });
  });

  test('no imgbased.* argument: stock root=/rd.lvm.lv= boot, module installed but inert', async () => {
    const r = await probeBoot(lab, disk, 'initrd-select-stock', lab.hostAppend);
    expectMarker(r, 'root-dm', `${VG}-root`);
    expectMarker(r, 'layer-id', 'none');
    expectMarker(r, 'booting', '');
    expectMarker(r, 'alias', 'none');
    expect(expectMarker(r, 'select-unit')).not.toBe('active');
    const s = status(r);
    expect(s.imgbased).toBe(false);
    expect(s.message).toMatch(/did not go through imgbased/);
  });
});
