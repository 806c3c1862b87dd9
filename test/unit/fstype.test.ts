import { describe, expect, it } from 'vitest';
import { FSTYPE_PROBE_BYTES, fstypeOf } from '../../src/core/fstype';

const head = (at: number, bytes: number[]): Uint8Array => {
  const b = new Uint8Array(FSTYPE_PROBE_BYTES);
  b.set(bytes, at);
  return b;
};

describe('fstypeOf', () => {
  it('ext2/3/4 superblock magic → ext4', () => expect(fstypeOf(head(1080, [0x53, 0xef]))).toBe('ext4'));
  it('XFSB → xfs', () => expect(fstypeOf(head(0, [0x58, 0x46, 0x53, 0x42]))).toBe('xfs'));
  it('zeroes → null (blkid decides)', () => expect(fstypeOf(new Uint8Array(FSTYPE_PROBE_BYTES))).toBeNull());
  it('byte-swapped ext magic is not ext', () => expect(fstypeOf(head(1080, [0xef, 0x53]))).toBeNull());
  it('a short read is not a match', () => expect(fstypeOf(new Uint8Array(100))).toBeNull());
});
