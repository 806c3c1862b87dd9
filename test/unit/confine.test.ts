// Paths inside an image, base or layer resolve as a chroot of that tree would: never out into the host.
import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveWithin, type Lookup } from '../../src/core/confine';
import { inTree, inTreeForWrite, realDirIn } from '../../src/adapters/confine';

/** A tree as a map: path -> symlink target, or 'dir'/'file'. */
function tree(t: Record<string, string>): Lookup {
  return async (rel) => {
    const v = t[rel];
    if (v === undefined) return 'missing';
    return v === 'dir' || v === 'file' ? 'other' : { link: v };
  };
}

describe('resolveWithin (pure)', () => {
  const t = tree({
    etc: '/root', root: 'dir', 'root/fstab': 'file', boot: 'dir', 'boot/vmlinuz-6': '/etc/shadow',
    lib: 'usr/lib', usr: 'dir', 'usr/lib': 'dir', up: '../../../..', loop: 'loop', var: 'dir', 'var/lib': 'dir', 'var/lib/imgbased': '/root',
  });
  it('an absolute symlink starts again at the top of the tree', async () => {
    expect(await resolveWithin('etc/fstab', t)).toBe('root/fstab');
    expect(await resolveWithin('boot/vmlinuz-6', t)).toBe('root/shadow');
    expect(await resolveWithin('var/lib/imgbased/update.json', t)).toBe('root/update.json');
  });
  it('relative links and .. stay inside; .. at the top is the top', async () => {
    expect(await resolveWithin('lib/modules', t)).toBe('usr/lib/modules');
    expect(await resolveWithin('up/etc/passwd', t)).toBe('root/passwd');
    expect(await resolveWithin('../../etc', t)).toBe('root');
  });
  it('for a write the last name is not followed', async () => {
    expect(await resolveWithin('boot/vmlinuz-6', t, false)).toBe('boot/vmlinuz-6');
    expect(await resolveWithin('etc', t, false)).toBe('etc');
  });
  it('missing components are kept; a loop is an error', async () => {
    expect(await resolveWithin('new/dir/file', t)).toBe('new/dir/file');
    await expect(resolveWithin('loop/x', t)).rejects.toThrow(/too many levels/);
  });
});

describe('adapters/confine on a real tree', () => {
  const root = mkdtempSync(join(tmpdir(), 'confine-'));
  mkdirSync(join(root, 'root'));
  symlinkSync('/root', join(root, 'etc'));
  symlinkSync('/selfloop', join(root, 'selfloop'));
  symlinkSync('/', join(root, 'proc'));
  mkdirSync(join(root, 'sys'));
  writeFileSync(join(root, 'run'), 'a file');

  it("an absolute symlink names the tree's own directory, never the host's", async () => {
    expect(await inTree(root, 'etc/passwd')).toBe(join(root, 'root/passwd'));
    await expect(inTree(root, 'selfloop/x')).rejects.toThrow(/too many levels of symbolic links/);
    expect(await inTreeForWrite(root, 'proc')).toBe(join(root, 'proc'));
    expect(await inTree(root, 'proc/root/x')).toBe(join(root, 'root/x'));
  });
  it('mount points and /etc must be real directories of the tree', async () => {
    await expect(realDirIn(root, 'proc', 'mounting')).rejects.toThrow('mounting: /proc in the tree is a symlink (to /); refused');
    await expect(realDirIn(root, 'run', 'mounting')).rejects.toThrow('mounting: /run in the tree is not a directory; refused');
    await expect(realDirIn(root, 'dev', 'mounting')).rejects.toThrow(/not a directory/);
    expect(await realDirIn(root, 'dev', 'mounting', true)).toBe(join(root, 'dev'));
    expect(await realDirIn(root, 'sys', 'mounting')).toBe(join(root, 'sys'));
  });
});
