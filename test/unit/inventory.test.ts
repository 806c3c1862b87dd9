import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ImgbasedError } from '../../src/core/errors';
import {
  LVS_FIELDS, TAGS, baseOfLayer, buildInventory, findBase, findLayer, latestBase, latestLayer, lvmJsonLogErrors, nextLayerName,
  parseLvsJson,
} from '../../src/core/inventory';
import type { Inventory, LvRecord } from '../../src/core/inventory';

const fixture = (name: string): string => readFileSync(join(__dirname, 'fixtures', name), 'utf8');
const inv = (name: string, opts?: { vg?: string }): Inventory => buildInventory(parseLvsJson(fixture(name)), opts);
const names = (xs: Array<{ name: string }>): string[] => xs.map((x) => x.name);
const kinds = (i: Inventory): string[] => i.problems.map((p) => `${p.kind} ${p.lv}`).sort();

describe('parseLvsJson', () => {
  test('reads every field of lvm 2.03 JSON and drops hidden LVs', () => {
    const recs = parseLvsJson(fixture('lvs-imgbased-host.json'));
    expect(recs.some((r) => r.name.startsWith('['))).toBe(false);
    expect(recs).toHaveLength(10);
    const pool = recs.find((r) => r.name === 'pool')!;
    expect(pool).toMatchObject({
      vg: 'HostVG', attr: 'twi-aotz--', sizeBytes: 32 * 1024 ** 3, pool: '', segtype: 'thin-pool', tags: ['imgbased:pool'],
      vgTags: ['imgbased:vg'], dataPercent: 23.45, metadataPercent: 10.12, active: true, readOnly: false,
      skipActivation: false, metadataSizeBytes: 16 * 1024 ** 2, path: '', // a thin pool has no device path
    });
    const base = recs.find((r) => r.name === 'Image-2-0')!;
    expect(base).toMatchObject({ readOnly: true, skipActivation: true, active: false, origin: 'root', dataPercent: null });
    expect(base.uuid).toMatch(/^\w{6}(-\w{4}){5}-\w{6}$/);
    const swap = recs.find((r) => r.name === 'swap')!;
    expect(swap).toMatchObject({ segtype: 'linear', pool: '', dataPercent: null, metadataPercent: null, metadataSizeBytes: null });
  });

  test('comma-separated tags become a list', () => {
    const recs = parseLvsJson(fixture('lvs-broken.json'));
    expect(recs.find((r) => r.name === 'Image-13-0+4')!.tags).toEqual(['imgbased:incomplete', 'imgbased:layer']);
  });

  test('tolerates numeric values, a "log" section, several reports and missing fields', () => {
    const text = JSON.stringify({
      report: [{ lv: [{ lv_name: 'a', vg_name: 'v', lv_size: 1024, lv_attr: 'Vri---tz-k' }] }, { lv: [] }, {}],
      log: [{ log_seq_num: '1' }],
    });
    const [r] = parseLvsJson(text);
    expect(r).toMatchObject({ name: 'a', sizeBytes: 1024, readOnly: true, skipActivation: true, active: false, tags: [] });
  });

  test.each(['', 'not json', '{"foo": 1}', 'null', '[]'])('rejects %j with an ImgbasedError', (text) => {
    expect(() => parseLvsJson(text)).toThrow(ImgbasedError);
  });

  test('LVS_FIELDS asks for what the records need', () => {
    for (const f of ['lv_name', 'vg_name', 'lv_attr', 'lv_size', 'pool_lv', 'origin', 'lv_tags', 'vg_tags', 'data_percent',
      'metadata_percent', 'lv_path', 'segtype', 'lv_skip_activation', 'lv_active', 'lv_permissions', 'lv_uuid']) {
      expect(LVS_FIELDS).toContain(f);
    }
    expect(new Set(LVS_FIELDS).size).toBe(LVS_FIELDS.length);
  });
});

