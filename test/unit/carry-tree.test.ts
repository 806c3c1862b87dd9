// The carry outside /etc on real trees in a temp dir (adapters/carry-tree, core/update/carry, adapters/etc-tree's
// applyEtc): listed without entering what is left out, contents read only where asked, applied into the new tree.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { planCarryTrees, readPackageLists } from '../../src/adapters/carry-tree';
import { applyEtc } from '../../src/adapters/etc-tree';
import { carryScope, packageOwnedPaths } from '../../src/core/update/carry';

const top = mkdtempSync(join(tmpdir(), 'carry-tree-'));
afterAll(() => rmSync(top, { recursive: true, force: true }));

function put(root: string, files: Record<string, string | { link: string }>): void {
  for (const [p, v] of Object.entries(files)) {
    const full = join(root, p);
    mkdirSync(join(full, '..'), { recursive: true });
    if (typeof v === 'string') writeFileSync(full, v);
    else symlinkSync(v.link, full);
  }
}

const OLD = {
  'srv/index.html': 'v1 page\n',
  'srv/same-size.txt': 'aaaa\n',
  'usr/bin/tool': 'binary\n',
  'var/lib/dpkg/info/web.list': '/.\n/srv\n/srv/index.html\n',
  'var/log/syslog': 'boot\n',
  'opt/.keep': '',
};

/** old, then admin as a snapshot of it (times kept), then the admin's changes. */
function trees(name: string): { old: string; admin: string; next: string } {
  const old = join(top, name, 'old');
  put(old, OLD);
  const admin = join(top, name, 'admin');
  cpSync(old, admin, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
  const next = join(top, name, 'next');
  cpSync(old, next, { recursive: true, verbatimSymlinks: true });
  return { old, admin, next };
}

describe('planCarryTrees + applyEtc', () => {
  it('the admin\'s files land in the new tree; what is left out or a package\'s is not carried', async () => {
    const t = trees('carry');
    put(t.admin, {
      'var/lib/myapp/db': 'rows\n', 'root/.bashrc': 'alias ll=ls\n', 'usr/local/bin/mine': 'script\n',
      'usr/bin/tool': 'patched\n', 'var/log/syslog': 'boot\nmore\n', 'srv/index.html': 'admin page\n', 'opt/vendor/x': { link: '/srv/index.html' },
    });
    const scope = carryScope([], packageOwnedPaths(await readPackageLists(t.admin)));
    const p = await planCarryTrees(t, scope);
    expect(p.carried.map((c) => `${c.path} ${c.change} ${c.bytes}`)).toEqual([
      '/opt/vendor added 0', '/root added 12', '/usr/local added 7', '/var/lib/myapp added 5',
    ]);
    expect(p.bytes).toBe(24);
    expect(await applyEtc(p.merge.actions, t.admin, t.next)).toEqual([]);
    expect(readFileSync(join(t.next, 'var/lib/myapp/db'), 'utf8')).toBe('rows\n');
    expect(readFileSync(join(t.next, 'usr/local/bin/mine'), 'utf8')).toBe('script\n');
    expect(readFileSync(join(t.next, 'usr/bin/tool'), 'utf8')).toBe('binary\n');
    expect(readFileSync(join(t.next, 'srv/index.html'), 'utf8')).toBe('v1 page\n');
  });

  it('a file of the same size with another mtime is judged by its contents: unchanged ones are no change', async () => {
    const t = trees('contents');
    utimesSync(join(t.admin, 'srv/same-size.txt'), 1, 1);
    expect((await planCarryTrees(t, carryScope([], new Set()))).carried).toEqual([]);
    writeFileSync(join(t.admin, 'srv/same-size.txt'), 'bbbb\n');
    expect((await planCarryTrees(t, carryScope([], new Set()))).carried).toEqual([{ path: '/srv/same-size.txt', change: 'modified', bytes: 5 }]);
  });

  it('a hostile new image: a directory that is a symlink there is not written through', async () => {
    const t = trees('hostile');
    const outside = join(top, 'hostile', 'outside');
    mkdirSync(outside);
    rmSync(join(t.next, 'opt'), { recursive: true });
    symlinkSync(outside, join(t.next, 'opt'));
    put(t.admin, { 'opt/app/conf': 'mine\n' });
    const p = await planCarryTrees(t, carryScope([], new Set()));
    const notes = await applyEtc(p.merge.actions, t.admin, t.next);
    expect(notes.map((n) => n.path)).toContain('opt/app');
    expect(existsSync(join(outside, 'app'))).toBe(false);
  });

  it('no dpkg in the tree: no package lists', async () => {
    expect(await readPackageLists(join(top, 'nowhere'))).toEqual([]);
  });
});
