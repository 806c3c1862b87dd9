// What `imgbase update` carries outside /etc (core/update/carry), pure: the scope (what is left out and why), the
// three-way merge of three tree listings with contents read only where metadata cannot judge, and the policy.
import { describe, expect, it } from 'vitest';
import type { TreeEntry } from '../../src/core/diff';
import {
  CARRY_RULES, carriedLine, carriedTotal, carryDecision, carryRound, carryScope, dataVolumeFor, DATA_VOLUME_WHY,
  packageOwnedPaths, PACKAGE_WHY, type CarryPlan, type Digests,
} from '../../src/core/update/carry';

const file = (size: number, mtime = 1n, extra: Partial<TreeEntry> = {}): TreeEntry => ({ kind: 'file', mode: 0o644, uid: 0, gid: 0, size, mtimeNs: mtime, ...extra });
const dir = (extra: Partial<TreeEntry> = {}): TreeEntry => ({ kind: 'dir', mode: 0o755, uid: 0, gid: 0, size: 4096, mtimeNs: 1n, ...extra });
const link = (target: string): TreeEntry => ({ kind: 'symlink', mode: 0o777, uid: 0, gid: 0, size: target.length, mtimeNs: 1n, link: target });
const tree = (o: Record<string, TreeEntry>): Map<string, TreeEntry> => new Map(Object.entries(o));
const none = (): Digests => ({ old: new Map(), admin: new Map(), next: new Map() });
const SCOPE = carryScope([], new Set());

const OLD = {
  '': dir(), opt: dir(), srv: dir(), var: dir(), 'var/lib': dir(), root: dir(), usr: dir(), 'usr/local': dir(),
  'srv/index.html': file(10),
};

function done(r: ReturnType<typeof carryRound>): CarryPlan {
  if (!('done' in r)) throw new Error(`contents asked for: ${JSON.stringify(r.read)}`);
  return r.done;
}

describe('carryScope', () => {
  it('leaves out the image\'s trees, the volatile ones and what the image regenerates, each with a reason', () => {
    for (const p of ['etc/hostname', 'usr/bin/ls', 'usr', 'boot/vmlinuz', 'proc', 'tmp/x', 'var/tmp/y', 'var/lib/dpkg/status', 'var/lib/apt/lists/x',
      'var/cache/man/index.db', 'var/lib/systemd/random-seed', 'var/lib/imgbased/update.json', 'var/log/syslog', 'lost+found', 'lib64/ld.so']) {
      expect(SCOPE.leftOut(p), p).toMatch(/./);
    }
    expect(SCOPE.leftOut('etc/x')).toBe('merged on its own (the /etc merge)');
    for (const p of ['usr/local', 'usr/local/bin/tool', 'opt/app/x', 'srv/www', 'root/.bashrc', 'var/lib/myapp/db', 'var', 'var/lib', 'home/u/f', 'etcetera']) {
      expect(SCOPE.leftOut(p), p).toBeNull();
    }
    expect(CARRY_RULES.every((r) => r.why === null || r.why.length > 0)).toBe(true);
  });

  it('a data volume\'s mount point and what is below it are left out (systemd makes a missing mount point)', () => {
    const s = carryScope(['/var/lib/libvirt', '/srv/'], new Set());
    expect(s.leftOut('var/lib/libvirt')).toBe(DATA_VOLUME_WHY);
    expect(s.leftOut('var/lib')).toBeNull();
    expect(s.leftOut('var/lib/libvirt/images/a.qcow2')).toBe(DATA_VOLUME_WHY);
    expect(s.leftOut('srv/x')).toBe(DATA_VOLUME_WHY);
    expect(s.leftOut('var/lib/libvirtd')).toBeNull();
  });

  it('a path a package owns is left out alone: its directory still carries what the admin put in it', () => {
    const s = carryScope([], packageOwnedPaths(['/.\n/opt\n/opt/vendor\n/opt/vendor/bin/tool\n', '/var/www/html/index.html\n']));
    expect(s.leftOut('opt/vendor/bin/tool')).toBe(PACKAGE_WHY);
    expect(s.leftOut('opt/vendor')).toBe(PACKAGE_WHY);
    expect(s.leftOut('opt/vendor/plugin.so')).toBeNull();
    expect(s.leftOut('var/www/html/index.html')).toBe(PACKAGE_WHY);
    expect(s.leftOut('')).toBeNull();
  });

  it('the walker enters only where something may be carried: /usr for /usr/local, not /usr/share', () => {
    const s = carryScope(['/var/lib/libvirt'], new Set(['opt']));
    expect(s.enter('usr')).toBe(true);
    expect(s.enter('usr/local')).toBe(true);
    expect(s.enter('usr/share')).toBe(false);
    expect(s.enter('proc')).toBe(false);
    expect(s.enter('var')).toBe(true);
    expect(s.enter('var/log')).toBe(false);
    expect(s.enter('var/lib/libvirt')).toBe(false);
    expect(s.enter('opt')).toBe(true);
    expect(s.enter('etc')).toBe(false);
  });
});

