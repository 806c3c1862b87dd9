// imgbase motd, pure: from what this boot and the layout say (read by cli/motd) to the facts that need the admin, and
// from those to the lines of the login message. Nothing to say is the normal case: no lines at all.
import { showValue, type BootStatus } from './boot-status';
import type { LayerState } from './boot-state';
import type { Finding } from './health';

/** What cli/motd reads; every part may be missing (null / empty) without the others failing. */
export interface MotdInput {
  /** The initramfs's decision for this boot (null: none, or unreadable). */
  status: BootStatus | null;
  /** The layer GRUB gave up on this boot (health record, else grubenv), or null. */
  grubFellBackFrom: string | null;
  states: readonly LayerState[];
  running: string | null;
  /** check's findings from the inventory alone (core/health). */
  findings: readonly Finding[];
  /** The layer GRUB boots next by default. */
  nextDefault: string | null;
}

export interface MotdFacts {
  running: string | null;
  /** This boot did not boot what was asked for: the layer skipped, and why. */
  fallback: { from: string; why: string } | null;
  /** Pool findings over the threshold. */
  pool: string[];
  /** check's other failing findings. */
  degraded: string[];
  /** A layer other than the running one boots next: an update (or a choice) staged, not yet booted. */
  pending: string | null;
}

const POOL_CHECKS = new Set(['pool-data', 'pool-metadata']);

function fallbackOf(i: MotdInput): MotdFacts['fallback'] {
  if (i.grubFellBackFrom !== null) {
    const s = i.states.find((x) => x.layer === i.grubFellBackFrom);
    const why = s?.state === 'bad' ? (s.reason ?? 'marked bad')
      : s?.state === 'trying' && s.tries !== null ? `used up its ${s.tries} boot ${s.tries === 1 ? 'try' : 'tries'}` : 'GRUB gave up on it';
    return { from: i.grubFellBackFrom, why };
  }
  const f = i.status?.fallbacks[0];
  if (f) return { from: showValue(f.layer), why: f.why };
  if (i.status?.lastResort) return { from: showValue(i.status.requested ?? 'latest'), why: `no usable layer, booted ${i.status.lastResort} as the last resort` };
  return null;
}

export function motdFacts(i: MotdInput): MotdFacts {
  const fallback = fallbackOf(i);
  const failing = i.findings.filter((f) => !f.ok);
  const next = i.nextDefault;
  return {
    running: i.running,
    fallback,
    pool: failing.filter((f) => POOL_CHECKS.has(f.check)).map((f) => f.message),
    degraded: failing.filter((f) => !POOL_CHECKS.has(f.check)).map((f) => f.message),
    // The layer GRUB just gave up on is still the newest until the assessment marks it bad: no update to announce.
    pending: next !== null && next !== i.running && next !== fallback?.from ? next : null,
  };
}

/** The login message: one line per thing that needs the admin, each ending with where to look further. */
export function motdLines(f: MotdFacts): string[] {
  const lines: string[] = [];
  if (f.fallback) {
    lines.push(`imgbased: this boot fell back from layer ${f.fallback.from}: ${f.fallback.why}; running ${f.running ?? '/ (not a layer)'}; see 'imgbase boot --status'`);
  }
  for (const p of f.pool) lines.push(`imgbased: ${p}; see 'imgbase check'`);
  if (f.degraded.length > 0) {
    const more = f.degraded.length > 1 ? ` (and ${f.degraded.length - 1} more)` : '';
    lines.push(`imgbased: check degraded: ${f.degraded[0]}${more}; see 'imgbase check'`);
  }
  if (f.pending) lines.push(`imgbased: layer ${f.pending} is staged and boots next (not booted yet); see 'imgbase update --status'`);
  return lines;
}
