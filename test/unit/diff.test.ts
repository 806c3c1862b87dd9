// imgbase diff's pure core (core/diff): two listings compared, the content checks finished, the output rendered.
import { describe, expect, it } from 'vitest';
import { changesJson, compareListings, deviceNumber, finishComparison, renderChanges, type Listing, type TreeEntry } from '../../src/core/diff';

const T0 = 1_700_000_000_000_000_000n;

function file(size: number, more: Partial<TreeEntry> = {}): TreeEntry {
  return { kind: 'file', mode: 0o644, uid: 0, gid: 0, size, mtimeNs: T0, ...more };
}
function dir(more: Partial<TreeEntry> = {}): TreeEntry {
  return { kind: 'dir', mode: 0o755, uid: 0, gid: 0, size: 4096, mtimeNs: T0, ...more };
}
function link(target: string): TreeEntry {
  return { kind: 'symlink', mode: 0o777, uid: 0, gid: 0, size: target.length, mtimeNs: T0, link: target };
}

const BASE: Record<string, TreeEntry> = {
  '': dir(),
  etc: dir(),
  'etc/fstab': file(120),
  'etc/hostname': file(10),
  'etc/motd': file(50),
  'etc/issue': file(20),
  'etc/localtime': link('/usr/share/zoneinfo/UTC'),
  srv: dir(),
  'srv/data': dir(),
  'srv/data/old': file(5),
};

function listing(over: Record<string, TreeEntry | null>, from: Record<string, TreeEntry> = BASE): Listing {
  const m = new Map(Object.entries(from));
  for (const [p, e] of Object.entries(over)) {
    if (e) m.set(p, e);
    else m.delete(p);
  }
  return m;
}

/** The comparison finished with every checked file's contents given as differing or not. */
function diff(a: Listing, b: Listing, contentsDiffer: string[] = [], exclude: string[] = []) {
  return finishComparison(compareListings(a, b, exclude), new Set(contentsDiffer));
}

describe('compareListings + finishComparison', () => {
  it('the same tree: no change, nothing to read', () => {
    const cmp = compareListings(listing({}), listing({}));
    expect(cmp).toEqual({ changes: [], contentChecks: [] });
  });

  it('a file added and one removed', () => {
    expect(diff(listing({}), listing({ 'etc/new.conf': file(3), 'etc/motd': null }))).toEqual([
      { path: 'etc/motd', change: 'removed', kind: 'file' },
      { path: 'etc/new.conf', change: 'added', kind: 'file' },
    ]);
  });

  it('a size change is a content change without reading; same size and mtime is none, unread', () => {
    const cmp = compareListings(listing({}), listing({ 'etc/hostname': file(11, { mtimeNs: T0 + 5n }) }));
    expect(cmp.contentChecks).toEqual([]);
    expect(cmp.changes).toEqual([{ path: 'etc/hostname', change: 'modified', kind: 'file', content: true }]);
  });

  it('same size, other mtime: the contents decide (a touch alone is no change)', () => {
    const b = listing({ 'etc/hostname': file(10, { mtimeNs: T0 + 1n }), 'etc/issue': file(20, { mtimeNs: T0 + 1n }) });
    const cmp = compareListings(listing({}), b);
    expect(cmp.changes).toEqual([]);
    expect(cmp.contentChecks).toEqual(['etc/hostname', 'etc/issue']);
    expect(finishComparison(cmp, new Set(['etc/issue']))).toEqual([{ path: 'etc/issue', change: 'modified', kind: 'file', content: true }]);
    expect(finishComparison(cmp, new Set())).toEqual([]);
  });

  it('chmod and chown, with and without a content change', () => {
    const b = listing({
      'etc/motd': file(50, { mode: 0o600 }),
      'etc/issue': file(20, { uid: 1000, gid: 1000, mtimeNs: T0 + 9n }),
      'etc/hostname': file(10, { mode: 0o4755, uid: 0, gid: 42 }),
    });
    expect(diff(listing({}), b, ['etc/issue'])).toEqual([
      { path: 'etc/hostname', change: 'modified', kind: 'file', mode: { from: 0o644, to: 0o4755 }, owner: { from: '0:0', to: '0:42' } },
      { path: 'etc/issue', change: 'modified', kind: 'file', content: true, owner: { from: '0:0', to: '1000:1000' } },
      { path: 'etc/motd', change: 'modified', kind: 'file', mode: { from: 0o644, to: 0o600 } },
    ]);
  });

  it('a symlink retargeted; a directory\'s own size and mtime are no change', () => {
    const b = listing({ 'etc/localtime': link('/usr/share/zoneinfo/Europe/Paris'), etc: dir({ size: 8192, mtimeNs: T0 + 7n }) });
    expect(diff(listing({}), b)).toEqual([
      { path: 'etc/localtime', change: 'modified', kind: 'symlink', link: { from: '/usr/share/zoneinfo/UTC', to: '/usr/share/zoneinfo/Europe/Paris' } },
    ]);
  });

  it('a kind change is one change; a directory that replaced a file carries the count of what is below it', () => {
    const b = listing({ 'etc/motd': link('/run/motd'), 'etc/issue': dir(), 'etc/issue/a': file(1), 'etc/issue/b': dir(), 'etc/issue/b/c': file(1) });
    expect(diff(listing({}), b)).toEqual([
      { path: 'etc/issue', change: 'type', from: 'file', to: 'dir', below: 3 },
      { path: 'etc/motd', change: 'type', from: 'file', to: 'symlink', link: '/run/motd' },
    ]);
  });

  it('a directory added or removed is one change with the count below it, wherever its entries sort', () => {
    // 'srv/data-x' sorts between 'srv/data' and 'srv/data/old' ('-' < '/'): it is not part of the removed directory.
    const b = listing({ 'srv/data': null, 'srv/data/old': null, 'srv/data-x': file(1), 'opt/app': dir(), 'opt/app/bin': dir(), 'opt/app/bin/x': file(1), opt: dir() });
    expect(diff(listing({}), b)).toEqual([
      { path: 'opt', change: 'added', kind: 'dir', below: 3 },
      { path: 'srv/data', change: 'removed', kind: 'dir', below: 1 },
      { path: 'srv/data-x', change: 'added', kind: 'file' },
    ]);
  });

  it('below a data volume\'s mount point nothing counts; the mount point itself does', () => {
    const b = listing({ 'srv/data/old': file(6, { mode: 0o600 }), 'srv/data/new': file(1), 'srv/data': dir({ mode: 0o700 }) });
    const cmp = compareListings(listing({}), b, ['srv/data']);
    expect(cmp.changes).toEqual([{ path: 'srv/data', change: 'modified', kind: 'dir', mode: { from: 0o755, to: 0o700 } }]);
    expect(cmp.contentChecks).toEqual([]);
  });

  it('sorts in C order (byte order of the names)', () => {
    const b = listing({ 'etc/Z': file(1), 'etc/a': file(1), 'etc/\u00e9': file(1), 'etc/_': file(1) });
    expect(diff(listing({}), b).map((c) => c.path)).toEqual(['etc/Z', 'etc/_', 'etc/a', 'etc/\u00e9']);
  });
});

