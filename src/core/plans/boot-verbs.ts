// Plans that change a layer's boot state (core/boot-state): arm a try (boot --tries, layer --add), roll back, and
// what the assessment of a boot decided (bless, mark bad, disarm). Order inside each plan is what keeps a power cut
// harmless: grubenv (the arm) is the commit point; state tags that widen what may boot come after it, tags that
// narrow it come before.
import { entryId } from '../bls';
import { DEFAULT_BOOT_CONFIG } from '../boot-config';
import {
  armOf, armSteps, badTag, defaultSteps, disarmSteps, goodTag, isStateTag, layerStates, previousGood, type BadReason,
  type LayerState,
} from '../boot-state';
import { ImgbasedError, NotFoundError, UsageError } from '../errors';
import { findLayer } from '../inventory';
import type { Step } from '../steps';
import { compose, type Plan, type PlanInput } from './compose';

function envFile(input: PlanInput): string {
  const env = input.boot.grub?.paths.env;
  if (!env) throw new NotFoundError(`no GRUB directory in ${input.boot.bootDir}`, { hint: "boot counting lives in GRUB's environment block" });
  return env;
}

function vgOf(input: PlanInput): string {
  if (!input.inv.vg) throw new NotFoundError('no imgbased layout on this host', { hint: "create one with 'imgbase layout --init NVR --from /'" });
  return input.inv.vg;
}

function now(input: PlanInput): Date {
  return input.now ?? new Date();
}

/** States of the layers GRUB can boot through an entry of ours (the only possible fallbacks and defaults). */
export function bootableStates(input: PlanInput): LayerState[] {
  const ours = new Set(input.boot.entries.map((e) => e.layer).filter((l) => l !== null));
  return layerStates(input.inv, input.boot.grub?.env ?? {}).filter((s) => ours.has(s.layer));
}

/** Steps removing every state tag of a layer (what a new state replaces). */
function clearTags(input: PlanInput, layer: string): Step[] {
  const l = findLayer(input.inv, layer)!;
  return l.lv.tags.filter(isStateTag).map((tag): Step => ({ kind: 'lv-untag', vg: l.lv.vg, lv: layer, tag }));
}

/** The newest layer that is not bad (the default when saved_entry is unset), after `bad` changes. */
export function newestUsable(states: readonly LayerState[], bad: ReadonlySet<string>, good: ReadonlySet<string> = new Set()): string | null {
  return [...states].reverse().find((s) => good.has(s.layer) || (s.state !== 'bad' && !bad.has(s.layer)))?.layer ?? null;
}

function requireLayerName(input: PlanInput, name: string, verb: string): void {
  if (!findLayer(input.inv, name)) throw new NotFoundError(`${verb}: layer ${name} not found`, { hint: "see 'imgbase layout --layers'" });
}

/** Entries exist for the layer (a try of a layer GRUB cannot boot would count nothing). */
function requireEntry(input: PlanInput, plan: Plan, layer: string, verb: string): void {
  const has = plan.steps.some((s) => s.kind === 'write-entry' && s.layer === layer) || input.boot.entries.some((e) => e.layer === layer);
  if (!has) throw new ImgbasedError(`${verb}: layer ${layer} has no boot entry (${plan.notes[0] ?? 'its base holds no kernel'})`);
}

/** boot --tries N LAYER: LAYER is armed for N boots, becomes the default, and is no longer bad. */
export function planArm(input: PlanInput, layer: string, tries: number): Plan {
  const vg = vgOf(input);
  const file = envFile(input);
  requireLayerName(input, layer, 'boot --tries');
  const bootable = bootableStates(input);
  const fallback = previousGood(bootable, layer, input.running);
  const plan = compose(input, {
    vg,
    env: [...armSteps(file, layer, tries, fallback, now(input)), ...defaultSteps(file, layer, newestUsable(bootable, new Set(), new Set([layer])))],
    after: clearTags(input, layer).filter((s) => s.kind === 'lv-untag' && s.tag.startsWith('imgbased:bad:')),
  });
  requireEntry(input, plan, layer, 'boot --tries');
  return plan;
}

