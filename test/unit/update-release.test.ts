import { describe, expect, it } from 'vitest';
import { releaseDowngrade } from '../../src/core/update/release';

const deb = (v: string | null, id = 'debian'): string => `PRETTY_NAME="Debian"\nID=${id}\n${v === null ? '' : `VERSION_ID="${v}"\n`}`;

describe('releaseDowngrade', () => {
  it('refuses an older major release of the same distribution, naming both', () => {
    expect(releaseDowngrade(deb('13'), deb('12'))).toBe(
      'update: the image is debian 12, older than the running debian 13: an update does not go back a release; nothing changed',
    );
  });
  it('lets the same, a newer, or another point release through', () => {
    expect(releaseDowngrade(deb('12'), deb('13'))).toBeNull();
    expect(releaseDowngrade(deb('13'), deb('13'))).toBeNull();
    expect(releaseDowngrade(deb('12.8'), deb('12.4'))).toBeNull();
  });
  it('says nothing across distributions or without a numeric VERSION_ID', () => {
    expect(releaseDowngrade(deb('24.04', 'ubuntu'), deb('12'))).toBeNull();
    expect(releaseDowngrade(deb(null), deb('12'))).toBeNull();
    expect(releaseDowngrade(deb('13'), deb(null))).toBeNull();
    expect(releaseDowngrade(deb('13'), deb('forky'))).toBeNull();
  });
  it('compares numbers, not strings', () => {
    expect(releaseDowngrade(deb('10'), deb('9'))).not.toBeNull();
    expect(releaseDowngrade(deb('9'), deb('10'))).toBeNull();
  });
});
