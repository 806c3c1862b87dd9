// The assessment of one boot, pure: from what GRUB left (the arm, the fell-back mark), what the initramfs decided
// (boot-status.json) and what the health checks said, which layers become good or bad, whether to reboot into the
// previous good layer, and which hooks fire. Only the armed layer (the one being tried) is judged bad by a failed
// check; a good layer that fails later stays good (logged), so a fallback boot never reboots again.
import type { BootConfig } from './boot-config';
import { armFallback, type Arm, type BadReason, type LayerState } from './boot-state';
import type { HookContext, HookEvent } from './hooks';
import type { Verdict } from './plans/boot-verbs';

export interface CheckResult {
  name: string;
  kind: 'required' | 'wanted';
  ok: boolean;
  /** Why it failed: "exit 1", "killed after 60 s". */
  why: string | null;
  seconds: number;
}

export interface AssessInput {
  /** The layer this boot runs on (null: no layer; root= last resort or not imgbased). */
  booted: string | null;
  /** Layers the initramfs skipped, in order. */
  skipped: readonly string[];
  states: readonly LayerState[];
  arm: Arm | null;
  checks: readonly CheckResult[];
  /** Units failed at the end of the boot (checked only when config.failedUnits). */
  failedUnits: readonly string[];
  config: BootConfig;
  vg: string;
}

export interface Assessment {
  healthy: boolean;
  /** One line: what the health level found. */
  summary: string;
  verdicts: Verdict[];
  /** Layer to reboot into (the previous good one), or null. */
  reboot: string | null;
  events: Array<{ event: HookEvent; ctx: HookContext }>;
}

function firstFailure(i: AssessInput): BadReason | null {
  const c = i.checks.find((x) => x.kind === 'required' && !x.ok);
  if (c) return { kind: 'check', name: c.name };
  if (i.config.failedUnits && i.failedUnits.length > 0) return { kind: 'units' };
  return null;
}

export function assessBoot(i: AssessInput): Assessment {
  const verdicts: Verdict[] = [];
  const events: Assessment['events'] = [];
  const { arm, vg } = i;
  const state = (l: string | null): LayerState | undefined => i.states.find((s) => s.layer === l);
  for (const l of i.skipped) events.push({ event: 'boot-bad', ctx: { vg, layer: l } });
  let fellFrom: string | null = null;
  // GRUB used up the armed layer's tries and booted another one: that layer is bad.
  if (arm && arm.fell && arm.layer !== i.booted && state(arm.layer)) {
    fellFrom = arm.layer;
    verdicts.push({ kind: 'bad', layer: arm.layer, reason: { kind: 'tries', tries: arm.tries }, disarm: true, fallback: i.booted });
    events.push({ event: 'boot-bad', ctx: { vg, layer: arm.layer } });
  }
  const prev = fellFrom ?? i.skipped[0] ?? null;
  if (i.booted !== null && prev !== null) events.push({ event: 'fallback', ctx: { vg, layer: i.booted, prevLayer: prev } });
  const failure = firstFailure(i);
  const wantedFailed = i.checks.filter((c) => c.kind === 'wanted' && !c.ok).map((c) => c.name);
  const failedReq = i.checks.filter((c) => c.kind === 'required' && !c.ok).map((c) => `${c.name} (${c.why})`);
  const parts = [
    `${i.checks.filter((c) => c.ok).length}/${i.checks.length} checks passed`,
    ...(failedReq.length ? [`required failed: ${failedReq.join(', ')}`] : []),
    ...(wantedFailed.length ? [`wanted failed (logged only): ${wantedFailed.join(', ')}`] : []),
    ...(i.config.failedUnits && i.failedUnits.length ? [`failed units: ${i.failedUnits.join(', ')}`] : []),
  ];
  let reboot: string | null = null;
  const b = state(i.booted);
  if (i.booted !== null && b) {
    const tried = arm !== null && arm.layer === i.booted && !arm.fell;
    if (failure === null) {
      if (tried || b.state === 'new') verdicts.push({ kind: 'bless', layer: i.booted, disarm: tried });
      events.push({ event: 'boot-good', ctx: { vg, layer: i.booted } });
    } else if (tried) {
      const back = armFallback(arm, i.states.map((s) => s.layer));
      const fb = back !== null && state(back)?.state !== 'bad' ? back : null;
      verdicts.push({ kind: 'bad', layer: i.booted, reason: failure, disarm: true, fallback: fb });
      events.push({ event: 'boot-bad', ctx: { vg, layer: i.booted } });
      if (i.config.rebootOnFailure && fb !== null) reboot = fb;
    }
  }
  return { healthy: failure === null, summary: parts.join('; '), verdicts, reboot, events };
}
