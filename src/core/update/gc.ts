// Which bases garbage collection removes (after a good update, or `imgbase gc`), pure. Kept: the newest `keep`
// bases, pinned ones (LVM tag imgbased:pin), and the base of any layer that must stay — the running layer, the
// default and the last good one — and the base of a layer whose changes an update did not carry (carry = warn) until
// the admin acknowledges them. A removed base takes its layers with it.
import type { Inventory } from '../inventory';

export const PIN_TAG = 'imgbased:pin';
/** On a layer whose changes outside /etc `update` did not carry (carry = warn): its base stays until acknowledged. */
export const UNCARRIED_TAG = 'imgbased:uncarried';

/** The command that acknowledges a layer's uncarried changes (and lets gc remove its base again). */
export const ackCommand = (layer: string): string => `imgbase gc --ack ${layer}`;
export const DEFAULT_KEEP = 2;

export interface GcInput {
  inv: Inventory;
  keep: number;
  /** Layers that must stay (running, default, last good); null entries are ignored. */
  protect: ReadonlyArray<{ layer: string | null; why: string }>;
}

export interface GcDecision {
  /** Oldest first: the order the removals run in. */
  remove: Array<{ base: string; layers: string[] }>;
  keep: Array<{ base: string; why: string[] }>;
}

export function gcDecision({ inv, keep, protect }: GcInput): GcDecision {
  if (!Number.isInteger(keep) || keep < 1) throw new Error(`keep must be a whole number of bases, at least 1, not ${keep}`);
  const bases = inv.bases; // oldest first (inventory order)
  const why = new Map<string, string[]>(bases.map((b) => [b.name, []]));
  bases.slice(-keep).forEach((b) => why.get(b.name)!.push(`one of the newest ${keep}`));
  for (const b of bases) if (b.lv.tags.includes(PIN_TAG)) why.get(b.name)!.push('pinned');
  for (const l of inv.layers) {
    if (l.lv.tags.includes(UNCARRIED_TAG)) why.get(l.base)?.push(`layer ${l.name} holds changes update did not carry ('${ackCommand(l.name)}' once they are saved)`);
  }
  for (const p of protect) {
    if (p.layer === null) continue;
    const l = inv.layers.find((x) => x.name === p.layer);
    if (l) why.get(l.base)?.push(`${p.why} layer ${l.name}`);
  }
  return {
    remove: bases.filter((b) => why.get(b.name)!.length === 0).map((b) => ({ base: b.name, layers: b.layers.map((l) => l.name) })),
    keep: bases.filter((b) => why.get(b.name)!.length > 0).map((b) => ({ base: b.name, why: why.get(b.name)! })),
  };
}
