// Data volumes: which paths may be one, the LV name, fstab lines, the listing, and data --add's plan (its LV complete
// before fstab names it; a leftover of an interrupted run removed first; refusals before any step).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_DATA_PATHS, dataLvName, dataVolumes, fstabEntries, fstabLine, requestedDataPaths, validateDataLvName, validateDataPath, withFstabLine, withoutTaken } from '../../src/core/data';
import { ImgbasedError, UsageError } from '../../src/core/errors';
import { buildInventory, TAGS } from '../../src/core/inventory';
import type { PlanInput } from '../../src/core/plans/compose';
import { planDataAdd, type DataAddRequest } from '../../src/core/plans/data';
import { describeStep, undoClass } from '../../src/core/steps';
import { STUB_CFG, kernelsOf, layoutRecords, lv, makeBoot, planInput, syncBoot, tempDirs } from './helpers/plan-fixtures';
import { join } from 'node:path';
import { parseFault } from '../../src/adapters/fault';

describe('validateDataPath', () => {
  it.each(['/home', '/srv/data', '/var/lib/libvirt', '/var/log', '/root', '/var/lib/my_app-2.0'])('%s may be a data volume', (p) => {
    expect(validateDataPath(p)).toBeNull();
  });
  it.each([
    ['home', /not an absolute path/],
    ['/', /the layer itself/],
    ['/home/', /plain path/],
    ['//home', /plain path/],
    ['/home/../etc', /no \. or \.\. components/],
    ['/srv/a b', /plain path/],
    ['/var', /package database .*\/var\/lib\/libvirt/],
    ['/var/lib', /package database/],
    ['/etc', /belongs to the image/],
    ['/usr/local', /inside \/usr/],
    ['/var/lib/dpkg', /belongs to the image/],
    ['/var/lib/dpkg/info', /inside \/var\/lib\/dpkg/],
    ['/boot', /belongs to the image/],
    ['/proc/x', /inside \/proc/],
  ])('%s is refused', (p, why) => {
    expect(validateDataPath(p)).toMatch(why);
  });
});

describe('requestedDataPaths', () => {
  it('the default set, then extra paths once each; --no-data leaves only the extra ones', () => {
    expect(requestedDataPaths({ none: false, extra: [] }).map((d) => d.path)).toEqual([...DEFAULT_DATA_PATHS]);
    expect(requestedDataPaths({ none: false, extra: ['/srv/x', '/home', '/srv/x'] })).toEqual([
      { path: '/home', byDefault: false }, { path: '/var/log', byDefault: true }, { path: '/var/crash', byDefault: true }, { path: '/srv/x', byDefault: false },
    ]);
    expect(requestedDataPaths({ none: true, extra: ['/srv/x'] })).toEqual([{ path: '/srv/x', byDefault: false }]);
    expect(requestedDataPaths({ none: true, extra: [] })).toEqual([]);
    for (const p of DEFAULT_DATA_PATHS) expect(validateDataPath(p)).toBeNull();
  });
  it('a default path something else mounts is left to it; one asked for by name is kept (its check refuses it)', () => {
    const wanted = requestedDataPaths({ none: false, extra: ['/srv/x', '/var/crash'] });
    expect(withoutTaken(wanted, new Set(['/home', '/var/crash', '/srv/x']))).toEqual({ make: ['/var/log', '/var/crash', '/srv/x'], leftOut: ['/home'] });
    expect(withoutTaken(wanted, new Set())).toEqual({ make: ['/home', '/var/log', '/var/crash', '/srv/x'], leftOut: [] });
  });
});

