// The /etc tree adapter (adapters/etc-tree) on real directories in a temp dir: listed, merged (core), applied.
import { mkdtempSync, mkdirSync, writeFileSync, symlinkSync, readFileSync, existsSync, lstatSync, readlinkSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { applyEtc, listEtc } from '../../src/adapters/etc-tree';
import { mergeEtc } from '../../src/core/update/etc-merge';

const top = mkdtempSync(join(tmpdir(), 'etc-tree-'));
afterAll(() => rmSync(top, { recursive: true, force: true }));

function make(name: string, files: Record<string, string | { link: string } | { dir: true; mode?: number }>): string {
  const root = join(top, name);
  mkdirSync(root, { recursive: true });
  for (const [p, v] of Object.entries(files)) {
    const full = join(root, p);
    mkdirSync(join(full, '..'), { recursive: true });
    if (typeof v === 'string') writeFileSync(full, v);
    else if ('link' in v) symlinkSync(v.link, full);
    else {
      mkdirSync(full, { recursive: true });
      if (v.mode !== undefined) chmodSync(full, v.mode);
    }
  }
  return root;
}

const V1 = {
  hostname: 'v1-host\n',
  motd: 'welcome v1\n',
  'ssh/sshd_config': 'v1 sshd\n',
  'systemd/system/multi-user.target.wants/cron.service': { link: '/lib/systemd/system/cron.service' },
};

describe('listEtc + mergeEtc + applyEtc', () => {
  it('lists kinds, modes, digests and link targets; symlinks are not followed', async () => {
    const root = make('list', { ...V1, 'private': { dir: true, mode: 0o700 } });
    const l = await listEtc(root);
    expect([...l.keys()]).toEqual(['hostname', 'motd', 'private', 'ssh', 'ssh/sshd_config', 'systemd', 'systemd/system', 'systemd/system/multi-user.target.wants', 'systemd/system/multi-user.target.wants/cron.service']);
    expect(l.get('private')).toMatchObject({ kind: 'dir', mode: 0o700 });
    expect(l.get('systemd/system/multi-user.target.wants/cron.service')).toMatchObject({ kind: 'symlink', content: '/lib/systemd/system/cron.service' });
    expect(l.get('hostname')!.content).toMatch(/^[0-9a-f]{64}$/);
    expect(l.get('hostname')!.content).not.toBe(l.get('motd')!.content);
  });

  it('the admin\'s changes land in the new tree; the conflict\'s new version is beside it as .imgnew', async () => {
    const old = make('old', V1);
    const admin = make('admin', {
      ...V1, hostname: 'my-host\n', 'ssh/sshd_config': 'admin sshd\n', 'app/app.conf': 'mine\n',
      'systemd/system/apt-daily.timer': { link: '/dev/null' },
    });
    rmSync(join(admin, 'motd'));
    rmSync(join(admin, 'systemd/system/multi-user.target.wants/cron.service'));
    const next = make('next', { ...V1, 'ssh/sshd_config': 'v2 sshd\n', 'new-in-v2': 'v2\n' });
    const m = mergeEtc(await listEtc(old), await listEtc(admin), await listEtc(next));
    const notes = await applyEtc(m.actions, admin, next);
    expect(notes).toEqual([]);
    expect(readFileSync(join(next, 'hostname'), 'utf8')).toBe('my-host\n');
    expect(existsSync(join(next, 'motd'))).toBe(false);
    expect(readFileSync(join(next, 'ssh/sshd_config'), 'utf8')).toBe('admin sshd\n');
    expect(readFileSync(join(next, 'ssh/sshd_config.imgnew'), 'utf8')).toBe('v2 sshd\n');
    expect(readFileSync(join(next, 'app/app.conf'), 'utf8')).toBe('mine\n');
    expect(readlinkSync(join(next, 'systemd/system/apt-daily.timer'))).toBe('/dev/null');
    expect(existsSync(join(next, 'systemd/system/multi-user.target.wants/cron.service'))).toBe(false);
    expect(readFileSync(join(next, 'new-in-v2'), 'utf8')).toBe('v2\n');
    expect(m.conflicts.map((c) => c.path)).toEqual(['ssh/sshd_config']);
    // Merged again on the result: nothing more to carry from the admin's side.
    const again = mergeEtc(await listEtc(admin), await listEtc(admin), await listEtc(next));
    expect(again.actions).toEqual([]);
  });

  it('a file taken over a symlink replaces the link, never writes through it (an absolute link leaves the tree)', async () => {
    const outside = make('outside', { victim: 'untouched\n' });
    const old = make('old3', { 'x.conf': 'v1\n' });
    const admin = make('admin3', { 'x.conf': 'mine\n' });
    const next = make('next3', { 'x.conf': { link: join(outside, 'victim') } });
    const m = mergeEtc(await listEtc(old), await listEtc(admin), await listEtc(next));
    await applyEtc(m.actions, admin, next);
    expect(readFileSync(join(outside, 'victim'), 'utf8')).toBe('untouched\n');
    expect(lstatSync(join(next, 'x.conf')).isFile()).toBe(true);
    expect(readFileSync(join(next, 'x.conf'), 'utf8')).toBe('mine\n');
    expect(readlinkSync(join(next, 'x.conf.imgnew'))).toBe(join(outside, 'victim'));
  });

  it('nothing is written or removed through a directory the new image made a symlink', async () => {
    const outside = make('outside2', { 'a.conf': 'keep\n', 'b.conf': 'keep\n' });
    const old = make('old4', { 'd/a.conf': 'v1\n', 'd/b.conf': 'v1\n' });
    const admin = make('admin4', { 'd/a.conf': 'mine\n' });
    const next = make('next4', { d: { link: outside } });
    const m = mergeEtc(await listEtc(old), await listEtc(admin), await listEtc(next));
    const notes = await applyEtc(m.actions, admin, next);
    // d/a.conf changed here, and gone from the new image (d is a link there): the one action, skipped.
    expect(m.actions).toEqual([{ kind: 'take-admin', path: 'd/a.conf', why: 'modified' }]);
    expect(notes).toEqual([{ path: 'd/a.conf', note: 'not carried: a directory above it is a symlink or a file in the new image' }]);
    expect(readFileSync(join(outside, 'a.conf'), 'utf8')).toBe('keep\n');
    expect(readFileSync(join(outside, 'b.conf'), 'utf8')).toBe('keep\n');
  });

  it('a directory removed here that the new image filled is kept and noted; a file turned directory is taken whole', async () => {
    const old = make('old2', { 'd/x': 'x\n', f: 'file\n' });
    const admin = make('admin2', { 'f/part': 'part\n' });
    const next = make('next2', { 'd/x': 'x\n', 'd/new': 'new\n', f: 'file v2\n' });
    const m = mergeEtc(await listEtc(old), await listEtc(admin), await listEtc(next));
    const notes = await applyEtc(m.actions, admin, next);
    expect(notes).toEqual([{ path: 'd', note: 'removed here, but the new image has files in it: kept' }]);
    expect(existsSync(join(next, 'd/x'))).toBe(false);
    expect(lstatSync(join(next, 'f')).isDirectory()).toBe(true);
    expect(readFileSync(join(next, 'f/part'), 'utf8')).toBe('part\n');
    expect(readFileSync(join(next, 'f.imgnew'), 'utf8')).toBe('file v2\n');
  });
});