describe('buildInventory: healthy host of this imgbased', () => {
  const i = inv('lvs-imgbased-host.json');
  test('VG and pool come from the tags', () => {
    expect(i.vg).toBe('HostVG');
    expect(i.pool?.name).toBe('pool');
  });
  test('bases and layers in rpm order, oldest first', () => {
    expect(names(i.bases)).toEqual(['Image-2-0', 'Image-13-0']);
    expect(names(i.layers)).toEqual(['Image-2-0+1', 'Image-13-0+1', 'Image-13-0+2']);
    expect(names(findBase(i, 'Image-13-0')!.layers)).toEqual(['Image-13-0+1', 'Image-13-0+2']);
    expect(findBase(i, 'Image-13-0')!.nvr).toEqual({ name: 'Image', version: '13', release: '0' });
    expect(findLayer(i, 'Image-13-0+2')).toMatchObject({ base: 'Image-13-0', index: 2 });
  });
  test('everything else is foreign, including the other VG, and is no problem', () => {
    expect(i.foreign.map((r) => `${r.vg}/${r.name}`).sort()).toEqual(['DataVG/data', 'HostVG/pool', 'HostVG/root', 'HostVG/swap', 'HostVG/var']);
    expect(i.problems).toEqual([]);
  });
  test('helpers', () => {
    expect(latestBase(i)?.name).toBe('Image-13-0');
    expect(latestLayer(i)?.name).toBe('Image-13-0+2');
    expect(findLayer(i, 'nope')).toBeNull();
    expect(findBase(i, 'Image-13-0+1')).toBeNull();
    expect(baseOfLayer(i, 'Image-2-0+1')?.name).toBe('Image-2-0');
    expect(baseOfLayer(i, findLayer(i, 'Image-13-0+1')!)?.name).toBe('Image-13-0');
    expect(baseOfLayer(i, 'junk')).toBeNull();
    expect(nextLayerName(i, 'Image-13-0')).toBe('Image-13-0+3');
    expect(nextLayerName(i, findBase(i, 'Image-2-0')!)).toBe('Image-2-0+2');
    expect(nextLayerName(i, 'New-1-0')).toBe('New-1-0+1');
  });
  test('an explicit VG overrides the tag', () => {
    const d = inv('lvs-imgbased-host.json', { vg: 'DataVG' });
    expect(d.vg).toBe('DataVG');
    expect(d.bases).toEqual([]);
    expect(d.layers).toEqual([]);
    expect(kinds(d)).toEqual(['no-pool ']);
  });
});

describe('buildInventory: host laid out by the original (oVirt) imgbased', () => {
  const i = inv('lvs-ovirt-node.json');
  test('read as-is', () => {
    expect(i.vg).toBe('onn');
    expect(i.pool?.name).toBe('pool00');
    expect(names(i.bases)).toEqual(['ovirt-node-ng-4.3.9-0.20200324.0', 'ovirt-node-ng-4.3.10-0.20200615.0']);
    expect(names(i.layers)).toEqual(['ovirt-node-ng-4.3.9-0.20200324.0+1', 'ovirt-node-ng-4.3.10-0.20200615.0+1']);
    expect(latestLayer(i)?.name).toBe('ovirt-node-ng-4.3.10-0.20200615.0+1');
    expect(i.problems).toEqual([]);
    const init = i.foreign.find((r) => r.tags.includes('imgbased:init'));
    expect(init?.name).toBe('root');
  });
});

