// imgbase check: exit 0 when healthy, 1 when degraded; every finding is printed.
import { UsageError } from '../core/errors';
import { healthFindings } from '../core/health';
import { optValue, parseVerbArgs, printJson, type GlobalOpts } from './args';
import { loadInventory, noPositional } from './context';

export const usage = `usage: imgbase check [--threshold PERCENT] [--json]

Checks thin pool data and metadata usage (default threshold 80 %), tags, half-created or orphaned LVs and
read-only bases. Exit 0: healthy; 1: degraded.`;

export async function checkCommand(argv: string[], g: GlobalOpts): Promise<number> {
  const args = parseVerbArgs(argv, { verb: 'check', string: ['threshold'], usage });
  noPositional(args, 'check');
  const t = optValue(args, 'threshold', 'check');
  const threshold = t === undefined ? 80 : Number(t);
  if (!Number.isFinite(threshold) || threshold <= 0 || threshold > 100) throw new UsageError(`check: --threshold ${t} is not a percentage`);
  const findings = healthFindings(await loadInventory(), threshold);
  const healthy = findings.every((f) => f.ok);
  if (g.json) printJson({ healthy, findings });
  else {
    for (const f of findings) console.log(`${f.ok ? 'OK  ' : 'FAIL'} ${f.message}`);
    console.log(healthy ? 'Status: OK' : 'Status: DEGRADED');
  }
  return healthy ? 0 : 1;
}
