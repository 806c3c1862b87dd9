// Which bases GC removes (core/update/gc), pure.
import { describe, expect, it } from 'vitest';
import { buildInventory, TAGS } from '../../src/core/inventory';
import { gcDecision, PIN_TAG } from '../../src/core/update/gc';
import { parseImgbasedConfig } from '../../src/core/update/config';
import { layoutRecords, lv } from './helpers/plan-fixtures';

const BASES = ['Image-1-0', 'Image-2-0', 'Image-3-0', 'Image-10-0'];
const LAYERS = ['Image-1-0+1', 'Image-2-0+1', 'Image-3-0+1', 'Image-10-0+1'];
const inv = (pinned: string[] = []) =>
  buildInventory(layoutRecords([], LAYERS, BASES.map((b) => lv(b, [TAGS.base, ...(pinned.includes(b) ? [PIN_TAG] : [])]))));

describe('gcDecision', () => {
  it('keeps the newest N bases (rpm order: 10 after 3), removes the older ones oldest first with their layers', () => {
    const d = gcDecision({ inv: inv(), keep: 2, protect: [] });
    expect(d.remove).toEqual([{ base: 'Image-1-0', layers: ['Image-1-0+1'] }, { base: 'Image-2-0', layers: ['Image-2-0+1'] }]);
    expect(d.keep).toEqual([{ base: 'Image-3-0', why: ['one of the newest 2'] }, { base: 'Image-10-0', why: ['one of the newest 2'] }]);
  });

  it('never the pinned base, nor the base of the running, default or last good layer', () => {
    const d = gcDecision({
      inv: inv(['Image-1-0']), keep: 1,
      protect: [{ layer: 'Image-2-0+1', why: 'the running' }, { layer: 'Image-10-0+1', why: 'the default' }, { layer: null, why: 'the last good' }],
    });
    expect(d.remove.map((r) => r.base)).toEqual(['Image-3-0']);
    expect(d.keep).toEqual([
      { base: 'Image-1-0', why: ['pinned'] },
      { base: 'Image-2-0', why: ['the running layer Image-2-0+1'] },
      { base: 'Image-10-0', why: ['one of the newest 1', 'the default layer Image-10-0+1'] },
    ]);
  });

  it('keep must be at least 1', () => {
    expect(() => gcDecision({ inv: inv(), keep: 0, protect: [] })).toThrow(/at least 1/);
  });
});

describe('imgbased.conf', () => {
  it('keep-bases, default 2; anything else is an error naming the line', () => {
    expect(parseImgbasedConfig(null)).toEqual({ keepBases: 2, packages: 'stop' });
    expect(parseImgbasedConfig('# mine\nkeep-bases = 3\n').keepBases).toBe(3);
    expect(() => parseImgbasedConfig('keep-bases=0\n')).toThrow('/etc/imgbased/imgbased.conf:1: keep-bases must be a whole number from 1 to 1000');
    expect(() => parseImgbasedConfig('\nimages-to-keep=2\n')).toThrow('/etc/imgbased/imgbased.conf:2: unknown setting images-to-keep (known: keep-bases, packages)');
  });
});
