// core/update/packages: the admin's packages against the running layer's base, what of them the new image already
// has, what it cannot take (before anything is written), where each .deb comes from, and the lines that report it.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { installedPackages } from '../../src/core/dpkg/status';
import { parseImgbasedConfig } from '../../src/core/update/config';
import { describeReport } from '../../src/core/update/report';
import { adminPackages, describePackages, keptDeb, olderKept, planPackages, refusalLine, type PkgSource } from '../../src/core/update/packages';

const fixture = (name: string): string => readFileSync(join(__dirname, 'fixtures', 'dpkg', name), 'utf8');
const base = installedPackages(fixture('status-base'));
const here = installedPackages(fixture('status-here'));
const names = (ps: Array<{ name: string }>): string[] => ps.map((p) => p.name);

/** The new image: the old base with libc6 newer still, libtinfo6, and nano (which vendor-agent conflicts with). */
const image = installedPackages(`${fixture('status-base').replace('Version: 2.36-9+deb12u4', 'Version: 2.36-9+deb12u9')}
Package: libtinfo6
Status: install ok installed
Architecture: amd64
Version: 6.4-4
`);
const sources = new Map<string, PkgSource>([['htop:amd64', 'kept'], ['libtinfo6:amd64', 'kept'], ['vendor-agent:all', 'rebuilt'], ['libc6:amd64', 'kept']]);

describe('adminPackages', () => {
  it("installed here and not in the base, or newer than the base's; the base's packages no longer here", () => {
    const a = adminPackages(base, here);
    expect(names(a.added)).toEqual(['htop', 'libc6', 'libtinfo6', 'vendor-agent']);
    expect(names(a.removed)).toEqual(['nano']);
    expect(adminPackages(base, base)).toEqual({ added: [], removed: [] });
  });
});

describe('planPackages', () => {
  it('what the image has at the same or a newer version is skipped; a conflict with the image is refused', () => {
    const p = planPackages(adminPackages(base, here), image, sources);
    expect(p.install).toEqual([{ name: 'htop', version: '3.2.2-2', arch: 'amd64', source: 'kept' }]);
    expect(p.inImage).toEqual([
      { name: 'libc6', version: '2.36-9+deb12u7', arch: 'amd64', image: '2.36-9+deb12u9' },
      { name: 'libtinfo6', version: '6.4-4', arch: 'amd64', image: '6.4-4' },
    ]);
    expect(p.refused).toEqual([{ name: 'vendor-agent', version: '1:2.0~rc1-1', arch: 'all', why: 'it conflicts with nano 7.2-1' }]);
    expect(p.removed).toEqual([{ name: 'nano', version: '7.2-1', arch: 'amd64' }]);
    expect(refusalLine(p.refused)).toBe("update: the new image cannot take 1 of this host's package(s): vendor-agent 1:2.0~rc1-1 (it conflicts with nano 7.2-1)");
    expect(describePackages(p)).toEqual([
      '  package htop 3.2.2-2 amd64: re-installed (kept .deb)',
      '  package libc6 2.36-9+deb12u7 amd64: already in the image (2.36-9+deb12u9)',
      '  package libtinfo6 6.4-4 amd64: already in the image (6.4-4)',
      '  package vendor-agent 1:2.0~rc1-1 all: SKIPPED, it conflicts with nano 7.2-1',
      "  package nano 7.2-1 amd64: removed here from the old image's set (not removed from the new one)",
    ]);
    // update --status shows the same lines from the layer's record; a record from before packages has none.
    const record = { at: 'T', image: 'i', base: 'C-3-0', layer: 'C-3-0+1', from: 'B-2-0+1', carried: [], conflicts: [], accounts: {} };
    expect(describeReport({ ...record, packages: p }).slice(2)).toEqual(describePackages(p));
    expect(describeReport(record)).toHaveLength(2);
  });

  it('a package with no .deb to be had is refused; an image without nano takes the rebuilt agent', () => {
    const noNano = new Map([...image].filter(([k]) => k !== 'nano:amd64'));
    const p = planPackages(adminPackages(base, here), noNano, new Map([...sources, ['htop:amd64', 'missing']]));
    expect(p.install).toEqual([{ name: 'vendor-agent', version: '1:2.0~rc1-1', arch: 'all', source: 'rebuilt' }]);
    expect(p.refused).toEqual([{ name: 'htop', version: '3.2.2-2', arch: 'amd64', why: 'no kept .deb and no dpkg file list to rebuild it from' }]);
  });

  it('a dependency with no .deb to be had (libtinfo6) refuses the package needing it (htop)', () => {
    const p = planPackages(adminPackages(base, here), base, new Map([...sources, ['libtinfo6:amd64', 'missing']]));
    expect(names(p.install)).toEqual(['libc6']);
    expect(p.refused.map((r) => `${r.name}: ${r.why}`)).toEqual([
      'libtinfo6: no kept .deb and no dpkg file list to rebuild it from',
      'htop: it depends on libtinfo6 (>= 6), which the new image lacks',
      'vendor-agent: it conflicts with nano 7.2-1',
    ]);
  });
});

describe('the kept-.deb store', () => {
  it('a package\'s own file; the other versions of it (same architecture) that a new one replaces', () => {
    const files = ['htop_3.2.2-2_amd64.deb', 'htop_3.0.5-7_amd64.deb', 'htop_3.0.5-7_i386.deb', 'htopx_1_amd64.deb', 'notes.txt'];
    const htop = { name: 'htop', version: '3.2.2-2', arch: 'amd64' };
    expect(keptDeb(htop, files)).toBe('htop_3.2.2-2_amd64.deb');
    expect(keptDeb({ ...htop, version: '3.3' }, files)).toBeNull();
    expect(olderKept(htop, files)).toEqual(['htop_3.0.5-7_amd64.deb']);
  });
});

describe('imgbased.conf packages=', () => {
  it('stop by default, skip when set, anything else an error naming the line', () => {
    expect(parseImgbasedConfig(null).packages).toBe('stop');
    expect(parseImgbasedConfig('keep-bases = 3\npackages = skip\n').packages).toBe('skip');
    expect(() => parseImgbasedConfig('packages = ignore\n', 'X')).toThrow('X:1: packages must be stop or skip');
  });
});
