import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { processStartS } from '../../src/core/proc';

describe('processStartS', () => {
  const tail = 'S 1 118 118 0 -1 4194560 1090 0 0 0 52 11 0 0 39 19 11 0 953 1190125568 9920 18446744073709551615';
  it('reads starttime (field 22) in seconds', () => {
    expect(processStartS(`118 (imgbase) ${tail}`)).toBe(9.53);
  });
  it('copes with spaces and parentheses in the command name', () => {
    expect(processStartS(`118 (a) b (c) ${tail}`)).toBe(9.53);
  });
  it('null for garbage', () => {
    expect(processStartS('')).toBeNull();
    expect(processStartS('1 (x) S 1')).toBeNull();
  });
  it('agrees with this process', () => {
    const s = processStartS(readFileSync('/proc/self/stat', 'utf8'))!;
    const now = Number(process.hrtime.bigint()) / 1e9;
    expect(now - s).toBeGreaterThanOrEqual(0);
    expect(now - s).toBeLessThan(600);
  });
});