/** The arm steps layer --add adds when its new layer becomes the default (none when counting is off). */
export function armNewLayer(input: PlanInput, layer: string): Step[] {
  const tries = (input.config ?? DEFAULT_BOOT_CONFIG).tries;
  const file = input.boot.grub?.paths.env;
  if (tries === 0 || !file) return [];
  return armSteps(file, layer, tries, previousGood(bootableStates(input), layer, input.running), now(input));
}

/** rollback [--to LAYER]: the previous good layer (or LAYER) becomes the default for good; a try elsewhere ends. */
export function planRollback(input: PlanInput, to: string | null): Plan & { target: string } {
  const vg = vgOf(input);
  const file = envFile(input);
  const env = input.boot.grub?.env ?? {};
  const states = bootableStates(input);
  let target: string;
  if (to !== null) {
    requireLayerName(input, to, 'rollback --to');
    const s = layerStates(input.inv, env).find((x) => x.layer === to)!;
    if (s.state === 'bad') throw new UsageError(`rollback --to: layer ${to} is bad (${s.reason}); re-arm it with 'imgbase boot --tries N ${to}'`);
    target = to;
  } else {
    const saved = env.saved_entry ?? '';
    const current = states.find((s) => entryId(s.layer) === saved && s.state !== 'bad')?.layer ?? newestUsable(states, new Set());
    const prev = previousGood(states, current);
    if (prev === null) throw new NotFoundError('rollback: there is no other layer to go back to');
    target = prev;
  }
  const arm = armOf(env);
  const plan = compose(input, {
    vg,
    env: [
      ...(arm && arm.layer !== target ? disarmSteps(file) : []),
      { kind: 'grubenv-set', file, key: 'saved_entry', value: entryId(target), previous: null },
    ],
  });
  requireEntry(input, plan, target, 'rollback');
  return { ...plan, target };
}

/** What the assessment of this boot found (adapters run the checks; core/assess decides). */
export type Verdict =
  | { kind: 'bless'; layer: string; disarm: boolean }
  | { kind: 'bad'; layer: string; reason: BadReason; disarm: boolean; fallback: string | null };

/**
 * The plan for verdicts: a layer marked bad is tagged first (from then on nothing boots it by default), then
 * grubenv (disarm, the default moves to the fallback); a blessing disarms first and tags after, so a cut in
 * between leaves a layer that is simply new, never one still counting down while marked good.
 */
export function planVerdicts(input: PlanInput, verdicts: readonly Verdict[]): Plan {
  const vg = vgOf(input);
  const file = envFile(input);
  const env = input.boot.grub?.env ?? {};
  const states = bootableStates(input);
  const at = now(input);
  const pre: Step[] = [];
  const envSteps: Step[] = [];
  const after: Step[] = [];
  const bad = new Set<string>();
  let disarm = false;
  for (const v of verdicts) {
    disarm ||= v.disarm;
    if (v.kind === 'bad') {
      bad.add(v.layer);
      pre.push({ kind: 'lv-tag', vg, lv: v.layer, tag: badTag(at, v.reason) }, ...clearTags(input, v.layer));
    } else {
      after.push({ kind: 'lv-tag', vg, lv: v.layer, tag: goodTag(at) }, ...clearTags(input, v.layer));
    }
  }
  // saved_entry naming a layer that is now bad moves to the fallback, before the try ends: while the arm is there,
  // GRUB keeps falling back by itself, so a cut in between never leaves a bad layer the default.
  const saved = env.saved_entry ?? '';
  const badSaved = [...bad].some((l) => entryId(l) === saved);
  const fb = verdicts.find((v): v is Extract<Verdict, { kind: 'bad' }> => v.kind === 'bad')?.fallback ?? null;
  if (badSaved) {
    if (fb !== null) envSteps.push(...defaultSteps(file, fb, newestUsable(states, bad)));
    else envSteps.push({ kind: 'grubenv-unset', file, key: 'saved_entry', previous: '' });
  }
  if (disarm) envSteps.push(...disarmSteps(file));
  return compose(input, { vg, pre, env: envSteps, after });
}
