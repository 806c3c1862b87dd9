// core/dpkg: Debian version order (deb-version(7), as `dpkg --compare-versions` decides), the status file's
// stanzas, the control file a package is rebuilt with, its relations against a package set, and dpkg's refusals.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkInstallable, parseRelations, refusedByDpkg } from '../../src/core/dpkg/relations';
import { conffilesOf, debFileName, installedPackages, parseDebFileName, parseStanzas, renderControl, type Package } from '../../src/core/dpkg/status';
import { compareVersions, satisfiesVersion } from '../../src/core/dpkg/version';

const fixture = (name: string): string => readFileSync(join(__dirname, 'fixtures', 'dpkg', name), 'utf8');
const sign = (n: number): number => Math.sign(n);

describe('compareVersions', () => {
  it.each([
    ['1.0', '1.0', 0],
    ['1.0', '1.0-0', 0],
    ['1.0-1', '1.0-2', -1],
    ['1.10', '1.9', 1],
    ['1.0~rc1', '1.0', -1],
    ['1.0~~', '1.0~', -1],
    ['1.0~', '1.0', -1],
    ['1.0', '1.0a', -1],
    ['1.0a', '1.0+', -1],
    ['1.0+deb12u1', '1.0', 1],
    ['1:0.1', '9.9', 1],
    ['0:1.0', '1.0', 0],
    ['2.36-9+deb12u4', '2.36-9+deb12u7', -1],
    ['1.001', '1.1', 0],
    ['1.0-1ubuntu1', '1.0-1', 1],
    ['7.2-1', '7.2-1.1', -1],
    ['3.2.2-2', '3.2.2-2~bpo12+1', 1],
  ])('%s against %s: %i', (a, b, want) => {
    expect(sign(compareVersions(a, b))).toBe(want);
    expect(sign(compareVersions(b, a))).toBe(want === 0 ? 0 : -want);
  });

  it('relation operators, the old < and > meaning <= and >=', () => {
    expect([satisfiesVersion('1.0', '<<', '1.0'), satisfiesVersion('1.0', '<=', '1.0'), satisfiesVersion('1.0', '<', '1.0')]).toEqual([false, true, true]);
    expect([satisfiesVersion('1.1', '>>', '1.0'), satisfiesVersion('1.0', '>', '1.0'), satisfiesVersion('1.0', '=', '1.0-0')]).toEqual([true, true, true]);
  });
});

describe('the status file', () => {
  it('stanzas, continuation lines kept, only installed packages by name:arch', () => {
    const stanzas = parseStanzas(fixture('status-here'));
    expect(stanzas).toHaveLength(7);
    const pkgs = installedPackages(fixture('status-here'));
    expect([...pkgs.keys()]).toEqual(['base-files:amd64', 'libncursesw6:amd64', 'libc6:amd64', 'htop:amd64', 'libtinfo6:amd64', 'vendor-agent:all']);
    expect(pkgs.get('vendor-agent:all')!.version).toBe('1:2.0~rc1-1');
    // A status file with CRLF-free but trailing blank lines, or none at all.
    expect(installedPackages('').size).toBe(0);
  });

  it('the control file of a rebuild: Package first, database-only fields gone, descriptions as they were', () => {
    const htop = installedPackages(fixture('status-here')).get('htop:amd64')!;
    const control = renderControl(htop.stanza);
    expect(control.split('\n')[0]).toBe('Package: htop');
    expect(control).not.toMatch(/^(Status|Conffiles):/m);
    expect(control).toContain('Description: interactive processes viewer\n Htop is an ncursed-based process viewer similar to top, but it\n .\n allows one');
    expect(control.endsWith('Homepage: https://htop.dev/\n')).toBe(true);
    expect(parseStanzas(control)).toHaveLength(1);
    expect(conffilesOf(htop.stanza)).toEqual(['/etc/htoprc']);
  });

  it('.deb file names: the epoch colon escaped, parsed back', () => {
    const p = { name: 'vendor-agent', version: '1:2.0~rc1-1', arch: 'all' };
    expect(debFileName(p)).toBe('vendor-agent_1%3a2.0~rc1-1_all.deb');
    expect(parseDebFileName(debFileName(p))).toEqual(p);
    expect(parseDebFileName('../x.deb')).toBeNull();
  });
});

