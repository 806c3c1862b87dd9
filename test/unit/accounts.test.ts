// passwd / group / shadow / gshadow merged by name for `imgbase update` (core/update/accounts), pure.
import { describe, expect, it } from 'vitest';
import { mergeAccounts } from '../../src/core/update/accounts';

const lines = (...l: string[]): string => l.join('\n') + '\n';

const OLD_PASSWD = lines(
  'root:x:0:0:root:/root:/bin/bash',
  'daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin',
  'games:x:5:60:games:/usr/games:/usr/sbin/nologin',
);

describe('mergeAccounts: passwd', () => {
  it('untouched here: the new image\'s file as is, with the accounts it adds', () => {
    const next = lines('root:x:0:0:root:/root:/bin/bash', 'daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin', 'games:x:5:60:games:/usr/games:/usr/sbin/nologin', '_chrony:x:998:998::/var/lib/chrony:/usr/sbin/nologin');
    const m = mergeAccounts('passwd', OLD_PASSWD, OLD_PASSWD, next);
    expect(m.text).toBe(next);
    expect(m).toMatchObject({ kept: [], removed: [], added: ['_chrony'], clashes: [] });
  });

  it('an account added here keeps its ids, after the new image\'s; one changed here wins; one removed here stays removed', () => {
    const admin = lines('root:x:0:0:root:/root:/bin/zsh', 'daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin', 'alice:x:1000:1000:Alice:/home/alice:/bin/bash');
    const next = lines(
      'root:x:0:0:root:/root:/bin/bash',
      'daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin',
      'games:x:5:60:games v2:/usr/games:/usr/sbin/nologin',
      '_chrony:x:998:998::/var/lib/chrony:/usr/sbin/nologin',
    );
    const m = mergeAccounts('passwd', OLD_PASSWD, admin, next);
    expect(m.text).toBe(lines(
      'root:x:0:0:root:/root:/bin/zsh',
      'daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin',
      '_chrony:x:998:998::/var/lib/chrony:/usr/sbin/nologin',
      'alice:x:1000:1000:Alice:/home/alice:/bin/bash',
    ));
    expect(m).toMatchObject({ kept: ['root', 'alice'], removed: ['games'], added: ['_chrony'], clashes: [] });
  });

  it('an id clash: an account added here and one the new image adds with the same uid', () => {
    const admin = OLD_PASSWD + 'alice:x:998:1000::/home/alice:/bin/bash\n';
    const next = OLD_PASSWD + '_chrony:x:998:998::/var/lib/chrony:/usr/sbin/nologin\n';
    const m = mergeAccounts('passwd', OLD_PASSWD, admin, next);
    expect(m.clashes).toEqual([{
      file: 'passwd',
      detail: 'uid 998 is _chrony (the new image) and alice (this host): _chrony:x:998:998::/var/lib/chrony:/usr/sbin/nologin | alice:x:998:1000::/home/alice:/bin/bash',
    }]);
    // What `update --force` writes: both accounts, sharing the id.
    expect(m.text).toContain('alice:x:998:1000::/home/alice:/bin/bash\n');
    expect(m.text).toContain('_chrony:x:998:998::/var/lib/chrony:/usr/sbin/nologin\n');
  });

  it('the same name with another uid in the new image is a clash too', () => {
    const admin = OLD_PASSWD + 'postgres:x:1001:1001::/var/lib/postgresql:/bin/bash\n';
    const next = OLD_PASSWD + 'postgres:x:105:110::/var/lib/postgresql:/bin/bash\n';
    const m = mergeAccounts('passwd', OLD_PASSWD, admin, next);
    expect(m.clashes.map((c) => c.detail)).toEqual([
      'postgres has uid 1001 here and 105 in the new image: postgres:x:1001:1001::/var/lib/postgresql:/bin/bash | postgres:x:105:110::/var/lib/postgresql:/bin/bash',
    ]);
  });

  it('comments and blank lines are dropped, not taken for accounts', () => {
    expect(mergeAccounts('passwd', '', '# x\n\nroot:x:0:0::/root:/bin/sh\n', '').text).toBe('root:x:0:0::/root:/bin/sh\n');
    expect(mergeAccounts('passwd', '', '', '').text).toBe('');
  });
});

describe('mergeAccounts: shadow follows the names', () => {
  it('a password set here (root, a new user) is kept; the new image\'s new accounts appear', () => {
    const old = lines('root:*:19000:0:99999:7:::', 'daemon:*:19000:0:99999:7:::');
    const admin = lines('root:$y$j9T$abc:20000:0:99999:7:::', 'daemon:*:19000:0:99999:7:::', 'alice:$y$j9T$def:20001:0:99999:7:::');
    const next = lines('root:*:19500:0:99999:7:::', 'daemon:*:19500:0:99999:7:::', '_chrony:!:19500::::::');
    const m = mergeAccounts('shadow', old, admin, next);
    expect(m.text).toBe(lines('root:$y$j9T$abc:20000:0:99999:7:::', 'daemon:*:19500:0:99999:7:::', '_chrony:!:19500::::::', 'alice:$y$j9T$def:20001:0:99999:7:::'));
    expect(m.clashes).toEqual([]);
  });
});

describe('mergeAccounts: group members are merged as sets', () => {
  it('members added and removed here are replayed onto the new image\'s list', () => {
    const old = lines('sudo:x:27:', 'users:x:100:bob,carol');
    const admin = lines('sudo:x:27:alice', 'users:x:100:bob', 'alice:x:1000:');
    const next = lines('sudo:x:27:', 'users:x:100:bob,carol,dave', '_chrony:x:998:');
    const m = mergeAccounts('group', old, admin, next);
    expect(m.text).toBe(lines('sudo:x:27:alice', 'users:x:100:bob,dave', '_chrony:x:998:', 'alice:x:1000:'));
    expect(m.kept).toEqual(['sudo', 'users', 'alice']);
  });

  it('gshadow: admins and members both merged', () => {
    const old = lines('sudo:*::');
    const admin = lines('sudo:*:alice:alice');
    const next = lines('sudo:*::bob');
    expect(mergeAccounts('gshadow', old, admin, next).text).toBe(lines('sudo:*:alice:bob,alice'));
  });

  it('a gid clash between a group added here and one the new image adds', () => {
    const m = mergeAccounts('group', lines('root:x:0:'), lines('root:x:0:', 'alice:x:998:'), lines('root:x:0:', '_chrony:x:998:'));
    expect(m.clashes).toHaveLength(1);
    expect(m.clashes[0]!.detail).toMatch(/^gid 998 is _chrony \(the new image\) and alice \(this host\)/);
  });
});
