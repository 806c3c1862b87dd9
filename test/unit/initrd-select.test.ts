// The initramfs decision as a table over a recorded-layout inventory: which layer is tried first, with which
// reason, and how the request itself is reported as a fallback.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildInventory, parseLvsJson } from '../../src/core/inventory';
import { bootCandidates } from '../../src/core/select';
import { mountError, requestProblem, rootWaitHooks } from '../../src/initrd/select';

const inv = buildInventory(parseLvsJson(readFileSync(join(__dirname, 'fixtures/lvs-imgbased-host.json'), 'utf8')));
// layers: Image-2-0+1 < Image-13-0+1 < Image-13-0+2

describe('initrd select: request -> first layer, reason, reported fallback', () => {
  it.each([
    ['Image-13-0+1', 'Image-13-0+1', null],
    ['latest', 'Image-13-0+2', null],
    [null, 'Image-13-0+2', null],
    ['Image-13-0+9', 'Image-13-0+2', 'not found in HostVG'],
    ['Image-2-0+7', 'Image-2-0+1', 'not found in HostVG'],
    ['Image-13-0', 'Image-13-0+2', 'is a base, not a layer; bases are never booted'],
    ['', 'Image-13-0+2', 'empty imgbased.layer= value'],
    ['../../x', 'Image-13-0+2', 'invalid layer name'],
    ['$(reboot)', 'Image-13-0+2', 'invalid layer name'],
    ['a b', 'Image-13-0+2', 'invalid layer name'],
    ['"root+1"', 'Image-13-0+2', 'invalid layer name'],
    ['x'.repeat(4096), 'Image-13-0+2', 'invalid layer name'],
  ])('%j -> %s (%s)', (requested, first, why) => {
    const c = bootCandidates({ requested, inventory: inv });
    expect(c[0]?.layer).toBe(first);
    expect(requested === null || requested === 'latest' ? null : requestProblem(inv, requested)).toBe(why);
  });

  it('a layer that failed is skipped and named in the next reason', () => {
    const unusable = new Map([['Image-13-0+2', 'ext4 filesystem does not mount: bad superblock']]);
    const c = bootCandidates({ requested: 'Image-13-0+2', inventory: inv, unusable });
    expect(c[0]).toEqual({ layer: 'Image-13-0+1', reason: expect.stringContaining('Image-13-0+2 unusable: ext4 filesystem does not mount') });
    expect(c.map((x) => x.layer)).toEqual(['Image-13-0+1', 'Image-2-0+1']);
  });

  it('every layer failed: nothing left to try', () => {
    const unusable = new Map(inv.layers.map((l) => [l.name, 'x']));
    expect(bootCandidates({ requested: 'latest', inventory: inv, unusable })).toEqual([]);
  });

  it('no imgbased VG: nothing to try, and the request is reported as not found', () => {
    const empty = buildInventory([]);
    expect(bootCandidates({ requested: 'latest', inventory: empty })).toEqual([]);
    expect(requestProblem(empty, 'Image-13-0+1')).toBe('not found in any imgbased volume group');
  });
});

describe('rootWaitHooks: dracut\'s wait for the root= device, cancelled once a layer is chosen', () => {
  it('the hook names dracut\'s wait_for_dev writes, / as \\x2f; nothing for what is not a device path', () => {
    expect(rootWaitHooks('/dev/BiosVG/Image-4.0-0+1')).toEqual([
      'initqueue/finished/devexists-\\x2fdev\\x2fBiosVG\\x2fImage-4.0-0+1.sh', 'emergency/80-\\x2fdev\\x2fBiosVG\\x2fImage-4.0-0+1.sh',
    ]);
    expect(rootWaitHooks('UUID=1234-abcd')[0]).toBe('initqueue/finished/devexists-\\x2fdev\\x2fdisk\\x2fby-uuid\\x2f1234-abcd.sh');
    expect(rootWaitHooks('')).toEqual([]);
    expect(rootWaitHooks('nfs:server:/x')).toEqual([]);
    expect(rootWaitHooks('/dev/../etc/passwd')).toEqual([]);
  });
});

describe('mountError', () => {
  it('takes the reason, not the dmesg hint', () => {
    const stderr = 'mount: /run/imgbased/probe: wrong fs type, bad option, bad superblock on /dev/dm-7, missing codepage or helper program, or other error.\n       dmesg(1) may have more information after failed mount system call.';
    expect(mountError(stderr, 32)).toBe('wrong fs type, bad option, bad superblock on /dev/dm-7, missing codepage or helper program, or other error');
    expect(mountError('', 32)).toBe('mount exit 32');
  });
});
