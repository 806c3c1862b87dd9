// Boot counting state, pure: what each layer's boot state is (new / trying N left / good / bad, why, since when),
// read from where it lives, and the policy that goes with it (the previous good layer, the grubenv steps that arm
// and disarm a try). Where each piece lives and its only writer (README "Boot counting"):
//
//   LVM tag  imgbased:good:<stamp>            on the layer   written by userland: the blessing (boot --assess)
//   LVM tag  imgbased:bad:<stamp>:<reason>    on the layer   written by userland: boot --assess; removed by arming
//   grubenv  imgbased_try / _tries / _arm /   one try at a   written by userland plans only (arm, disarm)
//            _fallback                        time
//   grubenv  imgbased_count=<arm>:<n>         tries started  written by GRUB only (the menu file, save_env)
//   grubenv  imgbased_fell=<arm>              GRUB fell back written by GRUB only
//
// GRUB's two variables carry the arm id they belong to, so userland never resets them: a new arm makes the old
// values stale. LVM tags change in one metadata commit and are what the initramfs already reads (one lvs call).
import type { Inventory } from './inventory';
import { compareLayerNames } from './naming';
import { ENTRY_PREFIX, entryId } from './bls';
import type { Step } from './steps';

export const STATE_TAG = { good: 'imgbased:good:', bad: 'imgbased:bad:' } as const;

export const ENV = {
  try: 'imgbased_try',
  /** The armed layer's menu entry id (GRUB compares ids; it cannot turn a name into one). */
  tryId: 'imgbased_try_id',
  tries: 'imgbased_tries',
  arm: 'imgbased_arm',
  fallback: 'imgbased_fallback',
  count: 'imgbased_count',
  fell: 'imgbased_fell',
} as const;
/** The keys userland writes (the arm); GRUB writes only ENV.count and ENV.fell. */
export const ARM_KEYS = [ENV.try, ENV.tryId, ENV.tries, ENV.arm, ENV.fallback] as const;

/** Most tries a layer can be armed with: the GRUB menu's counting chain is rendered up to here. */
export const MAX_TRIES = 9;
export const DEFAULT_TRIES = 3;

export type BootStateName = 'new' | 'trying' | 'good' | 'bad';

export interface LayerState {
  layer: string;
  state: BootStateName;
  /** trying: tries armed and tries left (0: used up, GRUB falls back). */
  tries: number | null;
  left: number | null;
  /** bad: why, as a sentence. */
  reason: string | null;
  /** When the state was set (ISO 8601), from the tag; null for new/trying. */
  since: string | null;
}

/** Reason codes kept in the bad tag (LVM tags allow only A-Z a-z 0-9 _ + . - / = ! : # &). */
export type BadReason = { kind: 'tries'; tries: number } | { kind: 'check'; name: string } | { kind: 'units' };

/** 2026-12-01T23:59:00.123Z -> 20261201T235900Z */
export function stamp(d: Date): string {
  return d.toISOString().replace(/\.\d+Z$/, 'Z').replace(/[-:]/g, '');
}

export function stampToIso(s: string): string | null {
  const m = /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/.exec(s);
  return m ? `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z` : null;
}

export function encodeReason(r: BadReason): string {
  switch (r.kind) {
    case 'tries': return `tries.${r.tries}`;
    case 'check': return `check.${r.name.replace(/[^A-Za-z0-9_+.-]/g, '_').slice(0, 100)}`;
    case 'units': return 'units';
  }
}

export function describeReason(code: string): string {
  let m = /^tries\.(\d+)$/.exec(code);
  if (m) return `used up its ${m[1]} boot ${m[1] === '1' ? 'try' : 'tries'} without coming up (GRUB fell back)`;
  m = /^check\.(.+)$/.exec(code);
  if (m) return `required health check ${m[1]} failed`;
  if (code === 'units') return 'systemd units had failed at the end of the boot';
  return code === '' ? 'marked bad' : `marked bad (${code})`;
}

export function goodTag(at: Date): string {
  return `${STATE_TAG.good}${stamp(at)}`;
}

