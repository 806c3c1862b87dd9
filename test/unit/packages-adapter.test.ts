// adapters/packages against a fake of the tools it runs. installDebs: the kept .debs go into the layer's store, one
// `dpkg --install --force-confold` of all of them runs in a chroot with daemons forbidden (policy-rc.d exits 101)
// and no debconf questions; what dpkg refuses fails the step (stop) or is purged and left out (skip). keepDebs:
// APT's hook fills the store.
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MOUNT_DIR } from '../../src/core/paths';
import { ImgbasedError } from '../../src/core/errors';
import { UPDATE_REPORT, parseUpdateReport } from '../../src/core/update/report';
import { useSpawner } from '../../src/adapters/exec';
import { installDebs, keepDebs } from '../../src/adapters/packages';
import { spawnExeca } from '../../src/adapters/spawn-execa';
import type { SpawnRequest } from '../../src/adapters/spawn';
import { tempDirs } from './helpers/plan-fixtures';

vi.mock('../../src/core/paths', (orig) => import('./helpers/temp-mount').then((m) => m.tempMountDir(orig)));

const tmp = tempDirs();
afterEach(() => useSpawner(spawnExeca));
afterAll(() => rmSync(MOUNT_DIR, { recursive: true, force: true }));

const ok = (stdout = '') => ({ stdout, stderr: '', exitCode: 0, notFound: false });

interface DpkgRun {
  args: string[];
  env: Record<string, string | undefined>;
  policy: string | null;
  store: string[];
}

/** The layer's tree is `layer` (mount copies it in, umount back); dpkg answers with `answer`. */
function fake(layer: string, answer: (args: string[], n: number) => { exitCode: number; stdout?: string }): DpkgRun[] {
  const runs: DpkgRun[] = [];
  let lvDir: string | null = null;
  useSpawner(async (r: SpawnRequest) => {
    switch (r.cmd) {
      case 'blkid': return ok('ext4');
      case 'mount':
        if (r.args[2]?.startsWith('/dev/HostVG/')) {
          lvDir = r.args.at(-1)!;
          cpSync(layer, lvDir, { recursive: true });
        }
        return ok();
      case 'umount':
        if (r.args[0] === lvDir) {
          rmSync(layer, { recursive: true, force: true });
          cpSync(lvDir!, layer, { recursive: true });
          for (const f of readdirSync(lvDir!)) rmSync(join(lvDir!, f), { recursive: true, force: true });
        }
        return ok();
      case 'chroot': {
        const [dir, tool, ...args] = r.args;
        expect(tool).toBe('dpkg');
        const policy = join(dir!, 'usr/sbin/policy-rc.d');
        const store = join(dir!, 'var/lib/imgbased/debs');
        runs.push({ args, env: r.env, policy: existsSync(policy) ? readFileSync(policy, 'utf8') : null, store: existsSync(store) ? readdirSync(store).sort() : [] });
        const a = answer(args, runs.length);
        return { stdout: a.stdout ?? '', stderr: '', exitCode: a.exitCode, notFound: false };
      }
      default: throw new Error(`unexpected ${r.cmd}`);
    }
  });
  return runs;
}

function setup(): { layer: string; debs: string[] } {
  const host = tmp();
  const layer = tmp();
  mkdirSync(join(layer, 'usr/sbin'), { recursive: true });
  writeFileSync(join(layer, 'usr/sbin/policy-rc.d'), '#!/bin/sh\nexit 0\n');
  mkdirSync(join(layer, 'var/lib/imgbased'), { recursive: true });
  writeFileSync(join(layer, UPDATE_REPORT), JSON.stringify({
    layer: 'C-3-0+1', carried: [], conflicts: [],
    packages: { install: [{ name: 'htop', version: '3.2.2-2', arch: 'amd64', source: 'kept' }, { name: 'agent', version: '1.0', arch: 'all', source: 'kept' }], inImage: [], removed: [], refused: [] },
  }));
  const debs = ['htop_3.2.2-2_amd64.deb', 'agent_1.0_all.deb'].map((f) => {
    writeFileSync(join(host, f), `deb ${f}`);
    return join(host, f);
  });
  return { layer, debs };
}

const STORE = '/var/lib/imgbased/debs';
const REFUSED = 'dpkg: error processing archive /var/lib/imgbased/debs/agent_1.0_all.deb (--install):\n conflicting packages - not installing agent\nErrors were encountered while processing:\n /var/lib/imgbased/debs/agent_1.0_all.deb\n';
const step = (debs: string[], policy: 'stop' | 'skip') => ({ kind: 'install-debs' as const, vg: 'HostVG', lv: 'C-3-0+1', debs, rebuild: [], policy });