describe('buildInventory: broken pieces are problems, never bases or layers', () => {
  const i = inv('lvs-broken.json');
  test('problems found', () => {
    expect(kinds(i)).toEqual([
      'bad-name scratch',
      'base-writable Broken-1-0',
      'foreign-tag DataVG/Stray-1-0+1',
      'half-created Image-13-0+4',
      'orphan-layer Gone-1-0+1',
      'untagged Image-2-0+3',
      'wrong-origin Image-13-0+5',
    ]);
    for (const p of i.problems) expect(p.message).not.toMatch(/\n/);
  });
  test('only sound layers are listed (a wrong origin is reported but still a layer)', () => {
    expect(names(i.bases)).toEqual(['Broken-1-0', 'Image-2-0', 'Image-13-0']);
    expect(names(i.layers)).toEqual(['Broken-1-0+1', 'Image-2-0+1', 'Image-13-0+1', 'Image-13-0+2', 'Image-13-0+5']);
    for (const n of ['Gone-1-0+1', 'Image-2-0+3', 'Image-13-0+4', 'scratch']) {
      expect(i.foreign.map((r) => r.name)).toContain(n);
    }
  });
  test('nextLayerName skips indices held by leftover LVs', () => {
    expect(nextLayerName(i, 'Image-2-0')).toBe('Image-2-0+4');
    expect(nextLayerName(i, 'Image-13-0')).toBe('Image-13-0+6');
    expect(nextLayerName(i, 'Gone-1-0')).toBe('Gone-1-0+2');
  });
  test('messages say what to do', () => {
    const orphan = i.problems.find((p) => p.kind === 'orphan-layer')!;
    expect(orphan.message).toBe('layer Gone-1-0+1 has no base Gone-1-0; remove it with lvremove HostVG/Gone-1-0+1 or restore the base');
  });
});

describe('buildInventory: hosts without bases', () => {
  test('plain host (no tags): no VG chosen, everything foreign', () => {
    const recs = parseLvsJson(fixture('lvs-plain-host.json'));
    const i = buildInventory(recs);
    expect(i).toMatchObject({ vg: null, pool: null, bases: [], layers: [], problems: [] });
    expect(i.foreign).toHaveLength(recs.length);
    expect(latestBase(i)).toBeNull();
    expect(latestLayer(i)).toBeNull();
  });
  test('plain host with an explicit VG finds its only thin pool', () => {
    const i = inv('lvs-plain-host.json', { vg: 'HostVG' });
    expect(i.pool?.name).toBe('pool');
    expect(i.problems).toEqual([]);
  });
  test('initialised VG with no bases left', () => {
    const i = inv('lvs-empty-vg.json');
    expect(i).toMatchObject({ vg: 'HostVG', bases: [], layers: [], problems: [] });
    expect(i.pool?.name).toBe('pool');
  });
  test('empty input', () => {
    expect(buildInventory([])).toEqual({ vg: null, pool: null, bases: [], layers: [], foreign: [], problems: [], others: [] });
  });
});

