// `imgbase motd` as the login script runs it (cli/motd): what it reads (this boot's records in /run, lvs through the
// fake machine, grubenv and the entries on a temporary /boot), what it prints, and that nothing makes it fail.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { renderBootStatus } from '../../src/core/boot-status';
import { BOOT_STATUS_PATH, DEFAULT_BOOT_DIR, HEALTH_PATH } from '../../src/core/paths';
import { useSpawner } from '../../src/adapters/exec';
import { spawnExeca } from '../../src/adapters/spawn-execa';
import { motdCommand } from '../../src/cli/motd';
import { FakeSystem } from './helpers/fake-system';
import { layoutRecords, tempDirs } from './helpers/plan-fixtures';

// This boot's records and /boot under one temporary directory.
vi.mock('../../src/core/paths', async (importOriginal) => {
  const { mkdtempSync: mk } = await import('node:fs');
  const { tmpdir: tmp } = await import('node:os');
  const { join: joinPath } = await import('node:path');
  const top = mk(joinPath(tmp(), 'imgbased-motd-'));
  return {
    ...(await importOriginal<typeof import('../../src/core/paths')>()),
    BOOT_STATUS_PATH: joinPath(top, 'run/boot-status.json'), HEALTH_PATH: joinPath(top, 'run/health.json'), DEFAULT_BOOT_DIR: joinPath(top, 'boot'),
  };
});

const tmp = tempDirs();
afterEach(() => {
  useSpawner(spawnExeca);
  vi.restoreAllMocks();
  rmSync(dirname(BOOT_STATUS_PATH), { recursive: true, force: true });
});
afterAll(() => rmSync(dirname(DEFAULT_BOOT_DIR), { recursive: true, force: true }));

const OLD = 'A-1-0+1';
const NEW = 'B-1-0+1';

async function motd(json = false): Promise<{ rc: number; out: string }> {
  const out: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(`${a.join(' ')}\n`));
  vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => {
    out.push(String(c));
    return true;
  });
  const rc = await motdCommand([], { json, dryRun: false, debug: false });
  vi.restoreAllMocks();
  return { rc, out: out.join('') };
}

function machine(pool = 10): void {
  const records = layoutRecords(['A-1-0', 'B-1-0'], [OLD, NEW]).map((r) => (r.name === 'pool' ? { ...r, dataPercent: pool } : r));
  useSpawner(new FakeSystem({ dir: tmp(), records, trees: {}, boot: tmp() }).spawner);
  mkdirSync(dirname(BOOT_STATUS_PATH), { recursive: true });
}

describe('imgbase motd', () => {
  it('all well: prints nothing', async () => {
    machine();
    writeFileSync(BOOT_STATUS_PATH, renderBootStatus({ requested: null, booted: NEW, reason: 'latest', fallbacks: [], time: 't' }));
    expect(await motd()).toEqual({ rc: 0, out: '' });
  });

  it('a fallback at the initramfs and the pool over the threshold: a line each; --json: the facts', async () => {
    machine(85);
    writeFileSync(BOOT_STATUS_PATH, renderBootStatus({ requested: NEW, booted: OLD, reason: `requested layer ${NEW} unusable`, fallbacks: [{ layer: NEW, why: 'no filesystem found' }], time: 't' }));
    writeFileSync(HEALTH_PATH, 'not json');
    const { rc, out } = await motd();
    expect(rc).toBe(0);
    expect(out.split('\n')).toEqual([
      expect.stringMatching(new RegExp(`^imgbased: this boot fell back from layer \\S+: no filesystem found; running .*; see 'imgbase boot --status'$`)),
      "imgbased: thin pool data 85.00 % used (threshold 80 %); see 'imgbase check'",
      '',
    ]);
    const facts = JSON.parse((await motd(true)).out) as Record<string, unknown>;
    expect(facts).toMatchObject({ fallback: { from: NEW, why: 'no filesystem found' }, pool: ['thin pool data 85.00 % used (threshold 80 %)'], degraded: [] });
  });

  it('LVM cannot be read (not root, lvm missing): nothing, exit 0', async () => {
    useSpawner(async () => ({ stdout: '', stderr: 'lvm: permission denied', exitCode: 5, notFound: false }));
    expect(await motd()).toEqual({ rc: 0, out: '' });
    useSpawner(async () => {
      throw new Error('boom');
    });
    expect(await motd(true)).toEqual({ rc: 0, out: '' });
  });
});
