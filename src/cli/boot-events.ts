// `imgbase boot --events` (run once per boot by imgbased-boot-events.service): the boot-bad, fallback and boot-good
// hooks, from what the initramfs decided. A marker in /run makes a second call in the same boot do nothing.
import { open, readFile } from 'node:fs/promises';
import { parseBootStatus } from '../core/boot-status';
import { bootEventContexts } from '../core/hooks';
import { parseLayerName } from '../core/naming';
import { BOOT_STATUS_PATH, RUN_DIR } from '../core/paths';
import { eventSteps } from '../core/plans/compose';
import { applyPlan } from '../adapters/apply';
import { readHookTimeout, scanHooks } from '../adapters/hooks';
import { log } from '../adapters/log';
import { printJson, type GlobalOpts } from './args';
import { renderPlan, planJson } from '../core/steps';

export const BOOT_EVENTS_MARKER = `${RUN_DIR}/boot-events-fired`;

export async function bootEventsCommand(g: GlobalOpts): Promise<number> {
  const text = await readFile(BOOT_STATUS_PATH, 'utf8').catch(() => null);
  if (text === null) {
    log.info('boot events: this boot did not go through imgbased; no hooks run');
    return 0;
  }
  const status = parseBootStatus(text);
  // Only the layer that booted is known to exist; a skipped one may be a name nothing has (README: no BASE for them).
  const runs = bootEventContexts(status).map((r) => (r.event === 'boot-good' ? { ...r, ctx: { ...r.ctx, base: parseLayerName(r.ctx.layer ?? '')?.base ?? null } } : r));
  const steps = eventSteps(await scanHooks(), await readHookTimeout(), runs);
  if (g.dryRun) {
    if (g.json) printJson(planJson(steps));
    else for (const l of renderPlan(steps)) console.log(l);
    return 0;
  }
  // Once per boot: the marker is created exclusively before anything runs.
  try {
    await (await open(BOOT_EVENTS_MARKER, 'wx')).close();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
      log.info('boot events: already fired in this boot');
      return 0;
    }
    throw e;
  }
  log.info(`boot events: ${runs.map((r) => r.event).join(', ') || 'none'}`);
  await applyPlan(steps);
  return 0;
}
