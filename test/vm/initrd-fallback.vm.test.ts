// Acceptance (issue 4): fallback within the same boot. A garbage value, a missing layer name and a layer whose
// filesystem is corrupted each boot another layer, log why on the console/journal, and the booted system's
// `imgbase boot --status` reports the fallback and why. Boots are chained on one overlay of the layered host.
import { describe, expect, inject, test } from 'vitest';
import { expectMarker, outFile } from './lab/index.js';
import { breakLayerScript, MIDDLE, NEWEST } from './initrd-fixture.js';
import { expectBootingLine, expectRoot, layeredOverlay, probeBoot, status } from './initrd-helpers.js';

const re = (s: string) => s.replace(/[.+*?()[\]{}^$|\\]/g, '\\$&');

describe.sequential('initrd: fallback when the requested layer cannot boot', () => {
  const lab = inject('lab');
  let disk = '';

  test('garbage value (spaces, $(...), backquotes, ../): never interpreted, boots the newest layer', async () => {
    disk = await layeredOverlay(lab, 'initrd-fallback');
    const garbage = '../../x $(poweroff) `id`';
    const r = await probeBoot(lab, disk, 'initrd-fallback-garbage', `imgbased.layer="${garbage}" rw`);
    expectRoot(r, NEWEST);
    expectBootingLine(r, NEWEST);
    const s = status(r);
    expect(s).toMatchObject({ requested: garbage, booted: NEWEST, fallbacks: [{ layer: garbage, why: 'invalid layer name' }] });
    expect(s.reason).toMatch(/invalid layer name/);
  });

  test('missing layer name: boots the newest layer older than the request', async () => {
    const missing = 'Image-1.0-0+9';
    // After probing, break the newest layer's filesystem for the next boot (it is not the running one here).
    const r = await probeBoot(lab, disk, 'initrd-fallback-missing', `imgbased.layer=${missing} rw`, breakLayerScript(NEWEST));
    expectRoot(r, MIDDLE);
    expectBootingLine(r, MIDDLE);
    expectMarker(r, 'unusable', new RegExp(`imgbased: ${re(missing)} unusable: not found in HostVG; falling back to ${re(MIDDLE)}`));
    const s = status(r);
    expect(s).toMatchObject({ requested: missing, booted: MIDDLE, fallbacks: [{ layer: missing, why: 'not found in HostVG' }] });
    expect(s.reason).toMatch(/not found/);
    expect(outFile(r, 'status.txt')).toContain(`fallbacks:\n  ${missing}: not found in HostVG`);
    expectMarker(r, 'broken-blkid', 'ext4');
    expectMarker(r, 'broken-mounts', 'no');
  });

  test('corrupted filesystem: the previous layer boots, status says why', async () => {
    const r = await probeBoot(lab, disk, 'initrd-fallback-broken', `imgbased.layer=${NEWEST} rw`);
    expectRoot(r, MIDDLE);
    expectBootingLine(r, MIDDLE);
    expectMarker(r, 'unusable', new RegExp(`imgbased: ${re(NEWEST)} unusable: fsck failed \\(exit \\d+: [a-z ,-]+\\); falling back to ${re(MIDDLE)}`));
    const s = status(r);
    expect(s).toMatchObject({ requested: NEWEST, booted: MIDDLE });
    expect(s.fallbacks).toHaveLength(1);
    expect(s.fallbacks![0]!.layer).toBe(NEWEST);
    expect(s.fallbacks![0]!.why).toMatch(/^fsck failed/);
    expect(s.reason).toContain(`${NEWEST} unusable`);
    expect(outFile(r, 'status.txt')).toContain(`booted:    ${MIDDLE}`);
  });
});
