import { describe, expect, it } from 'vitest';
import { healthFindings } from '../../src/core/health';
import { buildInventory, type LvRecord } from '../../src/core/inventory';

const lv = (name: string, extra: Partial<LvRecord> = {}): LvRecord => ({
  vg: 'HostVG', name, attr: 'Vwi---tz-k', sizeBytes: 1 << 30, pool: 'pool', origin: '', tags: [], vgTags: ['imgbased:vg'],
  dataPercent: null, metadataPercent: null, path: `/dev/HostVG/${name}`, segtype: 'thin', skipActivation: true, active: false,
  readOnly: false, uuid: name, ...extra,
});

const host = (data: number, meta: number): LvRecord[] => [
  lv('pool', { segtype: 'thin-pool', pool: '', tags: ['imgbased:pool'], dataPercent: data, metadataPercent: meta, sizeBytes: 10 << 30 }),
  lv('X-1-0', { tags: ['imgbased:base'], readOnly: true }),
  lv('X-1-0+1', { tags: ['imgbased:layer'], origin: 'X-1-0' }),
];

describe('check findings', () => {
  it('healthy host', () => {
    expect(healthFindings(buildInventory(host(30, 10)), 80).every((f) => f.ok)).toBe(true);
  });
  it('a layer whose changes update did not carry is noted, with the command that acknowledges them; still healthy', () => {
    const recs = host(30, 10);
    recs[2] = lv('X-1-0+1', { tags: ['imgbased:layer', 'imgbased:uncarried'], origin: 'X-1-0' });
    const f = healthFindings(buildInventory(recs), 80);
    expect(f.every((x) => x.ok)).toBe(true);
    expect(f.find((x) => x.check === 'uncarried')?.message).toBe("note: layer X-1-0+1 holds changes outside /etc that update did not carry: gc keeps base X-1-0 until 'imgbase gc --ack X-1-0+1'");
  });
  it('pool above threshold is degraded', () => {
    const f = healthFindings(buildInventory(host(85, 10)), 80);
    expect(f.find((x) => x.check === 'pool-data')?.ok).toBe(false);
    expect(healthFindings(buildInventory(host(30, 81)), 80).find((x) => x.check === 'pool-metadata')?.ok).toBe(false);
  });
  it('a writable base and a half-created layer are reported', () => {
    const recs = host(30, 10);
    recs[1] = lv('X-1-0', { tags: ['imgbased:base'], readOnly: false });
    recs.push(lv('X-1-0+2', { tags: ['imgbased:layer', 'imgbased:incomplete'] }));
    const bad = healthFindings(buildInventory(recs), 80).filter((x) => !x.ok).map((x) => x.check);
    expect(bad).toEqual(expect.arrayContaining(['base-writable', 'half-created']));
  });
  it('an empty layout (no base yet) is healthy and says so', () => {
    const f = healthFindings(buildInventory(host(30, 10).slice(0, 1)), 80);
    expect(f.every((x) => x.ok)).toBe(true);
    expect(f.find((x) => x.check === 'bases')?.message).toMatch(/no bases yet/);
  });
});
