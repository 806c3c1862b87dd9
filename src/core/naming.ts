// Names and their order. Bases are "name-version-release" (like an rpm NVR), layers are "<base>+<N>".
// Ordering follows rpm's version compare so "Image-2-0" < "Image-13-0" and "X-1-0+2" < "X-1-0+10".

export interface Nvr {
  name: string;
  version: string;
  release: string;
}

export interface LayerRef {
  base: string;
  index: number;
}

/** LVM's own limit is higher, but the dm name is "VG-LV" with '-' doubled; 100 leaves room for that. */
export const MAX_NAME_LENGTH = 100;

// LVM refuses these prefixes and substrings in LV names (lib/metadata/lv_manip.c, apply_lvname_restrictions).
const LVM_RESERVED_PREFIXES = ['snapshot', 'pvmove'];
const LVM_RESERVED_PARTS = [
  '_cdata', '_cmeta', '_corig', '_cpool', '_cvol', '_imeta', '_iorig', '_mimage', '_mlog',
  '_pmspare', '_rimage', '_rmeta', '_tdata', '_tmeta', '_vdata', '_vorigin', '_wcorig',
];

/** Split on the LAST two '-' so the name part may itself hold '-'. Structural only: see validateBaseName. */
export function parseNvr(s: string): Nvr | null {
  const r = s.lastIndexOf('-');
  if (r <= 0) return null;
  const v = s.lastIndexOf('-', r - 1);
  if (v <= 0) return null;
  const nvr = { name: s.slice(0, v), version: s.slice(v + 1, r), release: s.slice(r + 1) };
  if (!nvr.version || !nvr.release) return null;
  return nvr;
}

export function formatNvr(n: Nvr): string {
  return `${n.name}-${n.version}-${n.release}`;
}

/** Returns null for anything that is not a valid layer name, so callers never see half-parsed garbage. */
export function parseLayerName(s: string): LayerRef | null {
  if (validateLayerName(s) !== null) return null;
  const plus = s.lastIndexOf('+');
  return { base: s.slice(0, plus), index: Number(s.slice(plus + 1)) };
}

export function layerName(base: string, index: number): string {
  return `${base}+${index}`;
}

function lvmNameProblem(s: string, allowed: RegExp, allowedText: string): string | null {
  if (s.length === 0) return 'empty name';
  if (s.length > MAX_NAME_LENGTH) return `longer than ${MAX_NAME_LENGTH} characters`;
  if (!allowed.test(s)) return `may only contain ${allowedText}`;
  if (!/^[A-Za-z0-9]/.test(s)) return 'must start with a letter or digit';
  for (const p of LVM_RESERVED_PREFIXES) if (s.startsWith(p)) return `must not start with "${p}" (reserved by LVM)`;
  for (const p of LVM_RESERVED_PARTS) if (s.includes(p)) return `must not contain "${p}" (reserved by LVM)`;
  return null;
}

/** Error message (without the name, which may be garbage) or null when s is a usable base name. */
export function validateBaseName(s: string): string | null {
  const p = lvmNameProblem(s, /^[A-Za-z0-9._-]+$/, 'A-Z a-z 0-9 . _ -');
  if (p) return p;
  if (!parseNvr(s)) return 'must be name-version-release, e.g. myos-1.0-1';
  return null;
}

/** Error message or null when s is "<valid base>+<N>", N a positive integer without leading zeros. */
export function validateLayerName(s: string): string | null {
  const p = lvmNameProblem(s, /^[A-Za-z0-9._+-]+$/, 'A-Z a-z 0-9 . _ + -');
  if (p) return p;
  const plus = s.lastIndexOf('+');
  if (plus < 0) return 'not a layer name (must be BASE+N)';
  const idx = s.slice(plus + 1);
  // "+01" is refused: two spellings of one index would make two LVs look like the same layer.
  if (!/^[1-9][0-9]{0,8}$/.test(idx)) return 'layer index must be a positive integer without leading zeros';
  const b = validateBaseName(s.slice(0, plus));
  if (b) return `base part ${b}`;
  return null;
}

const isDigit = (c: string): boolean => c >= '0' && c <= '9';
const isAlpha = (c: string): boolean => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
const isAlnum = (c: string): boolean => isDigit(c) || isAlpha(c);

/**
 * rpm's rpmvercmp (rpmio/rpmvercmp.c): compare runs of digits numerically (leading zeros ignored) and runs of
 * letters by strcmp; a numeric run beats an alpha run; other characters only separate; '~' sorts before
 * everything (even the end), '^' sorts after the end but before anything else.
 */
export function rpmvercmp(a: string, b: string): -1 | 0 | 1 {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  for (;;) {
    while (i < a.length && !isAlnum(a[i]!) && a[i] !== '~' && a[i] !== '^') i++;
    while (j < b.length && !isAlnum(b[j]!) && b[j] !== '~' && b[j] !== '^') j++;
    const ca = a[i];
    const cb = b[j];
    if (ca === '~' || cb === '~') {
      if (ca !== '~') return 1;
      if (cb !== '~') return -1;
      i++; j++;
      continue;
    }
    if (ca === '^' || cb === '^') {
      if (ca === undefined) return -1;
      if (cb === undefined) return 1;
      if (ca !== '^') return 1;
      if (cb !== '^') return -1;
      i++; j++;
      continue;
    }
    if (ca === undefined || cb === undefined) break;
    const numeric = isDigit(ca);
    const inRun = numeric ? isDigit : isAlpha;
    let ei = i;
    let ej = j;
    while (ei < a.length && inRun(a[ei]!)) ei++;
    while (ej < b.length && inRun(b[ej]!)) ej++;
    let sa = a.slice(i, ei);
    let sb = b.slice(j, ej);
    // sa is never empty here; sb is empty when the run types differ: numeric beats alpha.
    if (sb.length === 0) return numeric ? 1 : -1;
    if (numeric) {
      sa = sa.replace(/^0+/, '');
      sb = sb.replace(/^0+/, '');
      if (sa.length !== sb.length) return sa.length > sb.length ? 1 : -1;
    }
    if (sa !== sb) return sa < sb ? -1 : 1;
    i = ei;
    j = ej;
  }
  if (i >= a.length && j >= b.length) return 0;
  return i >= a.length ? -1 : 1;
}

/** Plain code-unit order: the final tie-break, so that sorting is total and deterministic. */
function strcmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** By name (strcmp), then version, then release (rpmvercmp). Non-NVR strings sort first, among themselves by strcmp. */
export function compareBaseNames(a: string, b: string): number {
  const na = parseNvr(a);
  const nb = parseNvr(b);
  if (!na || !nb) return na ? 1 : nb ? -1 : strcmp(a, b);
  return (
    strcmp(na.name, nb.name) ||
    rpmvercmp(na.version, nb.version) ||
    rpmvercmp(na.release, nb.release) ||
    strcmp(a, b)
  );
}

/** A base name counts as index 0 of itself, so a mixed list sorts X-1-0, X-1-0+1, X-1-0+2, X-2-0, ... */
function layerOrBase(s: string): LayerRef | null {
  return parseLayerName(s) ?? (validateBaseName(s) === null ? { base: s, index: 0 } : null);
}

/** By base (compareBaseNames), then index numerically; a base sorts right before its layers. Other names first. */
export function compareLayerNames(a: string, b: string): number {
  const la = layerOrBase(a);
  const lb = layerOrBase(b);
  if (!la || !lb) return la ? 1 : lb ? -1 : strcmp(a, b);
  return compareBaseNames(la.base, lb.base) || la.index - lb.index;
}
