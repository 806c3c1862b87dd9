// What an update carried, pure: recorded in the new layer (/var/lib/imgbased/update.json) by the carry step, shown
// by `imgbase update --status` once that layer runs.
import { carriedLine, carriedTotal, type CarriedPath } from './carry';
import type { EtcConflict, EtcMerge } from './etc-merge';
import { describePackages, type PackagePlan } from './packages';
import { ackCommand } from './gc';

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
  /** The admin's changes outside /etc (core/update/carry); `left`: not carried (carry = warn), still on `from`. */
  files?: { carried: CarriedPath[]; conflicts: EtcConflict[]; bytes: number; left?: true };
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
  if (r.files) lines.push(...describeFiles(r.files, r.from));
  return lines;
}

/** The carry outside /etc: each path with its size, then the total (or what was left behind, and how to let go). */
export function describeFiles(f: NonNullable<UpdateReport['files']>, from: string): string[] {
  const total = carriedTotal({ carried: f.carried, bytes: f.bytes, merge: { actions: [], conflicts: f.conflicts, carried: [] } });
  if (f.left) return [`${total}, not carried (carry = warn): still on ${from}, whose base gc keeps until '${ackCommand(from)}'`, ...f.carried.map((c) => `  ${c.path}: ${c.change} here, not carried`)];
  return [...f.carried.map(carriedLine), ...f.conflicts.map((c) => `  /${c.path}: ${c.detail}`), total];
}
