// imgbase motd, the pure half (core/motd): facts from this boot's records and the layout, lines from the facts.
// Nothing needs the admin: no lines at all.
import { describe, expect, it } from 'vitest';
import { entryId } from '../../src/core/bls';
import type { BootStatus } from '../../src/core/boot-status';
import { grubFellFrom, layerStates, nextDefault } from '../../src/core/boot-state';
import { healthFindings } from '../../src/core/health';
import { buildInventory, TAGS } from '../../src/core/inventory';
import { motdFacts, motdLines, type MotdInput } from '../../src/core/motd';
import { layoutRecords, lv } from './helpers/plan-fixtures';

const OLD = 'A-1-0+1';
const NEW = 'B-1-0+1';
const plain: BootStatus = { requested: OLD, booted: OLD, reason: 'requested', fallbacks: [], time: '2026-12-07T06:00:00Z' };

function input(o: Partial<MotdInput> & { records?: ReturnType<typeof layoutRecords> } = {}): MotdInput {
  const inv = buildInventory(o.records ?? layoutRecords(['A-1-0'], [OLD]));
  return {
    status: plain, grubFellBackFrom: null, states: layerStates(inv, {}), running: OLD,
    findings: healthFindings(inv, 80), nextDefault: OLD, ...o,
  };
}

const lines = (o: Partial<MotdInput> & { records?: ReturnType<typeof layoutRecords> } = {}): string[] => motdLines(motdFacts(input(o)));

describe('motd', () => {
  it('all well: no lines', () => {
    expect(lines()).toEqual([]);
    expect(motdFacts(input())).toEqual({ running: OLD, fallback: null, pool: [], degraded: [], pending: null });
  });

  it('GRUB fell back from a layer marked bad for its tries: from which layer and why', () => {
    const records = layoutRecords(['A-1-0', 'B-1-0'], [OLD, NEW]).map((r) => (r.name === NEW ? { ...r, tags: [...r.tags, 'imgbased:bad:20261207T055900Z:tries.3'] } : r));
    const inv = buildInventory(records);
    expect(lines({ records, grubFellBackFrom: NEW, states: layerStates(inv, {}), nextDefault: OLD })).toEqual([
      `imgbased: this boot fell back from layer ${NEW}: used up its 3 boot tries without coming up (GRUB fell back); running ${OLD}; see 'imgbase boot --status'`,
    ]);
  });

  it('GRUB fell back, not assessed yet: tries used up, and the layer is not announced as staged', () => {
    const records = layoutRecords(['A-1-0', 'B-1-0'], [OLD, NEW]);
    const env = {
      imgbased_try: NEW, imgbased_try_id: entryId(NEW), imgbased_tries: '2', imgbased_arm: '20261207T050000Z',
      imgbased_count: '20261207T050000Z:2', imgbased_fell: '20261207T050000Z',
    };
    const f = motdFacts(input({ records, grubFellBackFrom: grubFellFrom(env), states: layerStates(buildInventory(records), env), nextDefault: NEW }));
    expect(f.fallback).toEqual({ from: NEW, why: 'used up its 2 boot tries' });
    expect(f.pending).toBeNull();
    expect(motdLines(f)).toHaveLength(1);
  });

  it('the initramfs fell back: the layer asked for and why it was skipped', () => {
    const status: BootStatus = { ...plain, requested: NEW, reason: `requested layer ${NEW} not found`, fallbacks: [{ layer: NEW, why: 'not found in HostVG' }] };
    expect(lines({ status })).toEqual([`imgbased: this boot fell back from layer ${NEW}: not found in HostVG; running ${OLD}; see 'imgbase boot --status'`]);
    const junk: BootStatus = { ...plain, requested: 'x y', fallbacks: [{ layer: 'x y', why: 'not a layer name' }] };
    expect(lines({ status: junk })[0]).toContain('from layer "x y": not a layer name;');
  });

  it('the pool above the threshold: the line check prints', () => {
    const records = layoutRecords(['A-1-0'], [OLD]).map((r) => (r.name === 'pool' ? { ...r, dataPercent: 91.5 } : r));
    expect(lines({ findings: healthFindings(buildInventory(records), 80) })).toEqual([
      "imgbased: thin pool data 91.50 % used (threshold 80 %); see 'imgbase check'",
    ]);
  });

  it('check degraded: the first finding and how many more', () => {
    const records = layoutRecords(['A-1-0'], [OLD], [lv('C-1-0', [TAGS.base, TAGS.incomplete]), lv('pool2', [])]).map((r) => (r.name === 'pool' ? { ...r, tags: [] } : r));
    const findings = [...healthFindings(buildInventory(records), 80), { check: 'x', ok: false, message: 'second' }];
    const out = lines({ findings });
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(/^imgbased: check degraded: .+ \(and \d+ more\); see 'imgbase check'$/);
  });

  it('an update staged, not yet booted', () => {
    expect(nextDefault([OLD, NEW, NEW], null, new Set())).toBe(NEW);
    expect(nextDefault([OLD, NEW], null, new Set([NEW]))).toBe(OLD);
    expect(nextDefault([OLD, NEW], entryId(OLD), new Set())).toBe(OLD);
    expect(lines({ nextDefault: NEW })).toEqual([`imgbased: layer ${NEW} is staged and boots next (not booted yet); see 'imgbase update --status'`]);
  });

  it('everything at once: one line each, fallback first', () => {
    const status: BootStatus = { ...plain, fallbacks: [{ layer: NEW, why: 'no filesystem found' }] };
    const out = lines({ status, findings: [{ check: 'pool-metadata', ok: false, message: 'm' }, { check: 'bases', ok: false, message: 'd' }], nextDefault: 'A-1-0+2' });
    expect(out.map((l) => l.split(' ').slice(0, 3).join(' '))).toEqual(['imgbased: this boot', 'imgbased: m; see', 'imgbased: check degraded:', 'imgbased: layer A-1-0+2']);
  });
});
