// The boot-time selection policy: kernel argument + inventory (+ what already failed) -> ordered layers to
// try, each with a reason that reads well in "imgbased: booting LAYER (reason)". Pure, so it is a table test.

import type { Inventory } from './inventory';
import { compareBaseNames, compareLayerNames, parseLayerName, validateBaseName, validateLayerName } from './naming';

export interface Candidate {
  layer: string;
  reason: string;
}

export interface SelectInput {
  /** Raw imgbased.layer= value; null when not given. */
  requested: string | null;
  inventory: Inventory;
  /** Layers that already failed this boot (activation, fsck, mount) -> why. */
  unusable?: ReadonlyMap<string, string>;
  /** Boot counting: a layer with 0 tries left is skipped. */
  triesLeft?: ReadonlyMap<string, number>;
  /** Layers marked bad (boot counting): never chosen by themselves; one requested by name still boots. */
  bad?: ReadonlySet<string>;
}

export const MAX_LAYER_ARG = 128;

/** Why a raw kernel-argument value must not even be echoed or looked up, or null if it is harmless. */
function unsafeReason(s: string): string | null {
  if (s.length === 0) return 'empty value';
  if (s.length > MAX_LAYER_ARG) return `longer than ${MAX_LAYER_ARG} characters`;
  if (!/^[A-Za-z0-9._+-]+$/.test(s)) return 'characters other than A-Z a-z 0-9 . _ + -';
  if (s.startsWith('-') || s.startsWith('.') || s.includes('..')) return 'starts with - or . or contains ..';
  return null;
}

/** True when s is safe to log and to use as an LV name lookup: no '/', '..', quotes, '$', spaces; <=128 chars. */
export function isSafeLayerArg(s: string): boolean {
  return unsafeReason(s) === null;
}

type Plan = { order: string[]; note: string | null; first: string; relation: (l: string) => string };

function plan(requested: string | null, names: string[]): Plan {
  const newestFirst = [...names].reverse();
  const newest = (note: string | null, first: string): Plan =>
    ({ order: newestFirst, note, first, relation: () => 'fallback (next newest)' });
  // Split around a pivot: older layers newest-first (the usual fallback), then newer ones closest-first.
  const around = (isOlder: (l: string) => boolean, req: string, note: string | null): Plan => {
    const older = names.filter(isOlder);
    const newer = names.filter((l) => !isOlder(l) && l !== req);
    const order = [...(names.includes(req) ? [req] : []), ...older.reverse(), ...newer];
    return {
      order, note, first: 'requested',
      relation: (l) => (isOlder(l) ? `fallback (older than ${req})` : `fallback (newer than ${req})`),
    };
  };

  if (requested === null) return newest('no imgbased.layer= given; newest layer', '');
  if (requested === 'latest') return newest(null, 'latest');
  if (requested === '') return newest('empty imgbased.layer= value', '');
  const unsafe = unsafeReason(requested);
  if (unsafe) return newest(`invalid layer name (${unsafe})`, '');
  const lerr = validateLayerName(requested);
  if (lerr === null) {
    const isOlder = (l: string): boolean => compareLayerNames(l, requested) < 0;
    return around(isOlder, requested, names.includes(requested) ? null : `requested layer ${requested} not found`);
  }
  if (validateBaseName(requested) === null) {
    // A base is never a writable root: boot its newest layer, as if the request were "<base>+infinity".
    const isOlder = (l: string): boolean => compareBaseNames(parseLayerName(l)?.base ?? '', requested) <= 0;
    return around(isOlder, requested, `requested ${requested} is a base, not a layer; bases are never booted`);
  }
  return newest(`invalid layer name (${lerr})`, '');
}

/**
 * Ordered layers for the initramfs to try one by one; never a base, no duplicates. The first entry's reason
 * explains the choice (including any request that was missing, invalid or skipped); later entries say how
 * they relate to the request. Layers in `unusable` or with 0 tries left are left out.
 */
export function bootCandidates(input: SelectInput): Candidate[] {
  const names = [...new Set(input.inventory.layers.map((l) => l.name))].sort(compareLayerNames);
  const p = plan(input.requested, names);
  const notes: string[] = p.note ? [p.note] : [];
  const out: Candidate[] = [];
  for (const layer of new Set(p.order)) {
    const why = input.unusable?.get(layer);
    const tries = input.triesLeft?.get(layer);
    const asked = layer === input.requested;
    const bad = input.bad?.has(layer) === true;
    if (why !== undefined || (tries !== undefined && tries <= 0) || (bad && !asked)) {
      if (out.length === 0) {
        const who = asked ? `requested layer ${layer}` : `layer ${layer}`;
        notes.push(why !== undefined ? `${who} unusable: ${why}` : bad ? `${who} is marked bad` : `${who} has no boot tries left`);
      }
      continue;
    }
    if (bad && out.length === 0) notes.push('requested by name although marked bad');
    const reason = out.length > 0 ? p.relation(layer) : notes.length > 0 ? notes.join('; ') : p.first;
    out.push({ layer, reason });
  }
  return out;
}
