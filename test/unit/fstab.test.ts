import { describe, expect, it } from 'vitest';
import { bootMountLines, withMountLines, withoutMounts } from '../../src/core/fstab';

const HOST = [
  '# / comes from the kernel command line',
  'UUID=1111-aaaa /boot ext4 defaults 0 2',
  'UUID=AB12-CD34 /boot/efi vfat umask=0077 0 1',
  '/dev/HostVG/data-srv /srv ext4 defaults 0 2',
  '',
].join('\n');

describe('bootMountLines', () => {
  it('takes the running fstab\'s /boot and /boot/efi lines, trimmed, nothing else', () => {
    expect(bootMountLines(HOST)).toEqual(['UUID=1111-aaaa /boot ext4 defaults 0 2', 'UUID=AB12-CD34 /boot/efi vfat umask=0077 0 1']);
    expect(bootMountLines('  UUID=x  /boot  xfs defaults 0 2\n# UUID=y /boot ext4\n/dev/sda1 /bootx ext4\n')).toEqual(['UUID=x  /boot  xfs defaults 0 2']);
    expect(bootMountLines('')).toEqual([]);
  });
});

describe('withMountLines', () => {
  const lines = bootMountLines(HOST);

  it('appends the host\'s boot mounts to an image fstab that has none', () => {
    const image = '# <file system> <mount point> <type> <options> <dump> <pass>\nproc /proc proc defaults 0 0\n\n';
    expect(withMountLines(image, lines)).toBe(`# <file system> <mount point> <type> <options> <dump> <pass>\nproc /proc proc defaults 0 0\n${lines.join('\n')}\n`);
    expect(withMountLines('', lines)).toBe(`${lines.join('\n')}\n`);
  });

  it('replaces another machine\'s /boot line in place and drops duplicates; other lines stay byte for byte', () => {
    const image = 'LABEL=old /boot ext4 defaults 0 2\n  tmpfs   /tmp tmpfs defaults 0 0\nLABEL=dup /boot ext4 defaults 0 2\n';
    expect(withMountLines(image, lines)).toBe(`${lines[0]}\n  tmpfs   /tmp tmpfs defaults 0 0\n${lines[1]}\n`);
  });

  it('is the identity when the fstab already mounts them so (a layout --init base), and with no lines', () => {
    expect(withMountLines(HOST, lines)).toBe(HOST);
    const indented = '  UUID=1111-aaaa /boot ext4 defaults 0 2\nUUID=AB12-CD34 /boot/efi vfat umask=0077 0 1';
    expect(withMountLines(indented, lines)).toBe(indented);
    expect(withMountLines('anything\n', [])).toBe('anything\n');
  });

  it('leaves comments that name /boot alone', () => {
    expect(withMountLines('# UUID=old /boot ext4\n', [lines[0]!])).toBe(`# UUID=old /boot ext4\n${lines[0]}\n`);
  });
});

describe('withoutMounts', () => {
  it('drops the lines for the given mount points only', () => {
    expect(withoutMounts(HOST, new Set(['/boot', '/boot/efi']))).toEqual(['# / comes from the kernel command line', '/dev/HostVG/data-srv /srv ext4 defaults 0 2', '']);
  });
});
