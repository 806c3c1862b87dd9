// Which bases GC removes (core/update/gc), pure.
import { describe, expect, it } from 'vitest';
import { buildInventory, TAGS } from '../../src/core/inventory';
import { gcDecision, PIN_TAG, UNCARRIED_TAG } from '../../src/core/update/gc';
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

  it('never the base of a layer tagged as holding changes update did not carry, until acknowledged', () => {
    const records = layoutRecords([], LAYERS.slice(1), [...BASES.map((b) => lv(b, [TAGS.base])), lv('Image-1-0+1', [TAGS.layer, UNCARRIED_TAG], { origin: 'Image-1-0' })]);
    const d = gcDecision({ inv: buildInventory(records), keep: 2, protect: [] });
    expect(d.remove.map((r) => r.base)).toEqual(['Image-2-0']);
    expect(d.keep[0]).toEqual({ base: 'Image-1-0', why: ["layer Image-1-0+1 holds changes update did not carry ('imgbase gc --ack Image-1-0+1' once they are saved)"] });
  });

  it('keep must be at least 1', () => {
    expect(() => gcDecision({ inv: inv(), keep: 0, protect: [] })).toThrow(/at least 1/);
  });
});

describe('imgbased.conf', () => {
  it('keep-bases, default 2; anything else is an error naming the line', () => {
    expect(parseImgbasedConfig(null)).toEqual({ keepBases: 2, packages: 'stop', carry: 'yes', carryLimit: 1024 ** 3 });
    expect(parseImgbasedConfig('# mine\nkeep-bases = 3\n')).toMatchObject({ keepBases: 3 });
    expect(() => parseImgbasedConfig('keep-bases=0\n')).toThrow('/etc/imgbased/imgbased.conf:1: keep-bases must be a whole number from 1 to 1000');
    expect(() => parseImgbasedConfig('\nimages-to-keep=2\n')).toThrow('/etc/imgbased/imgbased.conf:2: unknown setting images-to-keep (known: keep-bases, packages, carry, carry-limit)');
  });

  it('carry = yes | warn | refuse, carry-limit a size', () => {
    expect(parseImgbasedConfig('carry = warn\ncarry-limit = 500M\n')).toEqual({ keepBases: 2, packages: 'stop', carry: 'warn', carryLimit: 500 * 1024 ** 2 });
    expect(parseImgbasedConfig('carry-limit=0\n').carryLimit).toBe(0);
    expect(() => parseImgbasedConfig('carry = maybe\n')).toThrow('/etc/imgbased/imgbased.conf:1: carry must be yes or warn or refuse');
    expect(() => parseImgbasedConfig('carry-limit = lots\n')).toThrow('/etc/imgbased/imgbased.conf:1: carry-limit must be a size (1G, 500M, 0)');
  });
});
