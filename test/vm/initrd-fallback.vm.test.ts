// Acceptance (issue 4): fallback within the same boot. A missing layer name, a garbage value and a layer whose
// filesystem is corrupted each boot another layer, log why on the console/journal, and the booted system's
// `imgbase boot --status` reports the fallback and why.
import { describe, expect, inject, test } from 'vitest';
import { expectMarker, outFile, overlay } from './lab/index.js';
import { BROKEN, MIDDLE, NEWEST } from './initrd-fixture.js';
import { expectBootingLine, expectRoot, probeBoot, setupLayers, status } from './initrd-helpers.js';

describe.sequential('initrd: fallback when the requested layer cannot boot', () => {
  const lab = inject('lab');
  let disk = '';

  test('setup: 2 bases, 4 layers, one with a corrupted filesystem', async () => {
    disk = await overlay(lab.projectDisk, 'initrd-fallback');
    await setupLayers(lab, disk, 'initrd-fallback-setup');
  });

  test('missing layer name: boots the newest older layer', async () => {
    const missing = 'host-1.0-1+9';
    const r = await probeBoot(lab, disk, 'initrd-fallback-missing', `imgbased.layer=${missing} rw`);
    expectRoot(r, MIDDLE);
    expectBootingLine(r, MIDDLE);
    expectMarker(r, 'unusable', new RegExp(`imgbased: host-1\\.0-1\\+9 unusable: not found in HostVG; falling back to host-1\\.0-1\\+2`));
    const s = status(r);
    expect(s).toMatchObject({ requested: missing, booted: MIDDLE, fallbacks: [{ layer: missing, why: 'not found in HostVG' }] });
    expect(s.reason).toMatch(/not found/);
    expect(outFile(r, 'status.txt')).toMatch(/fallbacks:\n {2}host-1\.0-1\+9: not found in HostVG/);
  });

  test('garbage value (spaces, quotes, $(...), ../): never interpreted, boots the newest layer', async () => {
    const r = await probeBoot(lab, disk, 'initrd-fallback-garbage', 'imgbased.layer="../../x $(poweroff) `id`" rw');
    expectRoot(r, NEWEST);
    expectBootingLine(r, NEWEST);
    const s = status(r);
    expect(s.booted).toBe(NEWEST);
    expect(s.requested).toBe('../../x $(poweroff) `id`');
    expect(s.fallbacks).toEqual([{ layer: '../../x $(poweroff) `id`', why: 'invalid layer name' }]);
    expect(s.reason).toMatch(/invalid layer name/);
  });

  test('corrupted filesystem: the previous layer boots, status says why', async () => {
    const r = await probeBoot(lab, disk, 'initrd-fallback-broken', `imgbased.layer=${BROKEN} rw`);
    expectRoot(r, MIDDLE);
    expectBootingLine(r, MIDDLE);
    expectMarker(r, 'unusable', /imgbased: host-2\.0-1\+1 unusable: ext4 filesystem does not mount: .*; falling back to host-1\.0-1\+2/);
    const s = status(r);
    expect(s).toMatchObject({ requested: BROKEN, booted: MIDDLE });
    expect(s.fallbacks).toHaveLength(1);
    expect(s.fallbacks![0]!.layer).toBe(BROKEN);
    expect(s.fallbacks![0]!.why).toMatch(/ext4 filesystem does not mount/);
    expect(s.reason).toMatch(/host-2\.0-1\+1 unusable/);
  });
});
