// The generator is plain sh (dracut/90imgbased/imgbased-generator); these run it as systemd would.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT_ALIAS_LINK, ROOT_MARKER_PREFIX, rootMarkerPath } from '../../src/initrd/units';

const GENERATOR = join(__dirname, '../../dracut/90imgbased/imgbased-generator');
const made: string[] = [];
afterEach(async () => {
  for (const d of made.splice(0)) await rm(d, { recursive: true, force: true });
});

type Files = Record<string, string>;

/** Runs the generator with CMDLINE; returns the files of the EARLY dir (symlinks as "-> target"). */
async function generate(cmdline: string): Promise<Files> {
  const d = await mkdtemp(join(tmpdir(), 'imgbased-gen-'));
  made.push(d);
  const dirs = ['normal', 'early', 'late'].map((x) => join(d, x));
  execFileSync('sh', [GENERATOR, ...dirs], { env: { PATH: process.env.PATH, IMGBASED_GENERATOR_CMDLINE: cmdline } });
  expect(await readdir(d).then((x) => x.filter((n) => n !== 'early'))).toEqual([]);
  const out: Files = {};
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const p = join(dir, e.name);
      const rel = relative(dirs[1]!, p);
      if (e.isSymbolicLink()) out[rel] = `-> ${await readlink(p)}`;
      else if (e.isDirectory()) await walk(p);
      else out[rel] = await readFile(p, 'utf8');
    }
  };
  await walk(dirs[1]!);
  return out;
}

describe('imgbased-generator', () => {
  it.each([
    ['no imgbased argument', 'BOOT_IMAGE=/vmlinuz root=/dev/HostVG/root ro quiet'],
    ['kill switch', 'imgbased.layer=latest rd.imgbased=0'],
    ['kill switch (no)', 'imgbased.layer=latest rd.imgbased=no'],
    ['similar names only', 'rd.imgbased=1 imgbasedlayer=x myimgbased.layer=x'],
    ['after --', 'root=/dev/sda1 -- imgbased.layer=x'],
    ['empty', ''],
  ])('%s: writes nothing', async (_n, cmdline) => {
    expect(await generate(cmdline)).toEqual({});
  });

  it('imgbased.layer=: sysroot.mount on the alias, after the select service (which runs the fsck)', async () => {
    const files = await generate('imgbased.layer=rhvh-4.3-0.2+1 console=ttyS0');
    expect(Object.keys(files).sort()).toEqual([
      'dev-imgbased-root.device.d/50-imgbased-timeout.conf',
      'initrd-root-device.target.d/50-root-device.conf',
      'initrd-root-fs.target.requires/sysroot.mount',
      'initrd.target.wants/imgbased-select.service',
      'sysroot.mount',
    ]);
    const mount = files['sysroot.mount']!;
    expect(mount).toContain('\nWhat=/dev/imgbased/root\n');
    expect(mount).toContain('\nWhere=/sysroot\n');
    expect(mount).toContain('\nOptions=ro\n');
    expect(mount).toContain('\nRequires=imgbased-select.service\nAfter=imgbased-select.service\n');
    expect(mount).not.toContain('fsck');
    expect(mount).toContain('\nBefore=initrd-root-fs.target\n');
    expect(mount).not.toContain('Type=');
    expect(files['initrd-root-fs.target.requires/sysroot.mount']).toBe('-> ../sysroot.mount');
    expect(files['initrd.target.wants/imgbased-select.service']).toBe('-> /usr/lib/systemd/system/imgbased-select.service');
    // Same drop-in name as systemd-fstab-generator's, so root= is not waited for.
    const dropin = files['initrd-root-device.target.d/50-root-device.conf']!;
    expect(dropin).toContain('Requires=dev-imgbased-root.device\nAfter=dev-imgbased-root.device');
    expect(dropin).not.toMatch(/HostVG/);
    expect(files['dev-imgbased-root.device.d/50-imgbased-timeout.conf']).toContain('JobRunningTimeoutSec=180');
  });

  it('the units are the same whatever the layer value (the value never reaches a unit file)', async () => {
    const a = await generate('imgbased.layer=latest');
    for (const v of ['x', '"$(reboot)"', '`reboot`', '../../etc', '', '*', 'a'.repeat(4096), 'root+1\nExecStart=/bin/sh']) {
      expect(await generate(`imgbased.layer=${v} `)).toEqual(a);
    }
    expect(await generate('imgbased.debug')).toEqual(a);
    expect(await generate('imgbased.vg=HostVG')).toEqual(a);
  });

  it('root= and rd.lvm.lv= present too: still our units (imgbased.layer wins)', async () => {
    const files = await generate('root=/dev/HostVG/root+1 rd.lvm.lv=HostVG/root+1 imgbased.layer=root+2');
    expect(files['sysroot.mount']).toContain('What=/dev/imgbased/root');
  });

  it('last rd.imgbased wins', async () => {
    expect(await generate('rd.imgbased=0 imgbased.layer=latest rd.imgbased=1')).not.toEqual({});
  });

  it.each([
    ['', 'ro', null],
    ['ro', 'ro', null],
    ['rw', 'rw', null],
    ['ro rw', 'rw', null],
    ['rw ro', 'ro', null],
    ['rootflags=noatime,discard rootfstype=ext4', 'ro,noatime,discard', 'ext4'],
    ['rootflags=$(x) rootfstype=a;b', 'ro', null],
    ['rw rootflags="bad value"', 'rw', null],
  ])('%j -> Options=%s Type=%s', async (cmdline, options, fstype) => {
    const mount = (await generate(`imgbased.layer=latest ${cmdline}`))['sysroot.mount']!;
    expect(mount).toContain(`\nOptions=${options}\n`);
    if (fstype) expect(mount).toContain(`\nType=${fstype}\n`);
    else expect(mount).not.toContain('Type=');
  });

  it('is idempotent (systemd re-runs generators on daemon-reload)', async () => {
    const d = await mkdtemp(join(tmpdir(), 'imgbased-gen-'));
    made.push(d);
    const run = (): void => {
      execFileSync('sh', [GENERATOR, join(d, 'n'), join(d, 'e'), join(d, 'l')], {
        env: { PATH: process.env.PATH, IMGBASED_GENERATOR_CMDLINE: 'imgbased.layer=latest' },
      });
    };
    run();
    run();
    expect(await readlink(join(d, 'e/initrd-root-fs.target.requires/sysroot.mount'))).toBe('../sysroot.mount');
  });
});

describe('root alias', () => {
  it('marks dm-N only', () => {
    expect(rootMarkerPath('dm-7')).toBe('/run/imgbased/root-dm-7');
    expect(rootMarkerPath('vda2')).toBe('/run/imgbased/root-vda2');
    expect(() => rootMarkerPath('dm-1/../../etc')).toThrow();
  });
  it('the static udev rule tests the same marker and adds the same link', async () => {
    const rule = await readFile(join(__dirname, '../../dracut/90imgbased/90-imgbased-root.rules'), 'utf8');
    const line = rule.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
    expect(line).toHaveLength(1);
    expect(line[0]).toContain(`TEST=="${ROOT_MARKER_PREFIX}%k"`);
    expect(line[0]).toContain(`SYMLINK+="${ROOT_ALIAS_LINK}"`);
    expect(line[0]).toContain('SUBSYSTEM=="block"');
  });
});
