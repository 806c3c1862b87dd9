// imgbase gc: old bases (and their layers) removed, keeping the newest N (imgbased.conf keep-bases, default 2), the
// pinned ones and those of the running, default and last good layers. Also run by `update` after it finished.
import { readFile } from 'node:fs/promises';
import { ImgbasedError, UsageError } from '../core/errors';
import { planAck, planGc } from '../core/plans/gc';
import { UNCARRIED_TAG } from '../core/update/gc';
import { IMGBASED_CONF, parseImgbasedConfig, type ImgbasedConfig } from '../core/update/config';
import { withLock } from '../adapters/lock';
import { log } from '../adapters/log';
import { lockTimeout, optValue, parseVerbArgs, printJson, type GlobalOpts } from './args';
import { noPositional, requireLayout } from './context';
import { execute, readSnapshots } from './plan-run';

export const usage = `usage: imgbase gc [--keep N] [--dry-run] [--json]
       imgbase gc --ack LAYER

Removes old bases with their layers. Kept: the newest N bases (--keep, else keep-bases in ${IMGBASED_CONF},
default 2), bases pinned with 'imgbase base --pin', and the bases of the running layer, the default layer and the
newest good layer, and the base of a layer whose changes outside /etc 'update' did not carry (carry = warn in
${IMGBASED_CONF}) until they are acknowledged with --ack LAYER. 'imgbase update' runs it after a finished update.
  --ack LAYER  the changes update left behind on LAYER are saved elsewhere: gc may remove its base again`;

export async function imgbasedConfig(): Promise<ImgbasedConfig> {
  const text = await readFile(IMGBASED_CONF, 'utf8').catch(() => null);
  try {
    return parseImgbasedConfig(text);
  } catch (e) {
    throw new ImgbasedError((e as Error).message, { hint: `fix ${IMGBASED_CONF}` });
  }
}

export async function keepBases(): Promise<number> {
  return (await imgbasedConfig()).keepBases;
}

/** Plans and runs GC (the caller holds the lock); returns what it removed. */
export async function runGc(keep: number, g: GlobalOpts): Promise<Array<{ base: string; layers: string[] }>> {
  const input = await readSnapshots();
  requireLayout(input.inv);
  const plan = planGc(input, keep);
  if (plan.decision.remove.length > 0 || g.dryRun) await execute(plan, g);
  // Never silent: a base kept only for what update left behind says so, with the command that lets it go.
  for (const l of input.inv.layers.filter((x) => x.lv.tags.includes(UNCARRIED_TAG))) {
    const why = plan.decision.keep.find((k) => k.base === l.base)?.why.find((w) => w.startsWith(`layer ${l.name} `));
    if (why) log.warn(`gc: kept base ${l.base}: ${why}`);
  }
  return plan.decision.remove;
}

export async function gcCommand(argv: string[], g: GlobalOpts): Promise<number> {
  const args = parseVerbArgs(argv, { verb: 'gc', string: ['keep', 'ack'], usage });
  noPositional(args, 'gc');
  const ack = optValue(args, 'ack', 'gc');
  if (ack !== undefined) {
    if (args.keep !== undefined) throw new UsageError('gc: --ack takes no --keep');
    return withLock(async () => {
      const input = await readSnapshots();
      requireLayout(input.inv);
      const plan = planAck(input, ack);
      await execute(plan, g);
      if (g.json && !g.dryRun) printJson({ ack, acknowledged: plan.steps.length > 0 });
      else if (!g.dryRun) console.log(plan.steps.length ? `gc: ${ack} acknowledged: its base may be removed by gc` : `gc: ${ack} holds no changes left behind by update`);
      return 0;
    }, { timeoutS: lockTimeout(args) });
  }
  const k = optValue(args, 'keep', 'gc');
  if (k !== undefined && (!/^\d+$/.test(k) || Number(k) < 1)) throw new UsageError(`gc: --keep ${k} is not a number of bases (1 or more)`);
  const keep = k !== undefined ? Number(k) : await keepBases();
  return withLock(async () => {
    const removed = await runGc(keep, g);
    if (g.json && !g.dryRun) printJson({ keep, removed });
    else if (!g.dryRun) console.log(removed.length ? removed.map((r) => `removed base ${r.base}${r.layers.length ? ` and ${r.layers.length} layer(s)` : ''}`).join('\n') : 'gc: nothing to remove');
    return 0;
  }, { timeoutS: lockTimeout(args) });
}
