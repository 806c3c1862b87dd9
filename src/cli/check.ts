// imgbase check: exit 0 when healthy, 1 when degraded; every finding is printed. --repair finishes or undoes what an
// interrupted command left (the same plan every write verb starts with), then checks again.
import { UsageError } from '../core/errors';
import { DEFAULT_THRESHOLD, healthFindings, type Finding } from '../core/health';
import { planSync } from '../core/plans/verbs';
import { describeStep, type Step } from '../core/steps';
import { withLock } from '../adapters/lock';
import { optValue, parseVerbArgs, printJson, lockTimeout, type GlobalOpts } from './args';
import { noPositional } from './context';
import { execute, readSnapshots } from './plan-run';

export const usage = `usage: imgbase check [--threshold PERCENT] [--json]
       imgbase check --repair [--dry-run]

Checks thin pool data and metadata usage (default threshold 80 %), tags, half-created or orphaned LVs, read-only
bases, and whether /boot matches the layers: one entry per layer, the GRUB menu file, kernel copies, no leftovers
of an interrupted write. Exit 0: healthy; 1: degraded. A command that is writing is waited for (up to
--lock-timeout seconds, default 60), so its work in progress is not reported as damage.
  --repair   finish or undo what an interrupted command left: LVs tagged imgbased:incomplete removed, leftover
             temporary files removed, entries, menu and kernel copies brought in line (every write verb does this
             first by itself)`;

/** Steps that change LVM, not /boot. */
const LVM_KINDS: ReadonlySet<Step['kind']> = new Set(['vg-tag', 'lv-tag', 'lv-untag', 'activate', 'deactivate', 'read-only', 'snapshot', 'thin-lv']);

async function findings(threshold: number): Promise<Finding[]> {
  const input = await readSnapshots();
  const out = healthFindings(input.inv, threshold);
  if (!input.inv.vg || !input.inv.pool) return out;
  const plan = planSync(input);
  for (const n of plan.notes) out.push({ check: 'boot-entry', ok: false, message: n });
  const boot = plan.steps.filter((s) => s.kind !== 'settle-boot' && s.kind !== 'remove-lv');
  // Repair's steps: most bring /boot in line; an LVM one (a tag) is the layout's.
  for (const s of boot) {
    const what = LVM_KINDS.has(s.kind) ? 'layout out of step' : '/boot out of step';
    out.push({ check: 'boot-sync', ok: false, message: `${what}: would ${describeStep(s)}` });
  }
  if (boot.length === 0) out.push({ check: 'boot-sync', ok: true, message: `boot entries, GRUB menu and kernel copies match the ${input.inv.layers.length} layer(s)` });
  return out;
}

export async function checkCommand(argv: string[], g: GlobalOpts): Promise<number> {
  const args = parseVerbArgs(argv, { verb: 'check', boolean: ['repair'], string: ['threshold'], usage });
  noPositional(args, 'check');
  const t = optValue(args, 'threshold', 'check');
  const threshold = t === undefined ? DEFAULT_THRESHOLD : Number(t);
  if (!Number.isFinite(threshold) || threshold <= 0 || threshold > 100) throw new UsageError(`check: --threshold ${t} is not a percentage`);
  if (args.repair) {
    return withLock(async () => {
      const input = await readSnapshots();
      const plan = planSync(input);
      await execute(plan, g);
      if (!g.dryRun) console.log(plan.steps.length === 0 ? 'repair: nothing to do' : `repair: ${plan.steps.length} step(s) done`);
      return 0;
    }, { timeoutS: lockTimeout(args) });
  }
  // Under the lock like a write: another command's plan seen half-way (e.g. the boot assessment's disarm, one
  // grubenv key at a time) would otherwise be reported as damage.
  const all = await withLock(() => findings(threshold), { timeoutS: lockTimeout(args) });
  const healthy = all.every((f) => f.ok);
  if (g.json) printJson({ healthy, findings: all });
  else {
    for (const f of all) console.log(`${f.ok ? 'OK  ' : 'FAIL'} ${f.message}`);
    console.log(healthy ? 'Status: OK' : 'Status: DEGRADED');
  }
  return healthy ? 0 : 1;
}