describe('names and fstab', () => {
  it('the LV is named after the path', () => {
    expect(dataLvName('/home')).toBe('data-home');
    expect(dataLvName('/var/lib/libvirt')).toBe('data-var-lib-libvirt');
    expect(validateDataLvName('data-home')).toBeNull();
    expect(validateDataLvName('-x')).toMatch(/not a valid LV name/);
    expect(validateDataLvName('a+1')).toMatch(/kept for layer names/);
    expect(validateDataLvName('x'.repeat(101))).toMatch(/longer than 100/);
  });
  it('the line, appended after a missing final newline; entries skip comments', () => {
    const line = fstabLine('/dev/HostVG/data-home', '/home', 'ext4');
    expect(line).toBe('/dev/HostVG/data-home /home ext4 defaults 0 2');
    expect(withFstabLine('# a\n/dev/x / ext4 defaults 0 1', line)).toBe(`# a\n/dev/x / ext4 defaults 0 1\n${line}\n`);
    expect(withFstabLine('', line)).toBe(`${line}\n`);
    expect(fstabEntries('# /dev/y /home ext4\n\n /dev/x\t/ ext4 defaults 0 1\n')).toEqual([{ device: '/dev/x', path: '/' }]);
  });
  it('the listing: tagged LVs of the VG with their fstab mount point, by either device name', () => {
    const recs = [
      lv('data-home', [TAGS.data]), lv('data-var-lib-app', [TAGS.data]), lv('data-half', [TAGS.data, TAGS.incomplete]), lv('other', []),
    ];
    const fstab = '/dev/HostVG/data-home /home ext4 defaults 0 2\n/dev/mapper/HostVG-data--var--lib--app /var/lib/app xfs defaults 0 2\n';
    expect(dataVolumes(recs, 'HostVG', fstab)).toEqual([
      { lv: 'data-home', sizeBytes: 2 ** 30, path: '/home' },
      { lv: 'data-var-lib-app', sizeBytes: 2 ** 30, path: '/var/lib/app' },
    ]);
    expect(dataVolumes(recs, 'HostVG', '')[0]!.path).toBeNull();
  });
});

const tmp = tempDirs(afterAll);
let host: PlanInput;
beforeAll(async () => {
  const dir = tmp();
  const boot = makeBoot(dir, { cfg: STUB_CFG, env: {} });
  const recs = layoutRecords(['A-1-0'], ['A-1-0+1']);
  const kernels = await kernelsOf(join(dir, 'trees'), ['A-1-0']);
  await syncBoot(boot.boot, recs, kernels, { grubDDir: boot.grubDDir });
  host = await planInput(boot.boot, recs, kernels, { grubDDir: boot.grubDDir });
});

const REQ: DataAddRequest = {
  path: '/home', sizeBytes: 4 * 2 ** 30, fsType: 'ext4', current: { usedBytes: 5 * 2 ** 20 }, mountedFrom: null,
  fstab: { file: '/etc/fstab', text: '/dev/HostVG/A-1-0+1 / ext4 defaults 0 1\n' },
};
const withRecords = (more: ReturnType<typeof lv>[]): PlanInput => {
  const recs = [...host.records, ...more];
  return { ...host, records: recs, inv: buildInventory(recs) };
};