const pkg = (name: string, version: string, fields: Record<string, string> = {}): Package => ({
  name, version, arch: 'amd64', key: `${name}:amd64`, stanza: [['Package', name], ['Version', version], ...Object.entries(fields)],
});
const set = (...ps: Package[]): Map<string, Package> => new Map(ps.map((p) => [p.key, p]));

describe('relations', () => {
  it('alternatives, versions, architecture qualifiers and restrictions', () => {
    expect(parseRelations('a (>= 1.0) | b:any, c [amd64], d (<<2)')).toEqual([
      [{ name: 'a', op: '>=', version: '1.0' }, { name: 'b' }], [{ name: 'c' }], [{ name: 'd', op: '<<', version: '2' }],
    ]);
    expect(parseRelations(undefined)).toEqual([]);
  });

  it('dependencies met by the image, by each other, by a provided version; a missing one refuses its dependents too', () => {
    const image = set(pkg('libc6', '2.36-9'), pkg('libfoo1', '1.0', { Provides: 'libfoo-abi (= 1)' }));
    const app = pkg('app', '1.0', { Depends: 'libc6 (>= 2.34), libbar (>= 2) | libfoo-abi (= 1)' });
    const tool = pkg('tool', '1.0', { 'Pre-Depends': 'app' });
    expect(checkInstallable(image, [app, tool])).toEqual({ ok: [app, tool], refused: [] });
    const needsNew = pkg('app', '1.0', { Depends: 'libc6 (>= 2.40)' });
    const r = checkInstallable(image, [needsNew, tool]);
    expect(r.ok).toEqual([]);
    expect(r.refused.map((x) => [x.pkg.name, x.why])).toEqual([
      ['app', 'it depends on libc6 (>= 2.40), which the new image lacks'],
      ['tool', 'it depends on app, which the new image lacks'],
    ]);
  });

  it('conflicts and breaks either way; a package replacing the image\'s own of that name is no conflict', () => {
    const image = set(pkg('nano', '7.2-1'), pkg('old', '1.0', { Breaks: 'agent (<< 2)' }));
    expect(checkInstallable(image, [pkg('agent', '1.0', { Conflicts: 'nano' })]).refused[0]!.why).toBe('it conflicts with nano 7.2-1');
    expect(checkInstallable(image, [pkg('agent', '1.5')]).refused[0]!.why).toBe('old 1.0 breaks it');
    expect(checkInstallable(image, [pkg('agent', '2.0')]).refused).toEqual([]);
    expect(checkInstallable(image, [pkg('nano', '8.0', { Conflicts: 'nano (<< 8)' })]).refused).toEqual([]);
  });

  it("dpkg's refusals: the packages and .deb paths after 'Errors were encountered'", () => {
    const out = [
      'dpkg: regarding /var/lib/imgbased/debs/agent_1.0_amd64.deb containing agent:',
      ' agent conflicts with nano',
      'dpkg: error processing archive /var/lib/imgbased/debs/agent_1.0_amd64.deb (--install):',
      ' conflicting packages - not installing agent',
      'dpkg: dependency problems prevent configuration of tool:',
      'Errors were encountered while processing:',
      ' /var/lib/imgbased/debs/agent_1.0_amd64.deb',
      ' tool:amd64',
      '',
    ].join('\n');
    expect(refusedByDpkg(out, new Map([['/var/lib/imgbased/debs/agent_1.0_amd64.deb', 'agent']]))).toEqual(['agent', 'tool']);
    expect(refusedByDpkg('dpkg: error: out of space', new Map())).toEqual([]);
  });
});
