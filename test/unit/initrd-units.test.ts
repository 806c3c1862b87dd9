import { mkdtemp, readFile, readlink, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateStep } from '../../src/initrd/generate';
import { aliasRule, generatorFiles, rootMountOptions } from '../../src/initrd/units';

const content = (files: ReturnType<typeof generatorFiles>, path: string): string => {
  const f = files.find((x) => x.path === path);
  if (!f || !('content' in f)) throw new Error(`no file ${path}`);
  return f.content;
};

describe('generatorFiles', () => {
  it.each([
    ['no imgbased argument', 'BOOT_IMAGE=/vmlinuz root=/dev/HostVG/root ro quiet'],
    ['kill switch', 'imgbased.layer=latest rd.imgbased=0'],
    ['kill switch (no)', 'imgbased.layer=latest rd.imgbased=no'],
    ['similar names only', 'rd.imgbased=1 imgbasedlayer=x myimgbased.layer=x'],
    ['empty', ''],
  ])('%s: writes nothing', (_n, cmdline) => {
    expect(generatorFiles(cmdline)).toEqual([]);
  });

  it('imgbased.layer=: sysroot.mount on the alias, after the select service and fsck', () => {
    const files = generatorFiles('imgbased.layer=rhvh-4.3-0.2+1 console=ttyS0');
    expect(files.map((f) => f.path).sort()).toEqual([
      'dev-imgbased-root.device.d/50-imgbased-timeout.conf',
      'initrd-root-device.target.d/50-root-device.conf',
      'initrd-root-fs.target.requires/sysroot.mount',
      'initrd.target.wants/imgbased-select.service',
      'sysroot.mount',
    ]);
    const mount = content(files, 'sysroot.mount');
    expect(mount).toContain('\nWhat=/dev/imgbased/root\n');
    expect(mount).toContain('\nWhere=/sysroot\n');
    expect(mount).toContain('\nOptions=ro\n');
    expect(mount).toContain('\nRequires=imgbased-select.service\nAfter=imgbased-select.service\n');
    expect(mount).toContain('\nRequires=systemd-fsck@dev-imgbased-root.service\nAfter=systemd-fsck@dev-imgbased-root.service\n');
    expect(mount).toContain('\nBefore=initrd-root-fs.target\n');
    expect(mount).not.toContain('Type=');
    expect(files.find((f) => f.path === 'initrd-root-fs.target.requires/sysroot.mount')).toEqual({
      path: 'initrd-root-fs.target.requires/sysroot.mount', symlink: '../sysroot.mount',
    });
    // Same drop-in name as systemd-fstab-generator's, so root= is not waited for.
    const dropin = content(files, 'initrd-root-device.target.d/50-root-device.conf');
    expect(dropin).toContain('Requires=dev-imgbased-root.device\nAfter=dev-imgbased-root.device');
    expect(dropin).not.toMatch(/HostVG/);
  });

  it('the mount unit is the same whatever the layer value (the value never reaches a unit file)', () => {
    const a = generatorFiles('imgbased.layer=latest');
    for (const v of ['x', '"$(reboot)"', '../../etc', '', 'a'.repeat(4096), 'root+1\nExecStart=/bin/sh']) {
      expect(generatorFiles(`imgbased.layer=${v} `)).toEqual(a);
    }
    expect(generatorFiles('imgbased.debug')).toEqual(a);
    expect(generatorFiles('imgbased.vg=HostVG')).toEqual(a);
  });

  it('root= and rd.lvm.lv= present too: still our units (imgbased.layer wins)', () => {
    const files = generatorFiles('root=/dev/HostVG/root+1 rd.lvm.lv=HostVG/root+1 imgbased.layer=root+2');
    expect(content(files, 'sysroot.mount')).toContain('What=/dev/imgbased/root');
  });

  it('last rd.imgbased wins', () => {
    expect(generatorFiles('rd.imgbased=0 imgbased.layer=latest rd.imgbased=1')).not.toEqual([]);
  });
});

describe('rootMountOptions', () => {
  it.each([
    ['', 'ro', null],
    ['ro', 'ro', null],
    ['rw', 'rw', null],
    ['ro rw', 'rw', null],
    ['rw ro', 'ro', null],
    ['rootflags=noatime,discard rootfstype=ext4', 'ro,noatime,discard', 'ext4'],
    ['rootflags="bad value" rootfstype=$(x)', 'ro', null],
  ])('%j -> %s %s', (cmdline, options, fstype) => {
    expect(rootMountOptions(cmdline)).toEqual({ options, fstype });
  });
  it('flags reach the unit', () => {
    expect(content(generatorFiles('imgbased.layer=latest rw rootfstype=xfs'), 'sysroot.mount')).toMatch(/Options=rw\nType=xfs\n/);
  });
});

describe('aliasRule', () => {
  it('matches the kernel name and adds the alias', () => {
    expect(aliasRule('dm-7', 'root+2')).toContain('KERNEL=="dm-7", ACTION!="remove", SYMLINK+="imgbased/root"');
  });
  it('refuses anything but dm-N', () => {
    expect(() => aliasRule('sda1', 'x')).toThrow();
    expect(() => aliasRule('dm-1", RUN+="/bin/sh', 'x')).toThrow();
  });
});

describe('generateStep', () => {
  it('writes into the early directory, symlinks included', async () => {
    const d = await mkdtemp(join(tmpdir(), 'imgbased-gen-'));
    try {
      const dirs = ['normal', 'early', 'late'].map((x) => join(d, x));
      expect(await generateStep(dirs, 'imgbased.layer=latest')).toBe(0);
      expect(await readdir(dirs[0]!).catch(() => [])).toEqual([]);
      expect(await readFile(join(dirs[1]!, 'sysroot.mount'), 'utf8')).toContain('What=/dev/imgbased/root');
      expect(await readlink(join(dirs[1]!, 'initrd-root-fs.target.requires/sysroot.mount'))).toBe('../sysroot.mount');
      // Idempotent (systemd re-runs generators on daemon-reload).
      expect(await generateStep(dirs, 'imgbased.layer=latest')).toBe(0);
    } finally {
      await rm(d, { recursive: true, force: true });
    }
  });
  it('no imgbased argument: the directory stays empty', async () => {
    const d = await mkdtemp(join(tmpdir(), 'imgbased-gen-'));
    try {
      expect(await generateStep([join(d, 'n'), join(d, 'e'), join(d, 'l')], 'root=/dev/sda1 ro')).toBe(0);
      expect(await readdir(d)).toEqual([]);
    } finally {
      await rm(d, { recursive: true, force: true });
    }
  });
});
