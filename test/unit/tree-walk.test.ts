// The tree walker of imgbase diff (adapters/tree-walk) on real directories in a temp dir, then two trees compared
// end to end with core/diff. Runs as root in CI (chown), like the /etc tree tests.
import { chmodSync, chownSync, cpSync, lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compareListings, finishComparison, renderChanges } from '../../src/core/diff';
import { differingContents, displayName, nodeWalkFs, walkKey, walkTree, type WalkFs } from '../../src/adapters/tree-walk';

const top = mkdtempSync(join(tmpdir(), 'tree-walk-'));
afterAll(() => rmSync(top, { recursive: true, force: true }));

const OLD = new Date('2020-01-01T00:00:00Z');

/** A small system tree: files, a directory, symlinks (one to /), all dated OLD. */
function makeTree(name: string): string {
  const root = join(top, name);
  mkdirSync(join(root, 'etc/ssh'), { recursive: true });
  mkdirSync(join(root, 'srv/data'), { recursive: true });
  mkdirSync(join(root, 'mnt/other'), { recursive: true });
  writeFileSync(join(root, 'etc/hostname'), 'host-a\n');
  writeFileSync(join(root, 'etc/motd'), 'welcome\n');
  writeFileSync(join(root, 'etc/issue'), 'Debian\n');
  writeFileSync(join(root, 'etc/ssh/sshd_config'), 'PermitRootLogin no\n');
  writeFileSync(join(root, 'srv/data/kept'), 'data\n');
  writeFileSync(join(root, 'mnt/other/file'), 'on another fs\n');
  symlinkSync('/', join(root, 'rootlink'));
  symlinkSync('/usr/share/zoneinfo/UTC', join(root, 'etc/localtime'));
  for (const p of ['etc/hostname', 'etc/motd', 'etc/issue', 'etc/ssh/sshd_config', 'srv/data/kept', 'mnt/other/file']) utimesSync(join(root, p), OLD, OLD);
  return root;
}

describe('walkTree', () => {
  it('lists every path with its metadata; a symlink is an entry, never followed (one to / stays a link)', () => {
    const root = makeTree('list');
    chmodSync(join(root, 'etc/motd'), 0o600);
    chownSync(join(root, 'etc/issue'), 1000, 1001);
    const l = walkTree(root);
    expect([...l.keys()].sort()).toEqual([
      '', 'etc', 'etc/hostname', 'etc/issue', 'etc/localtime', 'etc/motd', 'etc/ssh', 'etc/ssh/sshd_config',
      'mnt', 'mnt/other', 'mnt/other/file', 'rootlink', 'srv', 'srv/data', 'srv/data/kept',
    ]);
    expect(l.get('rootlink')).toMatchObject({ kind: 'symlink', link: '/' });
    expect(l.get('etc/localtime')).toMatchObject({ kind: 'symlink', link: '/usr/share/zoneinfo/UTC' });
    expect(l.get('etc/motd')).toMatchObject({ kind: 'file', mode: 0o600, size: 8 });
    expect(l.get('etc/issue')).toMatchObject({ uid: 1000, gid: 1001 });
    expect(l.get('etc/hostname')!.mtimeNs).toBe(BigInt(OLD.getTime()) * 1_000_000n);
    expect(l.get('')).toMatchObject({ kind: 'dir' });
  });

  it('does not enter a directory on another device (one filesystem, like find -xdev): listed, not entered', () => {
    const root = makeTree('xdev');
    const other = Buffer.from(join(root, 'mnt/other'));
    // A filesystem mounted on mnt/other: its top reports another st_dev.
    const fs: WalkFs = {
      ...nodeWalkFs,
      lstat: (p) => {
        const s = nodeWalkFs.lstat(p);
        if (p.equals(other)) s.dev += 1n;
        return s;
      },
    };
    const l = walkTree(root, { fs });
    expect(l.has('mnt/other')).toBe(true);
    expect(l.has('mnt/other/file')).toBe(false);
    expect(walkTree(root).has('mnt/other/file')).toBe(true);
  });

  it('does not enter an excluded directory (a data volume\'s mount point), nor anything not asked for', () => {
    const root = makeTree('exclude');
    const l = walkTree(root, { exclude: [walkKey('/srv/data')] });
    expect(l.has('srv/data')).toBe(true);
    expect(l.has('srv/data/kept')).toBe(false);
    expect(l.has('etc/ssh/sshd_config')).toBe(true);
  });

  it('keeps a name that is not UTF-8 byte for byte', () => {
    const root = makeTree('bytes');
    const name = Buffer.concat([Buffer.from(`${root}/etc/`), Buffer.from([0x66, 0xff, 0x2e, 0x63])]);
    writeFileSync(name, 'x');
    const key = [...walkTree(root).keys()].find((k) => k.startsWith('etc/f'))!;
    expect(Buffer.from(key, 'latin1')).toEqual(Buffer.from('etc/f\u00ff.c', 'latin1'));
    expect(displayName(key)).toBe('etc/f\ufffd.c');
  });
});

describe('two trees compared (walkTree, differingContents, core/diff)', () => {
  it('added, removed, changed, chmod, chown, retargeted; touched-only and data volume paths are no change', async () => {
    const a = makeTree('a');
    const b = join(top, 'b');
    cpSync(a, b, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
    writeFileSync(join(b, 'etc/added'), 'new\n');
    rmSync(join(b, 'etc/issue'));
    writeFileSync(join(b, 'etc/hostname'), 'host-b\n'); // same size, new mtime, other bytes
    writeFileSync(join(b, 'etc/motd'), 'welcome\n'); // same bytes, new mtime: a touch
    chmodSync(join(b, 'etc/ssh/sshd_config'), 0o600);
    chownSync(join(b, 'etc/ssh'), 0, 4);
    rmSync(join(b, 'etc/localtime'));
    symlinkSync('/usr/share/zoneinfo/Europe/Paris', join(b, 'etc/localtime'));
    writeFileSync(join(b, 'srv/data/kept'), 'changed on the data volume\n');
    writeFileSync(join(b, 'srv/data/more'), 'x');
    expect(lstatSync(join(b, 'etc/motd')).mtimeMs).not.toBe(OLD.getTime());

    const exclude = [walkKey('/srv/data')];
    const cmp = compareListings(walkTree(a, { exclude }), walkTree(b, { exclude }), exclude);
    expect(cmp.contentChecks).toEqual(['etc/hostname', 'etc/motd']);
    const differ = await differingContents(a, b, cmp.contentChecks);
    expect([...differ]).toEqual(['etc/hostname']);
    expect(renderChanges(finishComparison(cmp, differ))).toEqual([
      'A /etc/added',
      'M /etc/hostname (content)',
      'D /etc/issue',
      'M /etc/localtime (target /usr/share/zoneinfo/UTC -> /usr/share/zoneinfo/Europe/Paris)',
      'M /etc/ssh (owner 0:0 -> 0:4)',
      'M /etc/ssh/sshd_config (mode 0644 -> 0600)',
    ]);
  });
});