describe('packageOwnedPaths', () => {
  it('keys without slashes, the top left out, blank lines ignored', () => {
    expect([...packageOwnedPaths(['/.\n/usr\n/usr/bin/ls\n\n', '/srv/x/\n'])]).toEqual(['usr', 'usr/bin/ls', 'srv/x']);
  });
});

describe('carryRound', () => {
  it('nothing changed: nothing carried, no contents read', () => {
    expect(done(carryRound(tree(OLD), tree(OLD), tree(OLD), SCOPE, none()))).toEqual({ merge: { actions: [], conflicts: [], carried: [] }, carried: [], bytes: 0 });
  });

  it('an added directory is one line with its size and what is below it; a modified file its own size', () => {
    const admin = tree({ ...OLD, 'var/lib/myapp': dir(), 'var/lib/myapp/db': file(3000), 'var/lib/myapp/conf': dir(), 'var/lib/myapp/conf/a': file(20), 'srv/index.html': file(12) });
    const p = done(carryRound(tree(OLD), admin, tree(OLD), SCOPE, none()));
    expect(p.carried).toEqual([
      { path: '/srv/index.html', change: 'modified', bytes: 12 },
      { path: '/var/lib/myapp', change: 'added', bytes: 3020, entries: 3 },
    ]);
    expect(p.bytes).toBe(3032);
    expect(p.merge.actions.map((a) => `${a.kind} ${a.path}`)).toEqual([
      'take-admin srv/index.html', 'take-admin var/lib/myapp', 'take-admin var/lib/myapp/conf', 'take-admin var/lib/myapp/conf/a', 'take-admin var/lib/myapp/db',
    ]);
    expect(carriedLine(p.carried[1]!)).toBe('  /var/lib/myapp: added here, carried (2.95KiB, 3 entries below)');
    expect(carriedTotal(p)).toBe('  outside /etc: 2 path(s), 2.96KiB in all');
  });

  it('what is left out is not merged, though it changed; nor the top, nor sockets', () => {
    const admin = tree({ ...OLD, '': dir({ mode: 0o700 }), 'var/log': dir(), 'var/log/syslog': file(99), 'usr/bin': dir(), 'usr/bin/x': file(1), 'root/agent.sock': { ...file(0), kind: 'socket' } });
    const p = done(carryRound(tree(OLD), admin, tree(OLD), SCOPE, none()));
    expect(p.carried).toEqual([]);
  });

  it('same size, another mtime: contents asked for, old and admin first, then judged by them', () => {
    const admin = tree({ ...OLD, 'srv/index.html': file(10, 2n) });
    const r = carryRound(tree(OLD), admin, tree(OLD), SCOPE, none());
    expect(r).toEqual({ read: [{ tree: 'old', path: 'srv/index.html' }, { tree: 'admin', path: 'srv/index.html' }] });
    const same = none();
    same.old = new Map([['srv/index.html', 'h1']]);
    same.admin = new Map([['srv/index.html', 'h1']]);
    expect(done(carryRound(tree(OLD), admin, tree(OLD), SCOPE, same)).carried).toEqual([]);
    const differ = { ...same, admin: new Map([['srv/index.html', 'h2']]) };
    // Changed here: now the new image's copy (the old one's size, another mtime than the admin's) is asked for.
    expect(carryRound(tree(OLD), admin, tree(OLD), SCOPE, differ)).toEqual({ read: [{ tree: 'next', path: 'srv/index.html' }] });
    differ.next = new Map([['srv/index.html', 'h1']]);
    expect(done(carryRound(tree(OLD), admin, tree(OLD), SCOPE, differ)).carried).toEqual([{ path: '/srv/index.html', change: 'modified', bytes: 10 }]);
  });

  it('the new image\'s contents are read only for a path the admin changed, and a same change is no conflict', () => {
    const admin = tree({ ...OLD, 'srv/index.html': file(11, 2n) });
    const next = tree({ ...OLD, 'srv/index.html': file(11, 3n), 'srv/other': file(5, 9n) });
    const r = carryRound(tree(OLD), admin, next, SCOPE, none());
    expect(r).toEqual({ read: [{ tree: 'admin', path: 'srv/index.html' }, { tree: 'next', path: 'srv/index.html' }] });
    const d = { ...none(), admin: new Map([['srv/index.html', 'h']]), next: new Map([['srv/index.html', 'h']]) };
    expect(done(carryRound(tree(OLD), admin, next, SCOPE, d)).carried).toEqual([]);
  });

  it('changed here and in the new image: the admin wins, the new one is kept as PATH.imgnew, a conflict', () => {
    const admin = tree({ ...OLD, 'srv/index.html': file(12) });
    const next = tree({ ...OLD, 'srv/index.html': file(13) });
    const p = done(carryRound(tree(OLD), admin, next, SCOPE, none()));
    expect(p.merge.actions).toEqual([{ kind: 'keep-new-aside', path: 'srv/index.html' }, { kind: 'take-admin', path: 'srv/index.html', why: 'modified' }]);
    expect(p.merge.conflicts).toEqual([{ path: 'srv/index.html', kind: 'both-changed', detail: 'modified here and in the new image (the new one kept as /srv/index.html.imgnew)' }]);
  });

  it('removed here: removed from the new layer unless the new image changed it (a conflict)', () => {
    const admin = tree(OLD);
    admin.delete('srv/index.html');
    let p = done(carryRound(tree(OLD), admin, tree(OLD), SCOPE, none()));
    expect(p.merge.actions).toEqual([{ kind: 'remove', path: 'srv/index.html' }]);
    expect(p.carried).toEqual([{ path: '/srv/index.html', change: 'removed', bytes: 0 }]);
    expect(carriedLine(p.carried[0]!)).toBe('  /srv/index.html: removed here, removed');
    p = done(carryRound(tree(OLD), admin, tree({ ...OLD, 'srv/index.html': file(50) }), SCOPE, none()));
    expect(p.merge.conflicts.map((c) => c.kind)).toEqual(['removed-by-admin']);
  });

  it('a directory that replaced a file is copied whole: its size counts all below it', () => {
    const old = tree({ ...OLD, 'opt/app': file(1) });
    const admin = tree({ ...OLD, 'opt/app': dir(), 'opt/app/a': file(100), 'opt/app/b': link('a') });
    const p = done(carryRound(old, admin, old, SCOPE, none()));
    expect(p.carried).toEqual([{ path: '/opt/app', change: 'modified', bytes: 100, entries: 2 }]);
    // As in /etc: the new image's file where a directory now is stays beside it.
    expect(p.merge.actions).toEqual([{ kind: 'keep-new-aside', path: 'opt/app' }, { kind: 'take-admin', path: 'opt/app', why: 'modified', tree: true }]);
  });
});

