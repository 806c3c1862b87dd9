// The base name an image gets from its os-release (core/update/image-name), pure.
import { describe, expect, it } from 'vitest';
import { baseNameFromOsRelease } from '../../src/core/update/image-name';
import { osReleasePrettyName } from '../../src/core/bls';

describe('baseNameFromOsRelease', () => {
  it('Debian 12: ID and VERSION_ID, release 0', () => {
    expect(baseNameFromOsRelease('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n')).toEqual({ name: 'debian-12-0' });
  });
  it('IMAGE_ID and IMAGE_VERSION win; a version with a dash gives version and release', () => {
    expect(baseNameFromOsRelease('ID=debian\nVERSION_ID=12\nIMAGE_ID=edgebox\nIMAGE_VERSION=2.1-3\n')).toEqual({ name: 'edgebox-2.1-3' });
  });
  it('characters LVM refuses become _ (a dash in the name part too: it would read as the version)', () => {
    expect(baseNameFromOsRelease("IMAGE_ID='my-os'\nIMAGE_VERSION=\"1.0 beta\"\n")).toEqual({ name: 'my_os-1.0_beta-0' });
  });
  it('nothing to name it from, or a name LVM refuses: an error that says to use --name', () => {
    expect(baseNameFromOsRelease('NAME=Foo\n')).toEqual({ error: expect.stringContaining('give --name NAME-VERSION-RELEASE') });
    expect(baseNameFromOsRelease('ID=snapshot\nVERSION_ID=1\n')).toEqual({ error: expect.stringMatching(/"snapshot-1-0", which must not start with "snapshot"/) });
  });
  it('the same os-release parser gives the pretty name of boot entries', () => {
    expect(osReleasePrettyName('NAME="A \\"B\\""\nVERSION=\'1\'\n')).toBe('A "B" 1');
  });
});