describe('installDebs', () => {
  it('one dpkg run of all the .debs, in the store, daemons forbidden; the image\'s own policy-rc.d back after', async () => {
    const { layer, debs } = setup();
    const runs = fake(layer, () => ({ exitCode: 0 }));
    await installDebs(step(debs, 'stop'));
    expect(runs).toHaveLength(1);
    expect(runs[0]!.args).toEqual(['--install', '--force-confold', `${STORE}/htop_3.2.2-2_amd64.deb`, `${STORE}/agent_1.0_all.deb`]);
    expect(runs[0]!.env).toMatchObject({ DEBIAN_FRONTEND: 'noninteractive', LC_ALL: 'C' });
    expect(runs[0]!.policy).toMatch(/^exit 101$/m);
    expect(runs[0]!.store).toEqual(['agent_1.0_all.deb', 'htop_3.2.2-2_amd64.deb']);
    expect(readFileSync(join(layer, 'usr/sbin/policy-rc.d'), 'utf8')).toBe('#!/bin/sh\nexit 0\n');
    // The store stays: the layer's next update re-installs from it.
    expect(readdirSync(join(layer, STORE)).sort()).toEqual(['agent_1.0_all.deb', 'htop_3.2.2-2_amd64.deb']);
  });

  it('stop: the package dpkg refused named, the step failed', async () => {
    const { layer, debs } = setup();
    const runs = fake(layer, () => ({ exitCode: 1, stdout: REFUSED }));
    const e = await installDebs(step(debs, 'stop')).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ImgbasedError);
    expect((e as Error).message).toBe('update: dpkg in the new layer refused package(s) agent; nothing changed');
    expect(runs).toHaveLength(1);
    expect(readFileSync(join(layer, 'usr/sbin/policy-rc.d'), 'utf8')).toBe('#!/bin/sh\nexit 0\n');
  });

  it('skip: the refused one purged and left out, the rest installed again, the record says so', async () => {
    const { layer, debs } = setup();
    const runs = fake(layer, (_args, n) => ({ exitCode: n === 1 ? 1 : 0, stdout: n === 1 ? REFUSED : '' }));
    const notes: string[] = [];
    await installDebs(step(debs, 'skip'), (l) => notes.push(l));
    expect(runs.map((r) => r.args)).toEqual([
      ['--install', '--force-confold', `${STORE}/htop_3.2.2-2_amd64.deb`, `${STORE}/agent_1.0_all.deb`],
      ['--purge', '--force-depends', 'agent'],
      ['--install', '--force-confold', `${STORE}/htop_3.2.2-2_amd64.deb`],
    ]);
    expect(notes).toEqual(['package agent: refused by dpkg in the new layer, skipped']);
    const report = parseUpdateReport(readFileSync(join(layer, UPDATE_REPORT), 'utf8'))!;
    expect(report.packages!.install.map((p) => p.name)).toEqual(['htop']);
    expect(report.packages!.refused).toEqual([{ name: 'agent', version: '1.0', arch: 'all', why: 'refused by dpkg in the new layer' }]);
    expect(readdirSync(join(layer, STORE))).toEqual(['htop_3.2.2-2_amd64.deb']);
  });

  it('a store that is a symlink out of the layer is refused before anything is copied', async () => {
    const { layer, debs } = setup();
    const outside = tmp();
    rmSync(join(layer, 'var/lib/imgbased'), { recursive: true });
    mkdirSync(join(layer, 'var/lib/imgbased'));
    const { symlinkSync } = await import('node:fs');
    symlinkSync(outside, join(layer, 'var/lib/imgbased/debs'));
    fake(layer, () => ({ exitCode: 0 }));
    await expect(installDebs(step(debs, 'stop'))).rejects.toThrow(/is a symlink/);
    expect(readdirSync(outside)).toEqual([]);
  });
});

describe('keepDebs (APT\'s hook)', () => {
  it('each .deb named as dpkg-deb reads it, an older version of the same package and architecture removed', async () => {
    const apt = tmp();
    const store = join(tmp(), 'debs');
    const fields: Record<string, string> = { 'htop.deb': 'htop\t3.2.2-2\tamd64', 'agent.deb': 'agent\t1:2.0\tall' };
    useSpawner(async (r: SpawnRequest) => {
      expect(r.cmd).toBe('dpkg-deb');
      return ok(`${fields[r.args.at(-1)!.split('/').pop()!]}\n`);
    });
    mkdirSync(store);
    writeFileSync(join(store, 'htop_3.0.5-7_amd64.deb'), 'old');
    writeFileSync(join(store, 'htop_3.0.5-7_i386.deb'), 'other architecture');
    for (const f of Object.keys(fields)) writeFileSync(join(apt, f), f);
    const kept = await keepDebs([join(apt, 'htop.deb'), join(apt, 'agent.deb'), 'not-a-deb'], store);
    expect(kept).toEqual(['htop_3.2.2-2_amd64.deb', 'agent_1%3a2.0_all.deb']);
    expect(readdirSync(store).sort()).toEqual(['agent_1%3a2.0_all.deb', 'htop_3.0.5-7_i386.deb', 'htop_3.2.2-2_amd64.deb']);
    expect(readFileSync(join(store, 'htop_3.2.2-2_amd64.deb'), 'utf8')).toBe('htop.deb');
  });
});