export function badTag(at: Date, r: BadReason): string {
  return `${STATE_TAG.bad}${stamp(at)}:${encodeReason(r)}`;
}

export function isStateTag(t: string): boolean {
  return t.startsWith(STATE_TAG.good) || t.startsWith(STATE_TAG.bad);
}

interface TagState {
  state: 'good' | 'bad';
  stamp: string;
  reason: string | null;
}

/** The newest state tag of a layer (two can coexist for a moment: a cut between adding one and removing the other). */
export function tagState(tags: readonly string[]): TagState | null {
  let best: TagState | null = null;
  for (const t of tags) {
    let s: TagState | null = null;
    if (t.startsWith(STATE_TAG.good)) s = { state: 'good', stamp: t.slice(STATE_TAG.good.length), reason: null };
    else if (t.startsWith(STATE_TAG.bad)) {
      const rest = t.slice(STATE_TAG.bad.length);
      const i = rest.indexOf(':');
      s = { state: 'bad', stamp: i < 0 ? rest : rest.slice(0, i), reason: i < 0 ? '' : rest.slice(i + 1) };
    }
    if (s && (best === null || s.stamp >= best.stamp)) best = s;
  }
  return best;
}

export interface Arm {
  layer: string;
  tries: number;
  id: string;
  /** Menu entry id of the layer GRUB falls back to (null: none armed). */
  fallbackId: string | null;
  /** Tries GRUB has started for this arm. */
  used: number;
  /** GRUB used them up and booted the fallback. */
  fell: boolean;
}

/** The armed try in grubenv, or null (an arm missing a key or with a bad count is no arm: GRUB ignores it too). */
export function armOf(env: Readonly<Record<string, string>>): Arm | null {
  const layer = env[ENV.try] ?? '';
  const id = env[ENV.arm] ?? '';
  // Spelled exactly as GRUB's string compares in the menu file read it.
  const t = env[ENV.tries] ?? '';
  if (layer === '' || id === '' || env[ENV.tryId] !== entryId(layer) || !/^[1-9]$/.test(t) || Number(t) > MAX_TRIES) return null;
  const tries = Number(t);
  const count = env[ENV.count] ?? '';
  const n = count.startsWith(`${id}:`) ? count.slice(id.length + 1) : '0';
  const fb = env[ENV.fallback] ?? '';
  return {
    layer, tries, id,
    fallbackId: fb.startsWith(ENTRY_PREFIX) ? fb : null,
    used: /^[0-9]$/.test(n) ? Number(n) : 0,
    fell: (env[ENV.fell] ?? '') === id,
  };
}

/** Every layer's state, oldest first. */
export function layerStates(inv: Inventory, env: Readonly<Record<string, string>>): LayerState[] {
  const arm = armOf(env);
  return [...inv.layers].sort((a, b) => compareLayerNames(a.name, b.name)).map((l): LayerState => {
    const t = tagState(l.lv.tags);
    if (arm && arm.layer === l.name && !(t?.state === 'bad' && t.stamp > arm.id)) {
      const left = arm.fell ? 0 : Math.max(0, arm.tries - arm.used);
      return { layer: l.name, state: 'trying', tries: arm.tries, left, reason: null, since: stampToIso(arm.id) };
    }
    if (t === null) return { layer: l.name, state: 'new', tries: null, left: null, reason: null, since: null };
    return {
      layer: l.name, state: t.state, tries: null, left: null,
      reason: t.state === 'bad' ? describeReason(t.reason ?? '') : null, since: stampToIso(t.stamp),
    };
  });
}

/** The layer an arm falls back to, among `layers` (null: none armed, or it names no layer). */
export function armFallback(arm: Arm | null, layers: readonly string[]): string | null {
  if (!arm || arm.fallbackId === null) return null;
  return layers.find((l) => entryId(l) === arm.fallbackId) ?? null;
}

/** Layers tagged bad (for the menu order and the initramfs). */
export function badLayers(inv: Inventory): Set<string> {
  return new Set(inv.layers.filter((l) => tagState(l.lv.tags)?.state === 'bad').map((l) => l.name));
}

