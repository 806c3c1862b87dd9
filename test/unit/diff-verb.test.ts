// `imgbase diff` as the CLI runs it (cli/diff), against the recording fake of the machine (helpers/fake-system):
// names resolved, inactive LVs activated for the read and deactivated after, both mounted read-only, the data
// volume named by the trees' fstab left out, the changes printed.
import { chmodSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { EXIT, exitCodeOf } from '../../src/core/errors';
import { TAGS } from '../../src/core/inventory';
import { MOUNT_DIR } from '../../src/core/paths';
import { useSpawner } from '../../src/adapters/exec';
import { spawnExeca } from '../../src/adapters/spawn-execa';
import { diffCommand } from '../../src/cli/diff';
import { FakeSystem } from './helpers/fake-system';
import { layoutRecords, lv, tempDirs } from './helpers/plan-fixtures';

// Mount points and the lock under temporary directories.
vi.mock('../../src/core/paths', async (importOriginal) => {
  const { mkdtempSync: mk } = await import('node:fs');
  const { tmpdir: tmp } = await import('node:os');
  const { join: joinPath } = await import('node:path');
  const run = mk(joinPath(tmp(), 'imgbased-run-'));
  return { ...(await importOriginal<typeof import('../../src/core/paths')>()), MOUNT_DIR: mk(joinPath(tmp(), 'imgbased-mnt-')), LOCK_DIR: joinPath(run, 'lock') };
});

const tmp = tempDirs();
afterEach(() => {
  useSpawner(spawnExeca);
  vi.restoreAllMocks();
});
afterAll(() => rmSync(MOUNT_DIR, { recursive: true, force: true }));

const DATA_LINE = '/dev/HostVG/data-srv-data /srv/data ext4 defaults 0 2\n';

/** Base A-1-0 and its layer A-1-0+1, both inactive; the layer changed as an admin would. */
function machine(): FakeSystem {
  const dir = tmp();
  const base = join(dir, 'base-tree');
  mkdirSync(join(base, 'etc'), { recursive: true });
  mkdirSync(join(base, 'srv/data'), { recursive: true });
  writeFileSync(join(base, 'etc/fstab'), `UUID=x / ext4 defaults 0 1\n${DATA_LINE}`);
  for (const f of ['modified', 'removed', 'chmodded', 'same']) writeFileSync(join(base, 'etc', f), `${f}\n`);
  writeFileSync(join(base, 'srv/data/old'), 'the layer\'s own copy, hidden under the data volume\n');
  const layer = join(dir, 'layer-tree');
  cpSync(base, layer, { recursive: true });
  writeFileSync(join(layer, 'etc/added'), 'new\n');
  writeFileSync(join(layer, 'etc/modified'), 'changed\n');
  rmSync(join(layer, 'etc/removed'));
  chmodSync(join(layer, 'etc/chmodded'), 0o600);
  writeFileSync(join(layer, 'srv/data/new'), 'x');
  const inactive = { active: false, skipActivation: true };
  const records = layoutRecords(['A-1-0'], ['A-1-0+1'], [lv('data-srv-data', [TAGS.data])])
    .map((r) => (r.name === 'A-1-0' || r.name === 'A-1-0+1' ? { ...r, ...inactive } : r));
  const fake = new FakeSystem({ dir, records, trees: { 'A-1-0': base, 'A-1-0+1': layer }, boot: mkdtempSync(join(tmpdir(), 'boot-')), mountRoot: MOUNT_DIR });
  useSpawner(fake.spawner);
  return fake;
}

/** diffCommand's exit status and what it printed. */
async function diff(argv: string[], json = false): Promise<{ rc: number; out: string }> {
  const chunks: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => {
    chunks.push(String(c));
    return true;
  });
  const rc = await diffCommand(argv, { json, dryRun: false, debug: false });
  vi.restoreAllMocks();
  return { rc, out: chunks.join('') };
}

describe('imgbase diff LAYER', () => {
  it('lists what the layer changed against its base; the data volume\'s path is left out; the LVs end inactive', async () => {
    const fake = machine();
    const { rc, out } = await diff(['A-1-0+1']);
    expect(rc).toBe(0);
    expect(out.split('\n')).toEqual([
      'A /etc/added',
      'M /etc/chmodded (mode 0644 -> 0600)',
      'M /etc/modified (content)',
      'D /etc/removed',
      '',
    ]);
    const cmds = fake.changes().filter((l) => /^(lvm lvchange|mount|umount)/.test(l));
    expect(cmds).toEqual([
      'lvm lvchange -ay -K HostVG/A-1-0',
      'mount -o ro /dev/HostVG/A-1-0 $MNT',
      'lvm lvchange -ay -K HostVG/A-1-0+1',
      'mount -o ro /dev/HostVG/A-1-0+1 $MNT',
      'umount $MNT',
      'lvm lvchange -an HostVG/A-1-0+1',
      'umount $MNT',
      'lvm lvchange -an HostVG/A-1-0',
    ]);
    expect(fake.records().filter((r) => r.name.startsWith('A-1-0')).map((r) => r.active)).toEqual([false, false]);
  });

  it('--json: the layer, what it is compared with, the data volume left out, the changes', async () => {
    machine();
    const { rc, out } = await diff(['A-1-0+1', '--against', 'A-1-0'], true);
    expect(rc).toBe(0);
    expect(JSON.parse(out)).toEqual({
      layer: 'A-1-0+1',
      against: 'A-1-0',
      excluded: ['/srv/data'],
      changes: [
        { path: '/etc/added', change: 'added', kind: 'file' },
        { path: '/etc/chmodded', change: 'modified', kind: 'file', mode: { from: '0644', to: '0600' } },
        { path: '/etc/modified', change: 'modified', kind: 'file', content: true },
        { path: '/etc/removed', change: 'removed', kind: 'file' },
      ],
    });
  });

  it('a base is no LAYER (exit 2); a name that is neither is not found (exit 3), with or without --against', async () => {
    machine();
    const code = (argv: string[]): Promise<number> => diffCommand(argv, { json: false, dryRun: false, debug: false }).then(() => 0, exitCodeOf);
    expect(await code(['A-1-0'])).toBe(EXIT.usage);
    expect(await code(['A-1-0+7'])).toBe(EXIT.notFound);
    expect(await code(['A-1-0+1', '--against', 'B-9-9'])).toBe(EXIT.notFound);
    expect(await code([])).toBe(EXIT.usage);
    expect(await code(['A-1-0+1', 'A-1-0'])).toBe(EXIT.usage);
  });
});
