// What an update carried, pure: recorded in the new layer (/var/lib/imgbased/update.json) by the carry step, shown
// by `imgbase update --status` once that layer runs.
import type { EtcConflict, EtcMerge } from './etc-merge';
import { describePackages, type PackagePlan } from './packages';

export const UPDATE_REPORT = 'var/lib/imgbased/update.json';

export interface UpdateReport {
  at: string;
  image: string;
  base: string;
  layer: string;
  /** The layer the update ran on: where the carried state came from. */
  from: string;
  carried: EtcMerge['carried'];
  conflicts: EtcConflict[];
  accounts: Record<string, { kept: string[]; added: string[]; removed: string[] }>;
  /** The admin's packages: re-installed, already in the image, skipped, removed here (absent in older records). */
  packages?: PackagePlan;
}

export function parseUpdateReport(text: string): UpdateReport | null {
  try {
    const r = JSON.parse(text) as Partial<UpdateReport>;
    return typeof r.layer === 'string' && Array.isArray(r.carried) && Array.isArray(r.conflicts) ? (r as UpdateReport) : null;
  } catch {
    return null;
  }
}

/** Lines for a terminal: one per carried path and conflict, accounts summed up. */
export function describeReport(r: UpdateReport): string[] {
  const count = (c: 'added' | 'modified' | 'removed'): number => r.carried.filter((x) => x.change === c).length;
  const lines = [
    `${r.layer} was made by 'imgbase update' at ${r.at} from ${r.image} (base ${r.base}), carrying the state of ${r.from}:`,
    `  /etc: ${count('added')} added, ${count('modified')} changed, ${count('removed')} removed here, carried; ${r.conflicts.length} conflict(s)`,
  ];
  for (const c of r.conflicts) lines.push(`  /etc/${c.path}: ${c.detail}`);
  for (const [f, a] of Object.entries(r.accounts)) {
    if (a.kept.length || a.added.length || a.removed.length) {
      lines.push(`  ${f}: ${[a.kept.length ? `kept ${a.kept.join(', ')}` : '', a.added.length ? `new ${a.added.join(', ')}` : '', a.removed.length ? `removed ${a.removed.join(', ')}` : ''].filter(Boolean).join('; ')}`);
    }
  }
  if (r.packages) lines.push(...describePackages(r.packages));
  return lines;
}
