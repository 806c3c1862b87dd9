import { describe, expect, it } from 'vitest';
import { dmName, mountDevice } from '../../src/core/dm';

describe('dm names', () => {
  it('doubles dashes', () => {
    expect(dmName('HostVG', 'Image-1.0-0+1')).toBe('HostVG-Image--1.0--0+1');
    expect(dmName('my-vg', 'root')).toBe('my--vg-root');
  });
  it('finds the device of / in mountinfo, last mount wins', () => {
    const info = [
      '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
      '23 22 0:21 / /proc rw - proc proc rw',
      '40 1 253:4 / / rw - ext4 /dev/mapper/HostVG-X--1--0+1 rw',
    ].join('\n');
    expect(mountDevice(info, '/')).toBe('253:4');
    expect(mountDevice(info, '/boot')).toBeNull();
  });
});
