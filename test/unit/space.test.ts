import { describe, expect, it } from 'vitest';
import { formatSize, parseSize, poolSpace, roomFor } from '../../src/core/space';
import type { LvRecord } from '../../src/core/inventory';

const pool = (dataPercent: number, metadataPercent: number): LvRecord => ({
  vg: 'HostVG', name: 'pool', attr: 'twi-aotz--', sizeBytes: 10 * 1024 ** 3, pool: '', origin: '', tags: [], vgTags: [],
  dataPercent, metadataPercent, path: '', segtype: 'thin-pool', skipActivation: false, active: true, readOnly: false, uuid: '',
});

describe('space', () => {
  it('computes free data', () => {
    expect(poolSpace(pool(25, 5)).dataFreeBytes).toBe(7.5 * 1024 ** 3);
  });
  it('refuses when data or metadata would run out', () => {
    expect(roomFor(pool(10, 5), 1024 ** 3)).toBeNull();
    expect(roomFor(pool(95, 5), 1024 ** 3)).toMatch(/free/);
    expect(roomFor(pool(10, 93), 0)).toMatch(/metadata/);
  });
  it('parses and formats sizes', () => {
    expect(parseSize('8G')).toBe(8 * 1024 ** 3);
    expect(parseSize('512m')).toBe(512 * 1024 ** 2);
    expect(parseSize('1.5GiB')).toBe(1.5 * 1024 ** 3);
    expect(parseSize('4096')).toBe(4096);
    expect(parseSize('lots')).toBeNull();
    expect(parseSize('-1G')).toBeNull();
    expect(formatSize(3 * 1024 ** 3, 'h')).toBe('3.00GiB');
    expect(formatSize(2048, 'k')).toBe('2.00K');
  });
});
