// imgbase rollback [--to LAYER]: the previous good layer (or LAYER) becomes the default for good (GRUB saved_entry);
// a try armed for another layer ends. What is "good" is core/boot-state's; the plan is core/plans/boot-verbs'.
import { UsageError } from '../core/errors';
import { validateLayerName } from '../core/naming';
import { planRollback } from '../core/plans/boot-verbs';
import { withLock } from '../adapters/lock';
import { lockTimeout, optValue, parseVerbArgs, printJson, type GlobalOpts } from './args';
import { noPositional, requireLayout } from './context';
import { execute, readSnapshots } from './plan-run';

export const usage = `usage: imgbase rollback [--to LAYER] [--dry-run] [--json]

  Make the previous good layer the default from now on: the newest layer blessed good other than the current
  default (when none is good yet, the newest one not marked bad). A layer being tried stops being tried.
  --to LAYER     go back to LAYER instead (refused when it is marked bad: re-arm it with 'boot --tries')
  --boot-dir DIR $BOOT (default /boot)`;

export async function rollbackCommand(argv: string[], g: GlobalOpts): Promise<number> {
  const args = parseVerbArgs(argv, { verb: 'rollback', string: ['to', 'boot-dir'], usage });
  noPositional(args, 'rollback');
  const to = optValue(args, 'to', 'rollback') ?? null;
  if (to !== null) {
    const bad = validateLayerName(to);
    if (bad) throw new UsageError(`rollback --to: ${bad}`);
  }
  const bootDir = optValue(args, 'boot-dir', 'rollback');
  return withLock(async () => {
    const input = await readSnapshots({ bootDir });
    requireLayout(input.inv);
    const plan = planRollback(input, to);
    await execute(plan, g);
    if (g.dryRun) return 0;
    if (g.json) printJson({ default: plan.target });
    else console.log(`rollback: ${plan.target} is the default from now on`);
    return 0;
  }, { timeoutS: lockTimeout(args) });
}
