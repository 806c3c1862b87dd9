// The /etc three-way merge of `imgbase update` (core/update/etc-merge), pure: the admin's changes (running layer vs
// its base) replayed onto the new image's /etc, the admin winning, the new image's version kept as .imgnew.
import { describe, expect, it } from 'vitest';
import { linkPath, mergeEtc, sameEntry, type EtcEntry, type Listing } from '../../src/core/update/etc-merge';

const file = (content: string, extra: Partial<EtcEntry> = {}): EtcEntry => ({ kind: 'file', mode: 0o644, uid: 0, gid: 0, content, xattrs: '', ...extra });
const dir = (extra: Partial<EtcEntry> = {}): EtcEntry => ({ kind: 'dir', mode: 0o755, uid: 0, gid: 0, content: '', xattrs: '', ...extra });
const link = (target: string): EtcEntry => ({ kind: 'symlink', mode: 0o777, uid: 0, gid: 0, content: target, xattrs: '' });
const tree = (o: Record<string, EtcEntry>): Listing => new Map(Object.entries(o));

const OLD = {
  hostname: file('old-host'),
  'motd': file('welcome v1'),
  'ssh': dir(),
  'ssh/sshd_config': file('v1 sshd'),
  'systemd/system': dir(),
  'systemd/system/multi-user.target.wants': dir(),
  'systemd/system/multi-user.target.wants/cron.service': link('/lib/systemd/system/cron.service'),
};