describe('planDataAdd', () => {
  it('LV (auto-activated, incomplete), filesystem, contents; complete; then fstab and mount — nothing on /boot', () => {
    const { steps, lv: name } = planDataAdd(host, REQ);
    expect(name).toBe('data-home');
    expect(steps.map(describeStep)).toEqual([
      `create thin LV HostVG/data-home (${4 * 2 ** 30} bytes) in pool pool [imgbased:data,imgbased:incomplete]`,
      'activate HostVG/data-home',
      'make an ext4 filesystem on HostVG/data-home',
      'copy what is in /home into HostVG/data-home',
      'remove tag imgbased:incomplete from HostVG/data-home',
      'add "/dev/HostVG/data-home /home ext4 defaults 0 2" to /etc/fstab',
      'mount HostVG/data-home on /home',
    ]);
    expect(steps[0]).toMatchObject({ kind: 'thin-lv', autoActivate: true });
    expect(steps.map(undoClass)).toEqual(['undo', 'undo', 'inside', 'inside', 'undo', 'undo', 'undo']);
  });

  it('a path that does not exist yet: no copy; --name; xfs', () => {
    const { steps } = planDataAdd(host, { ...REQ, path: '/srv/data', name: 'srv', fsType: 'xfs', current: null });
    expect(steps.map((s) => s.kind)).toEqual(['thin-lv', 'activate', 'mkfs', 'lv-untag', 'fstab-add', 'mount']);
    expect(steps[2]).toMatchObject({ lv: 'srv', fsType: 'xfs' });
  });

  it('an interrupted earlier run (the LV still incomplete) is removed first, then made again', () => {
    const { steps } = planDataAdd(withRecords([lv('data-home', [TAGS.data, TAGS.incomplete])]), REQ);
    expect(steps.slice(0, 2).map(describeStep)).toEqual(['remove HostVG/data-home', expect.stringMatching(/^create thin LV HostVG\/data-home/)]);
  });

  it('cut after the volume was complete, before fstab named it: run again, it only adds the line and mounts', () => {
    const plan = planDataAdd(withRecords([lv('data-home', [TAGS.data])]), REQ);
    expect(plan.steps.map((s) => s.kind)).toEqual(['fstab-add', 'mount']);
    expect(plan.notes.join('\n')).toMatch(/an interrupted data --add/);
  });

  it('refusals, before any step', () => {
    expect(() => planDataAdd(host, { ...REQ, path: '/var' })).toThrow(UsageError);
    expect(() => planDataAdd(withRecords([lv('data-home', [])]), REQ)).toThrow(/an LV named HostVG\/data-home already exists/);
    const named = { file: '/etc/fstab', text: '/dev/HostVG/data-home /srv/other ext4 defaults 0 2\n' };
    expect(() => planDataAdd(withRecords([lv('data-home', [TAGS.data])]), { ...REQ, fstab: named })).toThrow(/already exists/);
    expect(() => planDataAdd(host, { ...REQ, mountedFrom: '/dev/vdb1' })).toThrow(/already a mount point \(of \/dev\/vdb1\)/);
    expect(() => planDataAdd(host, { ...REQ, fstab: { file: '/etc/fstab', text: '/dev/vdb1 /home ext4 defaults 0 2\n' } }))
      .toThrow(/already mounts \/dev\/vdb1 on \/home/);
    expect(() => planDataAdd(host, { ...REQ, fsType: 'btrfs' })).toThrow(/cannot make a btrfs filesystem/);
    expect(() => planDataAdd(host, { ...REQ, current: { usedBytes: 200 * 2 ** 30 } })).toThrow(ImgbasedError);
    expect(() => planDataAdd(host, { ...REQ, name: 'bad/name' })).toThrow(/not a valid LV name/);
  });
});

describe('applying fstab-add (the real step, on a temp file)', () => {
  it('appends the line; a later failure puts the file back byte for byte, or removes a file that was not there', async () => {
    const { applyPlan } = await import('../../src/adapters/apply');
    const { readFile, writeFile } = await import('node:fs/promises');
    const { existsSync } = await import('node:fs');
    const dir = tmp();
    const file = join(dir, 'fstab');
    const before = '# static\n/dev/x / ext4 defaults 0 1';
    await writeFile(file, before);
    const line = fstabLine('/dev/HostVG/data-home', '/home', 'ext4');
    const add = { kind: 'fstab-add' as const, file, line, previous: before };
    await applyPlan([add]);
    expect(await readFile(file, 'utf8')).toBe(`${before}\n${line}\n`);
    await writeFile(file, before);
    const fault = parseFault('fail@2');
    await expect(applyPlan([add, { ...add, line: 'second' }], { fault })).rejects.toThrow(/injected fault at step 2/);
    expect(await readFile(file, 'utf8')).toBe(before);
    const fresh = join(dir, 'none');
    await expect(applyPlan([{ ...add, file: fresh, previous: null }, add], { fault })).rejects.toThrow(/injected fault/);
    expect(existsSync(fresh)).toBe(false);
  });
});