/**
 * Where to go back to from `layer`: `prefer` (the running layer: it is up, whatever its state says) unless it is
 * bad; else the newest good layer other than it; when none is good yet (layers from before boot counting, or a
 * first install), the newest one that is not bad. Null when there is nothing.
 */
export function previousGood(states: readonly LayerState[], layer: string | null, prefer: string | null = null): string | null {
  const others = states.filter((s) => s.layer !== layer);
  const p = others.find((s) => s.layer === prefer && s.state !== 'bad');
  if (p) return p.layer;
  const newestFirst = [...others].reverse();
  return newestFirst.find((s) => s.state === 'good')?.layer ?? newestFirst.find((s) => s.state !== 'bad')?.layer ?? null;
}

/** grubenv steps that arm `layer` for `tries` boots with `fallback` as the way back. */
export function armSteps(file: string, layer: string, tries: number, fallback: string | null, at: Date): Step[] {
  const set = (key: string, value: string): Step => ({ kind: 'grubenv-set', file, key, value, previous: null });
  return [
    set(ENV.try, layer), set(ENV.tryId, entryId(layer)), set(ENV.tries, String(tries)), set(ENV.arm, stamp(at)),
    fallback ? set(ENV.fallback, entryId(fallback)) : { kind: 'grubenv-unset', file, key: ENV.fallback, previous: '' },
  ];
}

/**
 * A power cut in the middle of an arm (or a disarm) leaves some of its keys: no arm to GRUB or to armOf. Repair
 * unsets the leftovers that the plan does not set itself.
 */
export function halfArmRepair(file: string, env: ReadonlyMap<string, string>, planned: readonly Step[]): Step[] {
  if (armOf(Object.fromEntries(env)) !== null) return [];
  const sets = new Set(planned.filter((s) => s.kind === 'grubenv-set').map((s) => (s as { key: string }).key));
  return ARM_KEYS.filter((k) => env.has(k) && !sets.has(k)).map((key): Step => ({ kind: 'grubenv-unset', file, key, previous: '' }));
}

export function disarmSteps(file: string): Step[] {
  return ARM_KEYS.map((key): Step => ({ kind: 'grubenv-unset', file, key, previous: '' }));
}

/**
 * The layer GRUB boots by default, as the menu file decides it: saved_entry when it names one of ours (bad or not:
 * an explicit pin is GRUB's own default), else the newest layer that is not bad. Null when saved_entry names
 * someone else's entry or every layer is bad (GRUB's own default then).
 */
export function menuDefault(newestFirst: readonly string[], saved: string | null, bad: ReadonlySet<string>): string | null {
  if (saved) return newestFirst.find((l) => entryId(l) === saved) ?? null;
  return newestFirst.find((l) => !bad.has(l)) ?? null;
}

/** The layer GRUB boots next by default, from the layers that have an entry of ours (menuDefault's rule). */
export function nextDefault(entryLayers: readonly string[], saved: string | null, bad: ReadonlySet<string>): string | null {
  return menuDefault([...new Set(entryLayers)].sort((a, b) => -compareLayerNames(a, b)), saved, bad);
}

/** The layer whose tries GRUB used up on this arm (it booted the fallback), or null. */
export function grubFellFrom(env: Readonly<Record<string, string>>): string | null {
  const arm = armOf(env);
  return arm?.fell ? arm.layer : null;
}

/** Makes `layer` the default: no saved_entry when it is the newest usable layer anyway (later layers then win). */
export function defaultSteps(file: string, layer: string, newestUsable: string | null): Step[] {
  return layer === newestUsable
    ? [{ kind: 'grubenv-unset', file, key: 'saved_entry', previous: '' }]
    : [{ kind: 'grubenv-set', file, key: 'saved_entry', value: entryId(layer), previous: null }];
}

export function parseTries(v: string, what = 'tries'): number {
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > MAX_TRIES) throw new Error(`${what} must be a whole number from 1 to ${MAX_TRIES}, not ${JSON.stringify(v)}`);
  return Number(v);
}