describe('mergeEtc', () => {
  it('a path the admin did not touch takes the new image\'s version (nothing to do), changed or removed there', () => {
    const next = tree({ ...OLD, motd: file('welcome v2') });
    (next as Map<string, EtcEntry>).delete('hostname');
    const m = mergeEtc(tree(OLD), tree(OLD), next);
    expect(m).toEqual({ actions: [], conflicts: [], carried: [] });
  });

  it('added and modified by the admin: copied over the new image\'s version, which is unchanged from the old', () => {
    const admin = tree({ ...OLD, hostname: file('my-host'), 'app.conf': file('mine') });
    const m = mergeEtc(tree(OLD), admin, tree(OLD));
    expect(m.actions).toEqual([
      { kind: 'take-admin', path: 'app.conf', why: 'added' },
      { kind: 'take-admin', path: 'hostname', why: 'modified' },
    ]);
    expect(m.conflicts).toEqual([]);
    expect(m.carried).toEqual([{ path: 'app.conf', change: 'added' }, { path: 'hostname', change: 'modified' }]);
  });

  it('mode, owner and xattrs changes count as modifications', () => {
    for (const change of [{ mode: 0o600 }, { uid: 1000 }, { gid: 4 }, { xattrs: 'security.selinux=etc_t' }]) {
      const admin = tree({ ...OLD, motd: file('welcome v1', change) });
      expect(mergeEtc(tree(OLD), admin, tree(OLD)).actions).toEqual([{ kind: 'take-admin', path: 'motd', why: 'modified' }]);
    }
    expect(sameEntry(file('a'), file('a'))).toBe(true);
    expect(sameEntry(file('a'), link('a'))).toBe(false);
  });

  it('changed on both sides: the admin\'s stays, the new image\'s goes aside first as .imgnew, reported', () => {
    const admin = tree({ ...OLD, 'ssh/sshd_config': file('admin sshd') });
    const next = tree({ ...OLD, 'ssh/sshd_config': file('v2 sshd') });
    const m = mergeEtc(tree(OLD), admin, next);
    expect(m.actions).toEqual([
      { kind: 'keep-new-aside', path: 'ssh/sshd_config' },
      { kind: 'take-admin', path: 'ssh/sshd_config', why: 'modified' },
    ]);
    expect(m.conflicts).toEqual([{ path: 'ssh/sshd_config', kind: 'both-changed', detail: 'modified here and in the new image (the new one kept as ssh/sshd_config.imgnew)' }]);
  });

  it('the same change on both sides, or the same file added by both: nothing to do', () => {
    const both = tree({ ...OLD, motd: file('welcome v2'), 'new.conf': file('x') });
    expect(mergeEtc(tree(OLD), both, both)).toEqual({ actions: [], conflicts: [], carried: [] });
  });

  it('added by both with different contents: a conflict like a change on both sides', () => {
    const m = mergeEtc(tree(OLD), tree({ ...OLD, 'new.conf': file('mine') }), tree({ ...OLD, 'new.conf': file('theirs') }));
    expect(m.actions).toEqual([{ kind: 'keep-new-aside', path: 'new.conf' }, { kind: 'take-admin', path: 'new.conf', why: 'added' }]);
    expect(m.conflicts[0]).toMatchObject({ path: 'new.conf', kind: 'both-changed' });
  });

  it('removed by the admin: removed; if the new image changed it, its version is kept aside instead', () => {
    const admin = tree(OLD);
    (admin as Map<string, EtcEntry>).delete('motd');
    (admin as Map<string, EtcEntry>).delete('hostname');
    const next = tree({ ...OLD, motd: file('welcome v2') });
    const m = mergeEtc(tree(OLD), admin, next);
    expect(m.actions).toEqual([{ kind: 'remove', path: 'hostname' }, { kind: 'keep-new-aside', path: 'motd' }]);
    expect(m.conflicts).toEqual([{ path: 'motd', kind: 'removed-by-admin', detail: 'removed here, changed by the new image (kept as motd.imgnew)' }]);
    expect(m.carried).toEqual([{ path: 'hostname', change: 'removed' }, { path: 'motd', change: 'removed' }]);
  });

  it('removed by the admin and by the new image: nothing to do', () => {
    const gone = tree(OLD);
    (gone as Map<string, EtcEntry>).delete('motd');
    expect(mergeEtc(tree(OLD), gone, gone).actions).toEqual([]);
  });

  it('changed by the admin, removed by the new image: the admin\'s version stays, reported', () => {
    const next = tree(OLD);
    (next as Map<string, EtcEntry>).delete('motd');
    const m = mergeEtc(tree(OLD), tree({ ...OLD, motd: file('mine') }), next);
    expect(m.actions).toEqual([{ kind: 'take-admin', path: 'motd', why: 'modified' }]);
    expect(m.conflicts).toEqual([{ path: 'motd', kind: 'removed-by-image', detail: 'changed here, removed by the new image (kept)' }]);
  });

  it('services: an enable (symlink added), a disable (symlink removed) and a mask (link to /dev/null) are carried', () => {
    const admin = tree({
      ...OLD,
      'systemd/system/multi-user.target.wants/ssh.service': link('/lib/systemd/system/ssh.service'),
      'systemd/system/apt-daily.timer': link('/dev/null'),
    });
    (admin as Map<string, EtcEntry>).delete('systemd/system/multi-user.target.wants/cron.service');
    const m = mergeEtc(tree(OLD), admin, tree(OLD));
    expect(m.actions).toEqual([
      { kind: 'remove', path: 'systemd/system/multi-user.target.wants/cron.service' },
      { kind: 'take-admin', path: 'systemd/system/apt-daily.timer', why: 'added' },
      { kind: 'take-admin', path: 'systemd/system/multi-user.target.wants/ssh.service', why: 'added' },
    ]);
  });

  it('a service disabled here stays disabled when the new image re-points its link (Debian 13: /lib -> /usr/lib)', () => {
    const admin = tree(OLD);
    (admin as Map<string, EtcEntry>).delete('systemd/system/multi-user.target.wants/cron.service');
    const next = tree({ ...OLD, 'systemd/system/multi-user.target.wants/cron.service': link('/usr/lib/systemd/system/cron.service') });
    const m = mergeEtc(tree(OLD), admin, next);
    expect(m.actions).toEqual([{ kind: 'remove', path: 'systemd/system/multi-user.target.wants/cron.service' }]);
    expect(m.conflicts).toEqual([{
      path: 'systemd/system/multi-user.target.wants/cron.service', kind: 'removed-by-admin',
      detail: 'removed here, a symlink to /usr/lib/systemd/system/cron.service in the new image: removed too',
    }]);
  });

  it('a directory removed by the admin: its files first, deepest first, then the directory (only if empty then)', () => {
    const admin = tree(OLD);
    for (const p of ['ssh', 'ssh/sshd_config']) (admin as Map<string, EtcEntry>).delete(p);
    const m = mergeEtc(tree(OLD), admin, tree({ ...OLD, ssh: dir({ mode: 0o700 }), 'ssh/new-in-v2': file('x') }));
    expect(m.actions).toEqual([{ kind: 'remove', path: 'ssh/sshd_config' }, { kind: 'remove', path: 'ssh' }]);
  });

  it('a directory added by the admin comes before its files; a directory\'s own metadata change is carried alone', () => {
    const admin = tree({ ...OLD, ssh: dir({ mode: 0o700 }), app: dir(), 'app/a.conf': file('a'), 'app-b.conf': file('b') });
    const m = mergeEtc(tree(OLD), admin, tree(OLD));
    expect(m.actions.map((a) => a.path)).toEqual(['app', 'app-b.conf', 'app/a.conf', 'ssh']);
    expect(m.actions.find((a) => a.path === 'ssh')).toEqual({ kind: 'take-admin', path: 'ssh', why: 'modified' });
    expect(m.conflicts).toEqual([]);
  });

  it('a file that became a directory here: the whole directory taken, the new image\'s file set aside, reported', () => {
    const admin = tree({ ...OLD, motd: dir(), 'motd/part1': file('p1') });
    const m = mergeEtc(tree(OLD), admin, tree({ ...OLD, motd: file('welcome v2') }));
    expect(m.actions).toEqual([
      { kind: 'keep-new-aside', path: 'motd' },
      { kind: 'take-admin', path: 'motd', why: 'modified', tree: true },
    ]);
    expect(m.conflicts).toEqual([{
      path: 'motd', kind: 'kind-changed',
      detail: 'a directory here, a file in the old image, a file in the new one (the new one kept as motd.imgnew)',
    }]);
  });

  it('a directory the new image turned into a file, changed inside by the admin: reported, never dropped', () => {
    const admin = tree({ ...OLD, 'ssh/sshd_config': file('admin sshd') });
    const next = tree({ ...OLD, ssh: link('/usr/share/ssh') });
    (next as Map<string, EtcEntry>).delete('ssh/sshd_config');
    const m = mergeEtc(tree(OLD), admin, next);
    // The admin's file needs its directory: the admin's 'ssh' is unchanged, so the adapter makes the parent.
    expect(m.actions).toEqual([{ kind: 'take-admin', path: 'ssh/sshd_config', why: 'modified' }]);
    expect(m.conflicts).toEqual([{ path: 'ssh/sshd_config', kind: 'removed-by-image', detail: 'changed here, removed by the new image (kept)' }]);
  });

  it('never carries generated files nor the accounts files (merged by name elsewhere)', () => {
    const admin = tree({ ...OLD, 'ld.so.cache': file('old libs'), passwd: file('root:x:0:0'), shadow: file('root:!:1') });
    expect(mergeEtc(tree(OLD), admin, tree(OLD)).actions).toEqual([]);
    expect(mergeEtc(tree(OLD), admin, tree(OLD), { skip: [] }).actions.map((a) => a.path)).toEqual(['ld.so.cache', 'passwd', 'shadow']);
  });

  it('a file the new image made a symlink (Debian 13\'s default/locale -> ../locale.conf): the symlink stays, the admin\'s version lands where it points', () => {
    const next = tree({ ...OLD, default: dir(), 'default/locale': link('../locale.conf') });
    const old = tree({ ...OLD, default: dir() });
    // Added here (Debian 12 ships no default/locale) and changed from a file of the old image: both followed.
    for (const [o, why] of [[old, 'added'], [tree({ ...OLD, default: dir(), 'default/locale': file('LANG=C') }), 'modified']] as const) {
      const admin = tree({ ...OLD, default: dir(), 'default/locale': file('LANG=C.UTF-8') });
      const m = mergeEtc(o, admin, next);
      expect(m.actions).toEqual([{ kind: 'take-admin', path: 'default/locale', why, into: 'locale.conf' }]);
      expect(m.conflicts).toEqual([{
        path: 'default/locale', kind: 'became-symlink',
        detail: `${why} here, a symlink to ../locale.conf in the new image: the symlink kept, this version written to locale.conf`,
      }]);
      expect(m.carried).toEqual([{ path: 'default/locale', change: why }]);
    }
  });

  it('a new symlink is not followed when the admin also changed its target, it leads out of /etc, or at a directory', () => {
    const old = tree({ ...OLD, default: dir() });
    const admin = { ...OLD, default: dir(), 'default/locale': file('LANG=C.UTF-8') };
    const both = mergeEtc(old, tree({ ...admin, 'locale.conf': file('LANG=de_DE') }), tree({ ...OLD, default: dir(), 'default/locale': link('../locale.conf') }));
    expect(both.conflicts.map((c) => c.kind)).toEqual(['both-changed']);
    for (const target of ['/usr/share/locale.conf', '../../locale.conf', '../ssh']) {
      const m = mergeEtc(old, tree(admin), tree({ ...OLD, default: dir(), 'default/locale': link(target) }));
      expect(m.conflicts.map((c) => c.kind)).toEqual(['both-changed']);
    }
  });

  it('linkPath reads relative and /etc-absolute targets inside the tree, null outside it', () => {
    expect(linkPath('default/locale', '../locale.conf')).toBe('locale.conf');
    expect(linkPath('default/locale', '/etc/locale.conf')).toBe('locale.conf');
    expect(linkPath('a/b', './c/../d')).toBe('a/d');
    expect(linkPath('localtime', '/usr/share/zoneinfo/UTC')).toBeNull();
    expect(linkPath('default/locale', '../../x')).toBeNull();
    expect(linkPath('x', '.')).toBeNull();
  });
});
