// The boot decision the initramfs hands to userland. Written once per boot by `imgbase initrd select`
// (atomically, in /run, which survives switch-root); read by `imgbase boot --status`. Pure: no I/O here.

/** Where the initramfs writes the decision and userland reads it. */
import { BOOT_STATUS_PATH } from './paths';

export { RUN_DIR as BOOT_STATUS_DIR, BOOT_STATUS_PATH } from './paths';

export interface BootFallback {
  /** The layer (or the requested value) that was not booted. */
  layer: string;
  /** Why it was skipped: "not found in HostVG", "no filesystem found", "activation failed: ...". */
  why: string;
}

export interface BootStatus {
  /** Value of imgbased.layer= as given (null: no imgbased.layer=, same as "latest"). */
  requested: string | null;
  /** Layer that became / (null: no layer was usable; the boot failed). */
  booted: string | null;
  /** Why this layer: "requested", "latest", "requested layer X not found", ... */
  reason: string;
  /** Layers tried and skipped before `booted`, in order. */
  fallbacks: BootFallback[];
  /** ISO 8601 time of the decision. */
  time: string;
  /** Volume group the layer came from. */
  vg?: string | null;
  /** Device path of the booted layer, e.g. /dev/HostVG/root+1. */
  device?: string | null;
  /** When the selector got there, seconds since the kernel started (CLOCK_MONOTONIC, as systemd's timestamps). */
  timing?: BootTiming;
  /** No layer was usable and the root= device was booted instead (its path), as the last resort. */
  lastResort?: string | null;
}

export interface BootTiming {
  /** The selector's process was started. */
  process: number;
  /** Its code began to run (the difference is the runtime's own start-up). */
  main: number;
  /** udev had seen the LVM physical volumes; the LVM work began. */
  lvm: number | null;
  /** The layer was chosen, activated and checked. */
  decided: number;
}

/** Longest requested value kept verbatim; kernel arguments can be 4 KB of garbage. */
const MAX_REQUESTED = 256;

export function renderBootStatus(s: BootStatus): string {
  const out: BootStatus = {
    requested: s.requested === null ? null : clip(s.requested, MAX_REQUESTED),
    booted: s.booted,
    reason: s.reason,
    fallbacks: s.fallbacks.map((f) => ({ layer: clip(f.layer, MAX_REQUESTED), why: f.why })),
    time: s.time,
  };
  if (s.vg !== undefined) out.vg = s.vg;
  if (s.device !== undefined) out.device = s.device;
  if (s.timing !== undefined) out.timing = s.timing;
  if (s.lastResort) out.lastResort = s.lastResort;
  return `${JSON.stringify(out, null, 2)}\n`;
}

/** Parses the status file; throws Error with a one-line message when it is not ours or is damaged. */
export function parseBootStatus(text: string): BootStatus {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Error('boot status is not valid JSON');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error('boot status is not an object');
  const o = raw as Record<string, unknown>;
  const strOrNull = (k: string): string | null => {
    const v = o[k];
    if (v === null || v === undefined) return null;
    if (typeof v !== 'string') throw new Error(`boot status field "${k}" is not a string`);
    return v;
  };
  const str = (k: string): string => {
    const v = o[k];
    if (typeof v !== 'string') throw new Error(`boot status field "${k}" is missing`);
    return v;
  };
  const fallbacksRaw = o.fallbacks ?? [];
  if (!Array.isArray(fallbacksRaw)) throw new Error('boot status field "fallbacks" is not a list');
  const fallbacks = fallbacksRaw.map((f, i) => {
    const r = f as Record<string, unknown> | null;
    if (!r || typeof r.layer !== 'string' || typeof r.why !== 'string') {
      throw new Error(`boot status fallback #${i + 1} is malformed`);
    }
    return { layer: r.layer, why: r.why };
  });
  const s: BootStatus = {
    requested: strOrNull('requested'),
    booted: strOrNull('booted'),
    reason: str('reason'),
    fallbacks,
    time: str('time'),
  };
  if ('vg' in o) s.vg = strOrNull('vg');
  if ('device' in o) s.device = strOrNull('device');
  if (typeof o.lastResort === 'string') s.lastResort = o.lastResort;
  const timing = parseTiming(o.timing);
  if (timing) s.timing = timing;
  return s;
}

/** Timing is informative only: a malformed one is dropped rather than failing the whole status. */
function parseTiming(v: unknown): BootTiming | null {
  if (typeof v !== 'object' || v === null) return null;
  const t = v as Record<string, unknown>;
  const num = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
  if (!num(t.process) || !num(t.main) || !num(t.decided) || !(t.lvm === null || num(t.lvm))) return null;
  return { process: t.process, main: t.main, lvm: t.lvm, decided: t.decided };
}

/** Human-readable lines for `imgbase boot --status`. */
export function formatBootStatus(s: BootStatus): string {
  const lines: string[] = [];
  lines.push(`booted:    ${s.booted ?? '(none: no usable layer)'}`);
  lines.push(`requested: ${s.requested === null ? '(none; latest)' : showValue(s.requested)}`);
  lines.push(`reason:    ${s.reason}`);
  if (s.vg) lines.push(`vg:        ${s.vg}`);
  if (s.fallbacks.length === 0) {
    lines.push('fallbacks: none');
  } else {
    lines.push('fallbacks:');
    for (const f of s.fallbacks) lines.push(`  ${showValue(f.layer)}: ${f.why}`);
  }
  lines.push(`time:      ${s.time}`);
  if (s.timing) {
    const t = s.timing;
    const lvm = t.lvm === null ? '' : `, LVM from ${t.lvm.toFixed(2)} s`;
    lines.push(`selector:  started ${t.process.toFixed(2)} s after the kernel, running ${t.main.toFixed(2)} s${lvm}, decided ${t.decided.toFixed(2)} s`);
  }
  return `${lines.join('\n')}\n`;
}

/** The message for a boot that did not go through imgbased (no status file). */
export const NOT_IMGBASED_MESSAGE =
  'this boot did not go through imgbased (no imgbased.* kernel argument, or rd.imgbased=0): ' +
  `no ${BOOT_STATUS_PATH}`;

/** Shows a user-supplied value safely on one line: plain names as-is, anything else quoted and clipped. */
export function showValue(v: string, max = 64): string {
  if (v !== '' && /^[A-Za-z0-9._+-]+$/.test(v) && v.length <= max) return v;
  return JSON.stringify(clip(v, max) + (v.length > max ? '…' : ''));
}

function clip(s: string, max: number): string {
  return s.length > max ? s.slice(0, max) : s;
}
