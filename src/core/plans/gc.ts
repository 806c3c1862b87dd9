// imgbase gc and base --pin / --unpin, pure: which old bases go (core/update/gc decides), removed like
// `base --remove` removes them; a pin is an LVM tag on the base.
import { entryId } from '../bls';
import { NotFoundError } from '../errors';
import { findBase, findLayer } from '../inventory';
import { gcDecision, PIN_TAG, UNCARRIED_TAG, type GcDecision } from '../update/gc';
import { bootableStates, newestUsable } from './boot-verbs';
import { compose, type Plan, type PlanInput } from './compose';
import { layout } from './verbs';

/**
 * GC after an update (or `imgbase gc`): the bases gcDecision drops, removed like `base --remove` does. Kept besides
 * the newest `keep` and the pinned: the running layer's base, the default's, and the newest good layer's.
 */
export function planGc(input: PlanInput, keep: number): Plan & { decision: GcDecision } {
  const { vg } = layout(input);
  const states = bootableStates(input);
  const saved = input.boot.grub?.env.saved_entry ?? '';
  const pinned = states.find((s) => entryId(s.layer) === saved)?.layer ?? null;
  const lastGood = [...states].reverse().find((s) => s.state === 'good')?.layer ?? null;
  const decision = gcDecision({
    inv: input.inv, keep,
    protect: [
      { layer: input.running, why: 'the running' },
      { layer: pinned ?? newestUsable(states, new Set()), why: 'the default' },
      { layer: lastGood, why: 'the last good' },
    ],
  });
  const remove = decision.remove.flatMap((r) => [...r.layers].reverse().concat(r.base));
  const events = decision.remove.flatMap((r) => {
    const c = { vg, base: r.base };
    return [{ event: 'pre-base-remove' as const, ctx: c }, { event: 'post-base-remove' as const, ctx: c }];
  });
  return { ...compose(input, { vg, remove, events }), decision };
}

/** base --pin / --unpin: GC never removes a pinned base. */
export function planPin(input: PlanInput, name: string, pin: boolean): Plan {
  const { vg } = layout(input);
  const base = findBase(input.inv, name);
  if (!base) throw new NotFoundError(`base ${name} not found`, { hint: "see 'imgbase layout --bases'" });
  const has = base.lv.tags.includes(PIN_TAG);
  if (has === pin) return { steps: [], notes: [] };
  return compose(input, { vg, pre: [{ kind: pin ? 'lv-tag' : 'lv-untag', vg, lv: name, tag: PIN_TAG }] });
}

/** gc --ack LAYER: the admin saw what update did not carry from LAYER; gc may remove its base again. */
export function planAck(input: PlanInput, name: string): Plan {
  const { vg } = layout(input);
  const layer = findLayer(input.inv, name);
  if (!layer) throw new NotFoundError(`layer ${name} not found`, { hint: "see 'imgbase layout'" });
  if (!layer.lv.tags.includes(UNCARRIED_TAG)) return { steps: [], notes: [] };
  return compose(input, { vg, pre: [{ kind: 'lv-untag', vg, lv: name, tag: UNCARRIED_TAG }] });
}
