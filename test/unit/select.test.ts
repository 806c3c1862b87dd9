import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { buildInventory, parseLvsJson } from '../../src/core/inventory';
import type { Inventory, LvRecord } from '../../src/core/inventory';
import { bootCandidates, isSafeLayerArg } from '../../src/core/select';
import type { SelectInput } from '../../src/core/select';

const rec = (name: string, tags: string[], origin = ''): LvRecord => ({
  vg: 'VG', name, attr: 'Vwi---tz-k', sizeBytes: 1, pool: 'pool', origin, tags, vgTags: ['imgbased:vg'],
  dataPercent: null, metadataPercent: null, path: `/dev/VG/${name}`, segtype: 'thin', skipActivation: true,
  active: false, readOnly: tags.includes('imgbased:base'), uuid: '',
});
// Bases A-1-0 < A-2-0 (rpm order), layers A-1-0+1 A-1-0+2 A-2-0+1 A-2-0+2 A-2-0+10, plus a foreign LV.
const inv: Inventory = buildInventory([
  rec('A-2-0+10', ['imgbased:layer'], 'A-2-0'), rec('A-1-0', ['imgbased:base']), rec('A-2-0', ['imgbased:base']),
  rec('A-1-0+2', ['imgbased:layer'], 'A-1-0'), rec('A-2-0+2', ['imgbased:layer'], 'A-2-0'),
  rec('A-1-0+1', ['imgbased:layer'], 'A-1-0'), rec('A-2-0+1', ['imgbased:layer'], 'A-2-0'),
  rec('var', []), rec('Z-1-0+1', []),
]);
const ALL = ['A-1-0+1', 'A-1-0+2', 'A-2-0+1', 'A-2-0+2', 'A-2-0+10'];
const NEWEST_FIRST = [...ALL].reverse();
const layers = (input: Partial<SelectInput>): string[] => bootCandidates({ requested: null, inventory: inv, ...input }).map((c) => c.layer);
const first = (input: Partial<SelectInput>): { layer: string; reason: string } | undefined =>
  bootCandidates({ requested: null, inventory: inv, ...input })[0];

