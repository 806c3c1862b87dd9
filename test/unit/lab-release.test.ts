// The lab's Debian release: mirror lines for trixie derived from a bookworm host's apt sources, and the env switch.
import { describe, expect, it } from 'vitest';
import { mirrorLinesFor, packagesFor, parseAptSources, parseRelease } from '../vm/lab/release.js';

// This machine's apt sources: deb822 with bookworm suites only, plus third-party suites that merely contain the name.
const HOST_SOURCES = `Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
`;
const THIRD_PARTY = 'deb https://packages.cloud.google.com/apt cloud-sdk-bookworm main\n';

function hostSources() {
  return [...parseAptSources('debian.sources', HOST_SOURCES), ...parseAptSources('google.list', THIRD_PARTY)];
}

describe('lab mirror lines', () => {
  it('bookworm: the host lines as they are', () => {
    expect(mirrorLinesFor('bookworm', hostSources())).toEqual([
      'deb http://deb.debian.org/debian bookworm main',
      'deb http://deb.debian.org/debian bookworm-updates main',
      'deb http://deb.debian.org/debian-security bookworm-security main',
    ]);
  });

  it('trixie from a bookworm-only host: suite names replaced, same mirrors', () => {
    expect(mirrorLinesFor('trixie', hostSources())).toEqual([
      'deb http://deb.debian.org/debian trixie main',
      'deb http://deb.debian.org/debian trixie-updates main',
      'deb http://deb.debian.org/debian-security trixie-security main',
    ]);
  });

  it("a host that lists trixie itself: its own lines win", () => {
    const s = parseAptSources('x.list', 'deb [arch=amd64] http://mirror.example/debian trixie main contrib\ndeb http://deb.debian.org/debian bookworm main\n');
    expect(mirrorLinesFor('trixie', s)).toEqual(['deb http://mirror.example/debian trixie main contrib']);
    expect(mirrorLinesFor('bookworm', s)).toEqual(['deb http://deb.debian.org/debian bookworm main']);
  });

  it('disabled stanzas, deb-src and comments are ignored; no Debian suite at all is an error', () => {
    const s = [
      ...parseAptSources('a.sources', 'Types: deb-src\nURIs: http://x/debian\nSuites: bookworm\nComponents: main\n\nTypes: deb\nEnabled: no\nURIs: http://y/debian\nSuites: bookworm\nComponents: main\n'),
      ...parseAptSources('b.list', '# deb http://z/debian bookworm main\n'),
      ...parseAptSources('google.list', THIRD_PARTY),
    ];
    expect(() => mirrorLinesFor('trixie', s)).toThrow(/no Debian mirror for trixie/);
  });
});

describe('lab release selection', () => {
  it('codename or version; unset means bookworm (npm test\'s guests)', () => {
    expect(parseRelease(undefined)).toBe('trixie');
    expect(parseRelease('')).toBe('trixie');
    expect(parseRelease('trixie')).toBe('trixie');
    expect(parseRelease('13')).toBe('trixie');
    expect(parseRelease('12')).toBe('bookworm');
    expect(() => parseRelease('sid')).toThrow(/unknown Debian release/);
  });

  it('every release installs the kernel, LVM thin tools, dracut and sshd', () => {
    for (const r of ['bookworm', 'trixie'] as const)
      expect(packagesFor(r)).toEqual(expect.arrayContaining(['linux-image-amd64', 'lvm2', 'thin-provisioning-tools', 'dracut', 'openssh-server']));
  });
});