describe('buildInventory: edge cases from hand-made records', () => {
  const rec = (over: Partial<LvRecord>): LvRecord => ({
    vg: 'VG', name: 'x', attr: 'Vwi---tz--', sizeBytes: 1, pool: 'pool', origin: '', tags: [], vgTags: ['imgbased:vg'],
    dataPercent: null, metadataPercent: null, path: '', segtype: 'thin', skipActivation: false, active: false,
    readOnly: false, uuid: '', ...over,
  });
  test('several tagged VGs: the first by name is used and the ambiguity reported', () => {
    const i = buildInventory([rec({ vg: 'B', name: 'p', segtype: 'thin-pool' }), rec({ vg: 'A', name: 'p', segtype: 'thin-pool' })]);
    expect(i.vg).toBe('A');
    expect(kinds(i)).toEqual(['multiple-vgs ']);
  });
  test("several tagged VGs: the running root's VG is the layout, the other only a note (a disk being installed to)", () => {
    const recs = [
      rec({ vg: 'AInst', name: 'p', segtype: 'thin-pool' }),
      rec({ vg: 'Host-VG', name: 'p', segtype: 'thin-pool' }),
      rec({ vg: 'Host-VG', name: 'Image-1.0-0+1', segtype: 'thin', pool: 'p', tags: [TAGS.layer], origin: 'Image-1.0-0' }),
    ];
    const i = buildInventory(recs, { rootDm: 'Host--VG-Image--1.0--0+1' });
    expect(i.vg).toBe('Host-VG');
    expect(i.others).toEqual(['AInst']);
    expect(i.problems.filter((p) => p.kind === 'multiple-vgs')).toEqual([]);
    // A root outside every tagged VG decides nothing.
    expect(buildInventory(recs, { rootDm: 'other-root' }).problems.map((p) => p.kind)).toContain('multiple-vgs');
  });
  test('several untagged pools: none picked', () => {
    const i = buildInventory([rec({ name: 'p1', segtype: 'thin-pool' }), rec({ name: 'p2', segtype: 'thin-pool' })]);
    expect(i.pool).toBeNull();
    expect(kinds(i)).toEqual(['no-pool ']);
  });
  test('base tag on a non-NVR name, read-only layer, non-thin base', () => {
    const i = buildInventory([
      rec({ name: 'pool', segtype: 'thin-pool', tags: ['imgbased:pool'] }),
      rec({ name: 'notnvr', tags: ['imgbased:base'], readOnly: true }),
      rec({ name: 'L-1-0', tags: ['imgbased:base'], readOnly: true, segtype: 'linear' }),
      rec({ name: 'L-1-0+1', tags: ['imgbased:layer'], readOnly: true, origin: 'L-1-0' }),
    ]);
    expect(kinds(i)).toEqual(['bad-name notnvr', 'layer-read-only L-1-0+1', 'not-thin L-1-0']);
    expect(names(i.layers)).toEqual(['L-1-0+1']);
  });
  test('layer with origin "" (its parent layer was removed) is fine', () => {
    const i = buildInventory([
      rec({ name: 'pool', segtype: 'thin-pool', tags: ['imgbased:pool'] }),
      rec({ name: 'L-1-0', tags: ['imgbased:base'], readOnly: true }),
      rec({ name: 'L-1-0+2', tags: ['imgbased:layer'], origin: '' }),
      rec({ name: 'L-1-0+3', tags: ['imgbased:layer'], origin: 'L-1-0+2' }),
    ]);
    expect(i.problems).toEqual([]);
    expect(nextLayerName(i, 'L-1-0')).toBe('L-1-0+4');
  });
  test('200 layers stay in numeric order', () => {
    const recs = [rec({ name: 'B-1-0', tags: ['imgbased:base'], readOnly: true }), rec({ name: 'pool', segtype: 'thin-pool' })];
    for (let n = 200; n >= 1; n--) recs.push(rec({ name: `B-1-0+${n}`, tags: ['imgbased:layer'], origin: 'B-1-0' }));
    const i = buildInventory(recs);
    expect(i.layers.map((l) => l.index)).toEqual(Array.from({ length: 200 }, (_, k) => k + 1));
  });
});

describe('parseLvsJson: other lvm output shapes', () => {
  test('json_std (lvm >= 2.03.17): arrays for tags, numbers and null', () => {
    const text = JSON.stringify({ report: [{ lv: [{
      lv_name: 'B-1-0+1', vg_name: 'VG', lv_attr: 'Vwi-a-tz--', lv_size: 1073741824, lv_tags: ['imgbased:layer', 'x'],
      vg_tags: ['imgbased:vg'], data_percent: 12.5, metadata_percent: null, lv_active: 'active',
    }] }] });
    expect(parseLvsJson(text)[0]).toMatchObject({
      sizeBytes: 1073741824, tags: ['imgbased:layer', 'x'], vgTags: ['imgbased:vg'], dataPercent: 12.5, metadataPercent: null, active: true,
    });
  });
  test('lv_active "unknown" falls back to the attr column', () => {
    const row = (attr: string) => JSON.stringify({ report: [{ lv: [{ lv_name: 'a', vg_name: 'v', lv_attr: attr, lv_active: 'unknown' }] }] });
    expect(parseLvsJson(row('Vwi-a-tz--'))[0]!.active).toBe(true);
    expect(parseLvsJson(row('Vwi---tz--'))[0]!.active).toBe(false);
  });
  test('binary_values_as_numeric=1 and read-only activation of a writable LV', () => {
    const text = JSON.stringify({ report: [{ lv: [
      { lv_name: 'a', vg_name: 'v', lv_attr: 'VRi-a-tz--', lv_skip_activation: '1', lv_permissions: 'read-only-override' },
      { lv_name: 'b', vg_name: 'v', lv_attr: 'Vwi-a-tz--', lv_skip_activation: '0', lv_permissions: 'writeable' },
    ] }] });
    const [a, b] = parseLvsJson(text);
    expect([a!.skipActivation, a!.readOnly, b!.skipActivation, b!.readOnly]).toEqual([true, true, false, false]);
  });
});