describe('bootCandidates: order', () => {
  test.each<[string | null, string[], string]>([
    ['A-2-0+1', ['A-2-0+1', 'A-1-0+2', 'A-1-0+1', 'A-2-0+2', 'A-2-0+10'], 'requested'],
    ['A-2-0+10', ['A-2-0+10', 'A-2-0+2', 'A-2-0+1', 'A-1-0+2', 'A-1-0+1'], 'requested'],
    ['A-1-0+1', ['A-1-0+1', 'A-1-0+2', 'A-2-0+1', 'A-2-0+2', 'A-2-0+10'], 'requested'],
    ['latest', NEWEST_FIRST, 'latest'],
    [null, NEWEST_FIRST, 'no imgbased.layer= given; newest layer'],
    // Missing: start at the newest layer older than the request.
    ['A-2-0+3', ['A-2-0+2', 'A-2-0+1', 'A-1-0+2', 'A-1-0+1', 'A-2-0+10'], 'requested layer A-2-0+3 not found'],
    ['A-1-0+9', ['A-1-0+2', 'A-1-0+1', 'A-2-0+1', 'A-2-0+2', 'A-2-0+10'], 'requested layer A-1-0+9 not found'],
    ['A-0-0+1', ALL, 'requested layer A-0-0+1 not found'],
    ['Z-9-0+1', NEWEST_FIRST, 'requested layer Z-9-0+1 not found'],
    ['Z-1-0+1', NEWEST_FIRST, 'requested layer Z-1-0+1 not found'], // an untagged LV is never booted
    // A base: its newest layer, never the base itself.
    ['A-1-0', ['A-1-0+2', 'A-1-0+1', 'A-2-0+1', 'A-2-0+2', 'A-2-0+10'], 'requested A-1-0 is a base, not a layer; bases are never booted'],
    ['A-2-0', NEWEST_FIRST, 'requested A-2-0 is a base, not a layer; bases are never booted'],
    ['A-1-5', ['A-1-0+2', 'A-1-0+1', 'A-2-0+1', 'A-2-0+2', 'A-2-0+10'], 'requested A-1-5 is a base, not a layer; bases are never booted'],
    // Garbage: newest first, the value itself is never echoed.
    ['', NEWEST_FIRST, 'empty imgbased.layer= value'],
    ['../../x', NEWEST_FIRST, 'invalid layer name (characters other than A-Z a-z 0-9 . _ + -)'],
    ['"A-2-0+1"', NEWEST_FIRST, 'invalid layer name (characters other than A-Z a-z 0-9 . _ + -)'],
    ["'A-2-0+1'", NEWEST_FIRST, 'invalid layer name (characters other than A-Z a-z 0-9 . _ + -)'],
    ['$(reboot)', NEWEST_FIRST, 'invalid layer name (characters other than A-Z a-z 0-9 . _ + -)'],
    ['A-2-0+1 A-1-0+1', NEWEST_FIRST, 'invalid layer name (characters other than A-Z a-z 0-9 . _ + -)'],
    ['a'.repeat(4096), NEWEST_FIRST, 'invalid layer name (longer than 128 characters)'],
    ['A-2-0+01', NEWEST_FIRST, 'invalid layer name (layer index must be a positive integer without leading zeros)'],
    ['foo', NEWEST_FIRST, 'invalid layer name (not a layer name (must be BASE+N))'],
    ['-x-1-0+1', NEWEST_FIRST, 'invalid layer name (starts with - or . or contains ..)'],
    ['LATEST', NEWEST_FIRST, 'invalid layer name (not a layer name (must be BASE+N))'],
  ])('%j', (requested, order, reason) => {
    const c = bootCandidates({ requested, inventory: inv });
    expect(c.map((x) => x.layer)).toEqual(order);
    expect(c[0]!.reason).toBe(reason);
    for (const x of c) expect(x.reason).not.toMatch(/[\n$"']|\.\.\//);
  });

  test('later candidates say how they relate to the request', () => {
    const c = bootCandidates({ requested: 'A-2-0+1', inventory: inv });
    expect(c.map((x) => x.reason)).toEqual([
      'requested', 'fallback (older than A-2-0+1)', 'fallback (older than A-2-0+1)',
      'fallback (newer than A-2-0+1)', 'fallback (newer than A-2-0+1)',
    ]);
    expect(bootCandidates({ requested: 'latest', inventory: inv })[1]!.reason).toBe('fallback (next newest)');
  });

  test('never a base, never a duplicate, never a foreign LV', () => {
    for (const requested of [null, 'latest', 'A-1-0', 'A-2-0+2', 'garbage', 'var']) {
      const got = layers({ requested });
      expect(new Set(got).size).toBe(got.length);
      expect([...got].sort()).toEqual([...ALL].sort());
    }
  });
});

describe('bootCandidates: skipping', () => {
  test('an unusable requested layer falls back to the next older, and says why', () => {
    const unusable = new Map([['A-2-0+2', 'fsck failed']]);
    expect(layers({ requested: 'A-2-0+2', unusable })).toEqual(['A-2-0+1', 'A-1-0+2', 'A-1-0+1', 'A-2-0+10']);
    expect(first({ requested: 'A-2-0+2', unusable })!.reason).toBe('requested layer A-2-0+2 unusable: fsck failed');
  });
  test('no tries left is skipped too; several notes read as one line', () => {
    const unusable = new Map([['A-2-0+10', 'activation failed']]);
    const triesLeft = new Map([['A-2-0+2', 0], ['A-2-0+1', 2]]);
    expect(first({ requested: 'latest', unusable, triesLeft })).toEqual({
      layer: 'A-2-0+1', reason: 'layer A-2-0+10 unusable: activation failed; layer A-2-0+2 has no boot tries left',
    });
    expect(first({ requested: 'A-9-0+1', unusable, triesLeft })!.reason).toBe(
      'requested layer A-9-0+1 not found; layer A-2-0+10 unusable: activation failed; layer A-2-0+2 has no boot tries left',
    );
  });
  test('skips after the first candidate are silent (the initramfs logs each fallback itself)', () => {
    const c = bootCandidates({ requested: 'A-2-0+10', inventory: inv, unusable: new Map([['A-2-0+1', 'x']]) });
    expect(c.map((x) => x.layer)).toEqual(['A-2-0+10', 'A-2-0+2', 'A-1-0+2', 'A-1-0+1']);
    expect(c[0]!.reason).toBe('requested');
  });
  test('everything unusable: nothing to boot', () => {
    const unusable = new Map(ALL.map((l) => [l, 'broken']));
    expect(layers({ requested: 'latest', unusable })).toEqual([]);
  });
  test('unknown names in the maps are ignored', () => {
    expect(layers({ requested: 'latest', unusable: new Map([['nope', 'x']]), triesLeft: new Map([['A-1-0', 0]]) })).toEqual(NEWEST_FIRST);
  });
});

describe('bootCandidates: real inventories', () => {
  const load = (f: string): Inventory => buildInventory(parseLvsJson(readFileSync(join(__dirname, 'fixtures', f), 'utf8')));
  test('empty VG and a host without imgbased give no candidates', () => {
    for (const f of ['lvs-empty-vg.json', 'lvs-plain-host.json']) {
      expect(bootCandidates({ requested: 'latest', inventory: load(f) })).toEqual([]);
      expect(bootCandidates({ requested: 'root', inventory: load(f) })).toEqual([]);
    }
  });
  test('broken host: half-created, untagged and orphan layers are never candidates', () => {
    const got = bootCandidates({ requested: 'Image-2-0+3', inventory: load('lvs-broken.json') });
    expect(got[0]).toEqual({ layer: 'Image-2-0+1', reason: 'requested layer Image-2-0+3 not found' });
    const names = got.map((c) => c.layer);
    for (const bad of ['Image-2-0+3', 'Image-13-0+4', 'Gone-1-0+1', 'scratch', 'Image-13-0']) expect(names).not.toContain(bad);
  });
  test('oVirt Node host: latest is the newest layer of the newest base', () => {
    expect(first({ requested: 'latest', inventory: load('lvs-ovirt-node.json') })).toEqual({
      layer: 'ovirt-node-ng-4.3.10-0.20200615.0+1', reason: 'latest',
    });
  });
});

describe('isSafeLayerArg', () => {
  test.each(['A-1-0+1', 'latest', 'A-1-0', 'a_b.c+d-e', 'x'.repeat(128)])('safe %j', (s) => {
    expect(isSafeLayerArg(s)).toBe(true);
  });
  test.each(['', '/', 'a/b', '..', 'a..b', '../../x', '"x"', "'x'", '$x', '$(x)', '`x`', 'a b', 'a\tb', 'a\nb', 'x'.repeat(129),
    '-x', '.x', 'a;b', 'a|b', 'a*', 'ä', 'a\0b'])('unsafe %j', (s) => {
    expect(isSafeLayerArg(s)).toBe(false);
  });
});
