// The checks behind `imgbase check`, as a pure function of the inventory.
import { TAGS, type Inventory } from './inventory';
import { poolSpace } from './space';
import { ackCommand, UNCARRIED_TAG } from './update/gc';

export interface Finding {
  check: string;
  ok: boolean;
  message: string;
}

/** Pool usage (data and metadata, percent) from which `check` reports the pool as degraded. */
export const DEFAULT_THRESHOLD = 80;

export function healthFindings(inv: Inventory, thresholdPercent: number): Finding[] {
  const out: Finding[] = [];
  if (!inv.vg) return [{ check: 'vg', ok: false, message: `no VG tagged ${TAGS.vg}` }];
  out.push({ check: 'vg', ok: true, message: `VG ${inv.vg} tagged ${TAGS.vg}` });
  for (const o of inv.others) out.push({ check: 'vg', ok: true, message: `note: VG ${o} is another imgbased layout (not the running system's): left alone` });
  if (!inv.pool) {
    out.push({ check: 'pool', ok: false, message: `no thin pool in ${inv.vg}` });
  } else {
    const s = poolSpace(inv.pool);
    const tagged = inv.pool.tags.includes(TAGS.pool);
    out.push({ check: 'pool-tag', ok: tagged, message: tagged ? `pool ${inv.pool.name} tagged ${TAGS.pool}` : `pool ${inv.pool.name} lacks tag ${TAGS.pool} ('imgbase check --repair' tags it)` });
    out.push({
      check: 'pool-data',
      ok: s.dataPercent < thresholdPercent,
      message: `thin pool data ${s.dataPercent.toFixed(2)} % used (threshold ${thresholdPercent} %)`,
    });
    out.push({
      check: 'pool-metadata',
      ok: s.metadataPercent < thresholdPercent,
      message: `thin pool metadata ${s.metadataPercent.toFixed(2)} % used (threshold ${thresholdPercent} %)`,
    });
  }
  // An empty layout (tagged VG and pool, no base yet, e.g. after repair undid an interrupted layout --init) is valid:
  // 'base --add' or 'layout --init' fill it.
  out.push({
    check: 'bases', ok: true,
    message: inv.bases.length > 0 ? `${inv.bases.length} base(s), ${inv.layers.length} layer(s)` : "no bases yet: an empty layout ('imgbase layout --init' or 'imgbase base --add' adds one)",
  });
  // Not damage, but the admin's to settle: what update left behind under carry = warn (core/update/gc).
  for (const l of inv.layers.filter((x) => x.lv.tags.includes(UNCARRIED_TAG))) {
    out.push({ check: 'uncarried', ok: true, message: `note: layer ${l.name} holds changes outside /etc that update did not carry: gc keeps base ${l.base} until '${ackCommand(l.name)}'` });
  }
  for (const p of inv.problems) out.push({ check: p.kind, ok: false, message: p.message });
  return out;
}
