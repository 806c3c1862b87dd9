// `imgbase install` across Debian releases (npm run test:install): a Debian 13 image installed from a Debian 12
// machine, and a Debian 12 image from a Debian 13 machine; each installed disk then boots alone through its own GRUB
// (SeaBIOS), which must read the /boot the other release's tools made. The machines are the layered hosts of the two
// labs; the images the labs' trees with imgbased installed (fixtures/release-image.ts) on read-only disks.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { boot, expectDone, overlay, type BootResult, type Lab } from './lab';
import { outputDir } from './lab/paths';
import type { Release } from './lab/release';
import { ensureLayeredHost } from './fixtures/layered';
import { labOf, releaseImage } from './fixtures/release-image';
import { RECORD_SH, recorded } from './script-run';
import { WAIT_ASSESS_SH } from './guest-sh';

const VG = 'CrossVG';
const INSTALL = String.raw`set -u
${RECORD_SH}mark machine "$(. /etc/os-release; echo "$VERSION_ID")"
t install imgbase install --disk /dev/vdb --from /dev/vdc --vg ${VG} --no-data --kernel-arg console=ttyS0,115200 --kernel-arg panic=-1
vgchange -qq -an ${VG}
`;
const BOOTED = String.raw`set -u
${RECORD_SH}${WAIT_ASSESS_SH}mark os "$(. /etc/os-release; echo "$VERSION_ID")"
mark root "$(lvs --noheadings -o lv_name "$(findmnt -no SOURCE /)" | xargs)"
mark assess "$(waitassess)"
mountpoint -q /boot || mount /boot
t check imgbase check
`;

const dir = outputDir('install-cross-disks');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** From a `machine` host, install the `image` release's image onto a blank disk; then boot that disk alone. */
async function across(machine: Lab, image: Lab): Promise<{ inst: BootResult; booted: BootResult }> {
  const name = `install-${machine.release}-to-${image.release}`;
  const img = path.join(dir, `${image.release}.raw`);
  const disk = path.join(dir, `${name}.qcow2`);
  await releaseImage(image, img);
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', disk, '8G']);
  const layered = await ensureLayeredHost(machine);
  const inst = await boot({
    name, disk: await overlay(layered.disk, name), timeoutS: 1800, script: INSTALL,
    extraDisks: [disk, { file: img, format: 'raw', readonly: true }],
  });
  expectDone(inst);
  rmSync(img, { force: true });
  const booted = await boot({ name: `${name}-booted`, disk, timeoutS: 900, script: BOOTED });
  expectDone(booted);
  return { inst, booted };
}

const runs: Partial<Record<'to13' | 'to12', { inst: BootResult; booted: BootResult }>> = {};

describe.runIf(process.env.IMGBASED_INSTALL === '1')('imgbase install across Debian releases', () => {
  beforeAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const lab = (r: Release): Promise<Lab> => labOf(r, inject('lab'));
    const [l12, l13] = [await lab('bookworm'), await lab('trixie')];
    runs.to13 = await across(l12, l13);
    runs.to12 = await across(l13, l12);
  }, 120 * 60_000);

  for (const [key, from, to] of [['to13', '12', '13'], ['to12', '13', '12']] as const) {
    it(`a Debian ${to} image installed from a Debian ${from} machine boots alone through its own GRUB; check clean`, () => {
      const { inst, booted } = runs[key]!;
      const r = recorded(() => inst);
      expect(inst.markers.machine).toEqual([from]);
      expect(r.rc('install'), r.err('install')).toBe(0);
      expect(booted.markers.os).toEqual([to]);
      expect(booted.markers.root).toEqual([`debian-${to}-0+1`]);
      expect(booted.markers.assess).toEqual(['active']);
      expect(recorded(() => booted).rc('check')).toBe(0);
    });
  }
});
