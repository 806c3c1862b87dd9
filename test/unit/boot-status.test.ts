import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { bootStatusCommand } from '../../src/cli/boot-status';
import {
  BOOT_STATUS_PATH, formatBootStatus, NOT_IMGBASED_MESSAGE, parseBootStatus, renderBootStatus, showValue, type BootStatus,
} from '../../src/core/boot-status';

const fallback: BootStatus = {
  requested: 'rhvh-4.3-0.2+9',
  booted: 'rhvh-4.3-0.2+2',
  reason: 'requested layer rhvh-4.3-0.2+9 not found',
  fallbacks: [{ layer: 'rhvh-4.3-0.2+9', why: 'not found in HostVG' }],
  time: '2026-11-25T22:00:00.000Z',
  vg: 'HostVG',
  device: '/dev/HostVG/rhvh-4.3-0.2+2',
};

describe('boot status render/parse', () => {
  it('lives in /run (survives switch-root)', () => {
    expect(BOOT_STATUS_PATH).toBe('/run/imgbased/boot-status.json');
  });
  it('round-trips', () => {
    expect(parseBootStatus(renderBootStatus(fallback))).toEqual(fallback);
    const plain: BootStatus = { requested: null, booted: 'a-1-0+1', reason: 'latest', fallbacks: [], time: 't' };
    expect(parseBootStatus(renderBootStatus(plain))).toEqual(plain);
  });
  it('keeps the selector timing; drops a malformed one without failing', () => {
    const timed: BootStatus = { ...fallback, timing: { process: 9.53, main: 14.2, lvm: 18.1, decided: 21.4 } };
    expect(parseBootStatus(renderBootStatus(timed))).toEqual(timed);
    expect(formatBootStatus(timed)).toContain('selector:  started 9.53 s after the kernel, running 14.20 s, LVM from 18.10 s, decided 21.40 s');
    const noLvm: BootStatus = { ...fallback, timing: { process: 1, main: 2, lvm: null, decided: 3 } };
    expect(parseBootStatus(renderBootStatus(noLvm))).toEqual(noLvm);
    const bad = JSON.parse(renderBootStatus(fallback)) as Record<string, unknown>;
    bad.timing = { process: 'soon', main: 2, lvm: null, decided: 3 };
    expect(parseBootStatus(JSON.stringify(bad))).toEqual(fallback);
  });
  it('a failed boot has booted null', () => {
    const s: BootStatus = { ...fallback, booted: null, reason: 'no usable layer' };
    expect(parseBootStatus(renderBootStatus(s)).booted).toBeNull();
  });
  it('clips a 4 KB requested value', () => {
    const s = parseBootStatus(renderBootStatus({ ...fallback, requested: 'x'.repeat(4096) }));
    expect(s.requested).toHaveLength(256);
  });
  it.each([
    ['not JSON', '{'],
    ['not an object', '[]'],
    ['no reason', '{"requested":null,"booted":"x","fallbacks":[],"time":"t"}'],
    ['bad booted', '{"requested":null,"booted":3,"reason":"r","fallbacks":[],"time":"t"}'],
    ['bad fallback', '{"requested":null,"booted":"x","reason":"r","fallbacks":[{"layer":1}],"time":"t"}'],
  ])('rejects %s', (_n, text) => {
    expect(() => parseBootStatus(text)).toThrow(/boot status/);
  });
  it('human form names booted layer, request, reason and each fallback', () => {
    const t = formatBootStatus(fallback);
    expect(t).toContain('booted:    rhvh-4.3-0.2+2\n');
    expect(t).toContain('requested: rhvh-4.3-0.2+9\n');
    expect(t).toContain('reason:    requested layer rhvh-4.3-0.2+9 not found\n');
    expect(t).toContain('  rhvh-4.3-0.2+9: not found in HostVG\n');
  });
  it('shows hostile values quoted and clipped', () => {
    expect(showValue('root+1')).toBe('root+1');
    expect(showValue('$(reboot)')).toBe('"$(reboot)"');
    expect(showValue('')).toBe('""');
    expect(showValue('a'.repeat(100)).length).toBeLessThan(80);
    expect(formatBootStatus({ ...fallback, requested: 'a b\nc' })).toContain('requested: "a b\\nc"');
  });
});

describe('bootStatusCommand', () => {
  let dir: string;
  let out: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'imgbased-status-'));
    out = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
      out += String(s);
      return true;
    });
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await rm(dir, { recursive: true, force: true });
  });
  const g = { json: false, dryRun: false, debug: false };

  it('no status file: says the boot did not go through imgbased', async () => {
    expect(await bootStatusCommand([], g, join(dir, 'none.json'))).toBe(0);
    expect(out).toBe(`${NOT_IMGBASED_MESSAGE}\n`);
    out = '';
    expect(await bootStatusCommand(['--json'], g, join(dir, 'none.json'))).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ imgbased: false });
  });
  it('prints the decision, human and JSON', async () => {
    const p = join(dir, 's.json');
    await writeFile(p, renderBootStatus(fallback));
    expect(await bootStatusCommand([], g, p)).toBe(0);
    expect(out).toContain('booted:    rhvh-4.3-0.2+2');
    out = '';
    expect(await bootStatusCommand([], { ...g, json: true }, p)).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ imgbased: true, ...fallback, grubFellBackFrom: null, health: null });
  });
  it('a boot with no usable layer exits 1', async () => {
    const p = join(dir, 's.json');
    await writeFile(p, renderBootStatus({ ...fallback, booted: null }));
    expect(await bootStatusCommand([], g, p)).toBe(1);
  });
  it('a damaged file is an error', async () => {
    const p = join(dir, 's.json');
    await writeFile(p, 'garbage');
    await expect(bootStatusCommand([], g, p)).rejects.toThrow(/damaged|JSON/);
  });
});