describe('rendering', () => {
  const changes = diff(listing({}), listing({
    'etc/new': file(1),
    'etc/motd': null,
    'etc/issue': file(20, { mode: 0o600, uid: 1000, gid: 1000 }),
    'etc/hostname': file(12),
    'etc/localtime': link('/usr/share/zoneinfo/Europe/Paris'),
    'etc/fstab': link('/run/fstab'),
    'srv/data': null,
    'srv/data/old': null,
    'srv/l': link('/'),
    'srv/bad\nname': file(1),
    'dev': dir(),
    'dev/sda': { kind: 'block', mode: 0o660, uid: 0, gid: 6, size: 0, mtimeNs: T0, rdev: 2048 },
  }));

  it('text: one line per path', () => {
    expect(renderChanges(changes)).toEqual([
      'A /dev (directory, 1 entry below)',
      'T /etc/fstab (file -> symlink to /run/fstab)',
      'M /etc/hostname (content)',
      'M /etc/issue (mode 0644 -> 0600, owner 0:0 -> 1000:1000)',
      'M /etc/localtime (target /usr/share/zoneinfo/UTC -> /usr/share/zoneinfo/Europe/Paris)',
      'D /etc/motd',
      'A /etc/new',
      'A "/srv/bad\\nname"',
      'D /srv/data (directory, 1 entry below)',
      'A /srv/l (symlink to /)',
    ]);
  });

  it('JSON: absolute paths, modes in octal', () => {
    const j = changesJson(changes);
    expect(j).toContainEqual({ path: '/etc/issue', change: 'modified', kind: 'file', mode: { from: '0644', to: '0600' }, owner: { from: '0:0', to: '1000:1000' } });
    expect(j).toContainEqual({ path: '/srv/data', change: 'removed', kind: 'dir', below: 1 });
    expect(j).toContainEqual({ path: '/etc/new', change: 'added', kind: 'file' });
  });

  it('device numbers as major:minor', () => {
    expect(deviceNumber(2048)).toBe('8:0');
    expect(deviceNumber(0x10300 + 5)).toBe('259:5');
    // makedev(8, 300): the minor's high bits sit above the major's.
    expect(deviceNumber(2048 + 44 + (256 << 12))).toBe('8:300');
  });
});
