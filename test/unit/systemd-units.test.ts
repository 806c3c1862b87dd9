import { describe, expect, it } from 'vitest';
import { deviceUnitName, parseJobs } from '../../src/core/systemd-units';

describe('deviceUnitName: systemd-escape --path --suffix=device', () => {
  it('escapes an LV path as systemd shows it', () => {
    expect(deviceUnitName('/dev/BiosVG/Image-4.0-0+1')).toBe('dev-BiosVG-Image\\x2d4.0\\x2d0\\x2b1.device');
  });
  it('drops duplicate and trailing slashes', () => {
    expect(deviceUnitName('//dev//disk/by-uuid/ab-12/')).toBe('dev-disk-by\\x2duuid-ab\\x2d12.device');
  });
  it('escapes a leading dot only at the very start, and non-ASCII bytes one by one', () => {
    expect(deviceUnitName('/.x/.y')).toBe('\\x2ex-.y.device');
    expect(deviceUnitName('/dev/é')).toBe('dev-\\xc3\\xa9.device');
  });
  it('the root path', () => {
    expect(deviceUnitName('/')).toBe('-.device');
  });
});

describe('parseJobs: systemctl list-jobs --no-legend', () => {
  it('reads id, unit, type and state; skips anything else', () => {
    const text = [
      ' 98 dev-BiosVG-Image\\x2d4.0\\x2d0\\x2b1.device start running',
      '1 initrd.target                   start waiting',
      'No jobs running.',
      '',
    ].join('\n');
    expect(parseJobs(text)).toEqual([
      { id: 98, unit: 'dev-BiosVG-Image\\x2d4.0\\x2d0\\x2b1.device', type: 'start', state: 'running' },
      { id: 1, unit: 'initrd.target', type: 'start', state: 'waiting' },
    ]);
  });
});