describe('parseLvsJson: the command log beside the report (lvm 2.03.31, Debian 13)', () => {
  const row = { lv_name: 'B-1-0+1', vg_name: 'VG', lv_attr: 'Vwi-a-tz-k', lv_tags: 'imgbased:layer' };
  const errorEntry = {
    log_seq_num: '1', log_type: 'error', log_context: 'processing', log_object_type: 'vg', log_object_name: 'NoVG',
    log_object_id: '', log_object_group: '', log_object_group_id: '', log_message: 'Volume group "NoVG" not found',
    log_errno: '-1', log_ret_code: '5',
  };
  test('both shapes give the same records', () => {
    const without = JSON.stringify({ report: [{ lv: [row] }] });
    const withLog = JSON.stringify({ report: [{ lv: [row] }], log: [] });
    expect(parseLvsJson(withLog)).toEqual(parseLvsJson(without));
    expect(parseLvsJson(withLog)[0]).toMatchObject({ name: 'B-1-0+1', tags: ['imgbased:layer'], skipActivation: true });
  });
  test("the log's error messages name a failure; other entries and old output name none", () => {
    const status = { ...errorEntry, log_type: 'status', log_message: 'Processing VG' };
    expect(lvmJsonLogErrors(JSON.stringify({ report: [{ lv: [] }], log: [status, errorEntry] }))).toEqual(['Volume group "NoVG" not found']);
    expect(lvmJsonLogErrors(JSON.stringify({ report: [{ lv: [row] }] }))).toEqual([]);
    expect(lvmJsonLogErrors('  WARNING: not JSON')).toEqual([]);
    expect(lvmJsonLogErrors(fixture('lvs-recorded-lab-trixie.json'))).toEqual([]);
  });
});

describe('recorded in the VM lab (lvm 2.03.16 and 2.03.31, fixtures/record-lvs.sh)', () => {
  test.each([
    'lvs-recorded-lab.json', 'lvs-recorded-lab-numeric.json',
    'lvs-recorded-lab-trixie.json', 'lvs-recorded-lab-trixie-numeric.json', 'lvs-recorded-lab-trixie-std.json',
  ])('%s', (file) => {
    const recs = parseLvsJson(fixture(file));
    const i = buildInventory(recs);
    expect(i.vg).toBe('HostVG');
    expect(i.pool).toMatchObject({ name: 'pool', path: '', dataPercent: expect.any(Number), metadataPercent: expect.any(Number), metadataSizeBytes: 134217728 });
    expect(names(i.bases)).toEqual(['Image-2-0', 'Image-13-0']);
    expect(names(i.layers)).toEqual(['Image-2-0+1', 'Image-13-0+1', 'Image-13-0+2']);
    expect(kinds(i)).toEqual(['untagged Image-2-0+3']);
    const rec = (n: string): LvRecord => recs.find((r) => r.name === n)!;
    // Inactive writable LVs report lv_permissions "unknown": still writable.
    expect(rec('Image-2-0+1')).toMatchObject({ readOnly: false, skipActivation: true, active: false, dataPercent: null });
    expect(rec('Image-13-0')).toMatchObject({ readOnly: true, skipActivation: true, active: false });
    expect(rec('Image-13-0+2')).toMatchObject({ readOnly: false, skipActivation: true, active: true, dataPercent: 0 });
    expect(rec('root')).toMatchObject({ tags: ['imgbased:init'], skipActivation: false, active: true, sizeBytes: 4294967296 });
    expect(rec('swap')).toMatchObject({ segtype: 'linear', pool: '', vgFreeBytes: 1212153856, vgSizeBytes: 12251561984 });
    expect(nextLayerName(i, 'Image-2-0')).toBe('Image-2-0+4');
  });
});