describe('carryDecision', () => {
  const plan = (sizes: Record<string, number>): CarryPlan => {
    // A name without a dot is a directory here.
    const carried = Object.entries(sizes).map(([path, bytes]) => ({ path, change: 'added' as const, bytes, ...(path.includes('.') ? {} : { entries: 1 }) }));
    return { merge: { actions: [], conflicts: [], carried: [] }, carried, bytes: carried.reduce((n, c) => n + c.bytes, 0) };
  };

  it('nothing to carry: carried, whatever the policy', () => {
    expect(carryDecision(plan({}), 'refuse', 0)).toEqual({ outcome: 'carry', list: [] });
  });

  it('within the limit: carried', () => {
    expect(carryDecision(plan({ '/srv/a.txt': 10 }), 'yes', 100).outcome).toBe('carry');
  });

  it('above the limit: refused, one line with the total, the largest listed first, data volumes advised', () => {
    const d = carryDecision(plan({ '/srv/a.txt': 10, '/var/lib/big': 3 * 1024 ** 3, '/opt/x/y.bin': 2 * 1024 ** 3 }), 'yes', 1024 ** 3);
    expect(d.outcome).toBe('refuse');
    expect(d.message).toBe('update: 3 path(s) changed outside /etc, 5.00GiB, above carry-limit 1.00GiB: nothing changed');
    expect(d.list).toEqual([
      '  /var/lib/big: added here, carried (3.00GiB, 1 entry below)',
      '  /opt/x/y.bin: added here, carried (2.00GiB)',
      '  /srv/a.txt: added here, carried (10B)',
    ]);
    expect(d.hint).toBe("move big directories to data volumes ('imgbase data --add /var/lib/big', 'imgbase data --add /opt/x', 'imgbase data --add /srv'), or raise carry-limit");
  });

  it('carry = refuse: any change refuses; carry = warn: goes on without carrying, whatever the size', () => {
    const p = plan({ '/root/.bashrc': 10 });
    expect(carryDecision(p, 'refuse', 1024)).toMatchObject({ outcome: 'refuse', message: 'update: 1 path(s) changed outside /etc, 10B, and carry = refuse: nothing changed' });
    expect(carryDecision(plan({ '/srv/x.bin': 5000 }), 'warn', 1024)).toMatchObject({ outcome: 'skip', message: '1 path(s) changed outside /etc, 4.88KiB, not carried (carry = warn)' });
  });

  it('lists a few of the largest, and says how many more', () => {
    const d = carryDecision(plan(Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`/srv/f${i}.txt`, i]))), 'refuse', 0);
    expect(d.list).toHaveLength(6);
    expect(d.list[0]).toContain('/srv/f7.txt');
    expect(d.list[5]).toBe('  ... and 3 more');
  });
});

describe('dataVolumeFor', () => {
  it('the shallowest directory that may be a data volume', () => {
    expect(dataVolumeFor('/var/lib/myapp/db/x', false)).toBe('/var/lib/myapp');
    expect(dataVolumeFor('/srv', true)).toBe('/srv');
    expect(dataVolumeFor('/swapfile', false)).toBeNull();
    expect(dataVolumeFor('/opt/app', true)).toBe('/opt/app');
    expect(dataVolumeFor('/opt/app.bin', false)).toBeNull();
  });
});
