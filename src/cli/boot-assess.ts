// `imgbase boot --assess` (imgbased-boot-assess.service, once per boot after boot-complete.target): reads what GRUB
// and the initramfs did, runs the health checks, then applies the verdicts as one plan (bless the layer being tried,
// or mark it bad and make the previous good layer the default), writes the health record, fires the boot hooks (a
// refused one is reported and skipped: no hook can prevent or undo a verdict) and, when a tried layer failed a
// required check, reboots into the previous good layer (once: that layer is not tried).
import { open, readFile } from 'node:fs/promises';
import { assessBoot, type Assessment, type CheckResult } from '../core/assess';
import { armOf, describeReason, encodeReason, layerStates } from '../core/boot-state';
import { parseBootStatus } from '../core/boot-status';
import { parseLayerName } from '../core/naming';
import { ASSESSED_MARKER, BOOT_STATUS_PATH, HEALTH_PATH } from '../core/paths';
import { setRefusedAside, type RefusedHook } from '../core/hooks';
import { planVerdicts } from '../core/plans/boot-verbs';
import { eventSteps } from '../core/plans/compose';
import { planJson, renderPlan, type Step } from '../core/steps';
import { applyPlan } from '../adapters/apply';
import { atomicWrite } from '../adapters/atomic';
import { failedUnits, readBootConfig, runChecks } from '../adapters/checks';
import { run } from '../adapters/exec';
import { withLock } from '../adapters/lock';
import { log } from '../adapters/log';
import { printJson, type GlobalOpts } from './args';
import { hasInterrupted, readSnapshots } from './plan-run';

export const ASSESS_UNIT = 'imgbased-boot-assess.service';

export interface HealthRecord {
  time: string;
  layer: string | null;
  healthy: boolean;
  summary: string;
  checks: CheckResult[];
  /** GRUB used up this layer's tries and booted another one. */
  grubFellBackFrom: string | null;
  verdicts: string[];
  reboot: string | null;
}

export async function bootAssessCommand(g: GlobalOpts): Promise<number> {
  const text = await readFile(BOOT_STATUS_PATH, 'utf8').catch(() => null);
  if (text === null) {
    log.info('boot assess: this boot did not go through imgbased; nothing to assess');
    return 0;
  }
  const status = parseBootStatus(text);
  if (!g.dryRun) {
    try {
      await (await open(ASSESSED_MARKER, 'wx')).close();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
        log.info('boot assess: already done in this boot (its hooks already fired)');
        return 0;
      }
      throw e;
    }
  }
  const config = await readBootConfig();
  const vg = status.vg ?? '';
  const checks = status.booted === null ? [] : await runChecks({ IMGBASED_VG: vg, IMGBASED_LAYER: status.booted }, config.checkTimeoutS);
  const units = config.failedUnits ? await failedUnits(ASSESS_UNIT) : [];
  return withLock(async () => {
    const input = await readSnapshots();
    const env = input.boot.grub?.env ?? {};
    const arm = armOf(env);
    const a: Assessment = assessBoot({
      booted: status.booted, skipped: status.fallbacks.map((f) => f.layer), states: layerStates(input.inv, env), arm,
      checks, failedUnits: units, config, vg: input.inv.vg ?? vg,
    });
    // Every plan starts with the repair of an interrupted command: not this unit's to run behind the admin's back
    // (check must still show what was interrupted). The verdicts wait for 'check --repair' or the next write.
    const interrupted = hasInterrupted(input) || input.boot.temps.length > 0;
    if (interrupted && a.verdicts.length > 0) log.warn("boot assess: an interrupted command left work to finish; verdicts wait for 'imgbase check --repair'");
    const plan = a.verdicts.length > 0 && input.inv.vg && !interrupted ? planVerdicts(input, a.verdicts) : { steps: [], notes: [] };
    // Only the layer that booted is known to exist; a skipped one may be a name nothing has (README: no BASE for them).
    const events = a.events.map((r) => (r.event === 'boot-good' ? { ...r, ctx: { ...r.ctx, base: parseLayerName(r.ctx.layer ?? '')?.base ?? null } } : r));
    // A refused hook must not stop the verdicts (eventSteps throws for one): set aside, reported after them.
    const { found, refused } = setRefusedAside(input.hooks, events.map((r) => r.event));
    const hooks = eventSteps(found, input.hookTimeoutS, events);
    const record: HealthRecord = {
      time: new Date().toISOString(), layer: status.booted, healthy: a.healthy, summary: a.summary, checks,
      grubFellBackFrom: a.verdicts.find((v) => v.kind === 'bad' && v.reason.kind === 'tries')?.layer ?? null,
      verdicts: (interrupted ? [] : a.verdicts).map((v) => v.kind === 'bless' ? `${v.layer}: good` : `${v.layer}: bad (${describeReason(encodeReason(v.reason))})`),
      reboot: interrupted ? null : a.reboot,
    };
    if (g.dryRun) {
      if (g.json) printJson({ ...record, plan: planJson([...plan.steps, ...hooks]).steps, refusedHooks: refused });
      else {
        console.log(`health: ${a.summary}`);
        for (const v of record.verdicts) console.log(`verdict: ${v}`);
        for (const l of renderPlan([...plan.steps, ...hooks])) console.log(l);
        for (const r of refused) console.log(refusedLine(r));
        if (a.reboot) console.log(`would reboot into ${a.reboot}`);
      }
      return 0;
    }
    await finishAssessment({
      verdicts: plan.steps, hooks, refused,
      record: async () => {
        await atomicWrite(HEALTH_PATH, `${JSON.stringify(record, null, 2)}\n`);
        console.log(`imgbased: ${status.booted ?? 'no layer'}: ${a.healthy ? 'healthy' : 'UNHEALTHY'} (${a.summary})`);
        for (const v of record.verdicts) console.log(`imgbased: ${v}`);
        log.info(`boot events: ${events.map((r) => r.event).join(', ') || 'none'}`);
      },
    });
    if (record.reboot) {
      console.log(`imgbased: rebooting into the previous good layer ${record.reboot}`);
      await run('systemctl', ['reboot'], { allowFail: true });
    }
    return a.healthy ? 0 : 1;
  }, {});
}

const refusedLine = (r: RefusedHook): string => `boot hooks: refused ${r.path} (${r.event}), not run: ${r.why}`;

/**
 * The verdicts first, then the health record, then the boot hooks: a refused hook is reported (a warning with its
 * status) and does not run, a failing one is logged; neither prevents nor undoes a verdict.
 */
export async function finishAssessment(
  a: { verdicts: readonly Step[]; record: () => Promise<void>; refused: readonly RefusedHook[]; hooks: readonly Step[] },
  apply: typeof applyPlan = applyPlan,
): Promise<void> {
  await apply(a.verdicts, { note: (l) => log.info(l) });
  await a.record();
  for (const r of a.refused) log.warn(refusedLine(r));
  await apply(a.hooks).catch((e: Error) => log.warn(`boot hooks: ${e.message}`));
}
