// Boot Loader Specification Type #1 entries (/boot/loader/entries/*.conf): parse, render, and the pure rules for
// the entries imgbased writes (one per layer). No I/O: the adapter (adapters/bootfs.ts) reads and writes files.
//
// One ordered key table drives both render and parse, so our files always come out in the same order. Entries we
// did not write are recognised (file name + marker comment) and never rendered back: callers leave them untouched.
import { parseOsRelease } from './os-release';

/** Keys in the order we render them; `multi` keys may appear more than once and keep every value. */
export const BLS_KEYS = [
  { key: 'title', multi: false },
  { key: 'version', multi: false },
  { key: 'sort-key', multi: false },
  { key: 'machine-id', multi: false },
  { key: 'linux', multi: false },
  { key: 'initrd', multi: true },
  { key: 'efi', multi: false },
  { key: 'options', multi: true },
  { key: 'devicetree', multi: false },
  { key: 'devicetree-overlay', multi: false },
  { key: 'architecture', multi: false },
] as const;

const KNOWN = new Map<string, boolean>(BLS_KEYS.map((k) => [k.key, k.multi]));

export interface BlsEntry {
  /** Comment lines (without the leading '#'), in file order; our marker is one of them. */
  comments: string[];
  title: string | null;
  version: string | null;
  sortKey: string | null;
  machineId: string | null;
  linux: string | null;
  initrd: string[];
  /** Each `options` line as written; the kernel command line is their space-joined concatenation. */
  options: string[];
  /** Known single keys without a dedicated field, and unknown keys, in file order. */
  extra: Array<{ key: string; value: string }>;
}

export function emptyEntry(): BlsEntry {
  return { comments: [], title: null, version: null, sortKey: null, machineId: null, linux: null, initrd: [], options: [], extra: [] };
}

/** Lenient like systemd's reader: blank lines ignored, key and value split on the first run of blanks. */
export function parseBls(text: string): BlsEntry {
  const e = emptyEntry();
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    const t = line.trim();
    if (t === '') continue;
    if (t.startsWith('#')) {
      e.comments.push(t.slice(1).trim());
      continue;
    }
    const m = /^(\S+)(?:[ \t]+(.*))?$/.exec(t);
    if (!m) continue;
    const key = m[1]!;
    const value = (m[2] ?? '').trim();
    switch (key) {
      case 'title': e.title = value; break;
      case 'version': e.version = value; break;
      case 'sort-key': e.sortKey = value; break;
      case 'machine-id': e.machineId = value; break;
      case 'linux': e.linux = value; break;
      case 'initrd': e.initrd.push(value); break;
      case 'options': e.options.push(value); break;
      default: e.extra.push({ key, value });
    }
  }
  return e;
}

/** Values must be one line: a newline would start a new key (a title could otherwise inject `linux ...`). */
function oneLineValue(v: string): string {
  return v.replace(/[\r\n\t\v\f]+/g, ' ').trim();
}

export function renderBls(e: BlsEntry): string {
  const out: string[] = [];
  for (const c of e.comments) out.push(c === '' ? '#' : `# ${oneLineValue(c)}`);
  const put = (key: string, v: string | null): void => {
    if (v !== null) out.push(`${key} ${oneLineValue(v)}`.trimEnd());
  };
  for (const { key } of BLS_KEYS) {
    switch (key) {
      case 'title': put(key, e.title); break;
      case 'version': put(key, e.version); break;
      case 'sort-key': put(key, e.sortKey); break;
      case 'machine-id': put(key, e.machineId); break;
      case 'linux': put(key, e.linux); break;
      case 'initrd': for (const v of e.initrd) put(key, v); break;
      case 'options': for (const v of e.options) put(key, v); break;
      default: for (const x of e.extra) if (x.key === key) put(key, x.value);
    }
  }
  // Unknown keys keep their relative order after the known ones.
  for (const x of e.extra) if (!KNOWN.has(x.key) && /^[A-Za-z0-9_.-]+$/.test(x.key)) put(x.key, x.value);
  return `${out.join('\n')}\n`;
}

/** The kernel command line an entry passes (all `options` lines joined). */
export function entryCmdline(e: BlsEntry): string {
  return e.options.map((o) => o.trim()).filter(Boolean).join(' ');
}

// ---------------------------------------------------------------------------------------------------------------
// Ownership: file name entryFileName(layer) AND the marker comment naming the same layer. Both, so that a file
// someone copied or renamed is not mistaken for ours, and a hand-written file with our prefix is left alone.

export const ENTRY_PREFIX = 'imgbased-';
export const MARKER_PREFIX = 'imgbased: layer=';
/**
 * GRUB menuentry id and BLS entry id (file name without .conf) are the same string: "imgbased-<layer>" with the
 * layer's '+' written as '_' ("imgbased-Image-2.0-0_1"). A file name ending in "+N.conf" would be read by
 * systemd-boot/bootctl as boot counting ("+LEFT[-DONE]": tries left, id without the suffix; seen in the lab), so
 * two layers of one base would share an id. Injective: base names have no '+', the index is digits only.
 */
export function entryId(layer: string): string {
  return `${ENTRY_PREFIX}${layer.replace(/\+/g, '_')}`;
}
export function entryFileName(layer: string): string {
  return `${entryId(layer)}.conf`;
}
export function markerComment(layer: string): string {
  return `${MARKER_PREFIX}${layer}`;
}

/** Layer named by our marker comment, or null. */
export function markerLayer(e: BlsEntry): string | null {
  for (const c of e.comments) {
    if (c.startsWith(MARKER_PREFIX)) return c.slice(MARKER_PREFIX.length).trim() || null;
  }
  return null;
}

/** The layer an entry file belongs to when it is ours, else null (foreign: never rewritten or removed). */
export function ownedLayer(fileName: string, e: BlsEntry): string | null {
  if (!fileName.startsWith(ENTRY_PREFIX) || !fileName.endsWith('.conf')) return null;
  const fromMarker = markerLayer(e);
  return fromMarker !== null && entryFileName(fromMarker) === fileName ? fromMarker : null;
}

// ---------------------------------------------------------------------------------------------------------------
// Kernel command line for a layer.

/**
 * Split like the kernel (blanks separate, double quotes group) but keep every token's text exactly, so
 * arguments we do not touch come out byte for byte.
 */
export function splitCmdlineTokens(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inQuote = false;
  for (const c of text) {
    if (c === '"') inQuote = !inQuote;
    if (!inQuote && /\s/.test(c)) {
      if (cur) out.push(cur);
      cur = '';
      continue;
    }
    cur += c;
  }
  if (cur) out.push(cur);
  return out;
}

function tokenKey(t: string): string {
  const s = t.startsWith('"') ? t.slice(1) : t;
  const eq = s.indexOf('=');
  return (eq < 0 ? s : s.slice(0, eq)).replace(/"$/, '');
}
function tokenValue(t: string): string | null {
  const eq = t.indexOf('=');
  return eq < 0 ? null : t.slice(eq + 1).replace(/^"|"$/g, '');
}

/** LV named by a root= value of the forms /dev/VG/LV or /dev/mapper/VG-LV (null for UUID= etc.). */
export function rootLvOf(root: string, vg: string): string | null {
  const direct = `/dev/${vg}/`;
  if (root.startsWith(direct)) return root.slice(direct.length);
  const mapperVg = `/dev/mapper/${vg.replace(/-/g, '--')}-`;
  if (root.startsWith(mapperVg)) {
    const rest = root.slice(mapperVg.length);
    // In a dm name a single '-' would separate VG from LV; inside the LV part every '-' is doubled.
    if (/(^|[^-])-([^-]|$)/.test(rest.replace(/--/g, ''))) return null;
    return rest.replace(/--/g, '-');
  }
  return null;
}

/** Seconds a panicking kernel waits before it reboots, added to entries whose template has no panic=. */
export const PANIC_REBOOT_S = 10;

export interface LayerCmdlineInput {
  /** Template command line (e.g. the running host's or another layer's entry). */
  template: string;
  vg: string;
  layer: string;
  /** LV names (bases, layers) whose rd.lvm.lv= must not be carried over to this layer. */
  imgbasedLvs?: readonly string[];
}

/**
 * The template with root=/dev/VG/LAYER, rd.lvm.lv=VG/LAYER and imgbased.layer=LAYER set (replaced in place, else
 * root= goes first, rd.lvm.lv= right after root= and imgbased.layer= last), and panic=10 when it has no panic=. Boot-loader-only words (BOOT_IMAGE=, initrd=) are
 * dropped; rd.lvm.lv= naming the template's own root LV or another base/layer is dropped, others (swap) stay.
 * Redundant on purpose: stock dracut boots the entry from root=/rd.lvm.lv= even without our module.
 */
export function layerCmdline(input: LayerCmdlineInput): string {
  const { vg, layer } = input;
  const tokens = splitCmdlineTokens(input.template);
  const dropLvs = new Set(input.imgbasedLvs ?? []);
  for (const t of tokens) {
    if (tokenKey(t) === 'root') {
      const lv = rootLvOf(tokenValue(t) ?? '', vg);
      if (lv) dropLvs.add(lv);
    }
  }
  const want = { root: `root=/dev/${vg}/${layer}`, lvm: `rd.lvm.lv=${vg}/${layer}`, layer: `imgbased.layer=${layer}` };
  const out: string[] = [];
  const placed = { root: false, lvm: false, layer: false };
  for (const t of tokens) {
    const k = tokenKey(t);
    if (k === 'BOOT_IMAGE' || k === 'initrd') continue;
    if (k === 'root') {
      if (!placed.root) out.push(want.root);
      placed.root = true;
      continue;
    }
    if (k === 'imgbased.layer' || k === 'imgbased_layer') {
      if (!placed.layer) out.push(want.layer);
      placed.layer = true;
      continue;
    }
    if (k === 'rd.lvm.lv' || k === 'rd_LVM_LV') {
      const v = tokenValue(t) ?? '';
      const slash = v.indexOf('/');
      const isOurVg = slash > 0 && v.slice(0, slash) === vg;
      if (isOurVg && (dropLvs.has(v.slice(slash + 1)) || v.slice(slash + 1) === layer)) {
        if (!placed.lvm) out.push(want.lvm);
        placed.lvm = true;
        continue;
      }
    }
    out.push(t);
  }
  if (!placed.root) out.unshift(want.root);
  if (!placed.lvm) out.splice(out.indexOf(want.root) + 1, 0, want.lvm);
  if (!placed.layer) out.push(want.layer);
  // A kernel panic (a dead init, a garbage initramfs) must come back to GRUB, where boot counting falls back.
  if (!tokens.some((t) => tokenKey(t) === 'panic')) out.push(`panic=${PANIC_REBOOT_S}`);
  return out.join(' ');
}

// ---------------------------------------------------------------------------------------------------------------
// Our entry for one layer.

/** PRETTY_NAME (else NAME VERSION, else NAME) from os-release text; shell-style quoting removed. */
export function osReleasePrettyName(text: string): string | null {
  const vars = parseOsRelease(text);
  const pretty = vars.get('PRETTY_NAME');
  if (pretty) return pretty;
  const name = vars.get('NAME');
  const version = vars.get('VERSION');
  if (name && version) return `${name} ${version}`;
  return name ?? null;
}

export function layerTitle(prettyName: string | null, layer: string): string {
  return oneLineValue(prettyName ? `${prettyName} (${layer})` : `imgbased ${layer}`);
}

/** All our entries share one sort-key so BLS readers group them; `version` then sorts newest first. */
export const SORT_KEY = 'imgbased';

/**
 * `version` for a layer: "<base version>-<base release>+<index>", e.g. "4.3-0.2+1". BLS readers (bootctl, GRUB's
 * blscfg) sort by sort-key and then version *descending* with a version compare where digits compare numerically and
 * '+' is only a separator, so newer bases and higher layer indexes come first.
 */
export function layerVersion(base: { version: string; release: string }, index: number): string {
  return `${base.version}-${base.release}+${index}`;
}

export interface LayerEntryInput {
  layer: string;
  base: { version: string; release: string };
  index: number;
  vg: string;
  prettyName: string | null;
  /** Paths relative to the root of the filesystem holding the entries (BLS rule), e.g. /imgbased/B/vmlinuz-6.1. */
  linux: string;
  initrd: string[];
  options: string;
  machineId?: string | null;
}

export function layerEntry(i: LayerEntryInput): BlsEntry {
  return {
    comments: [markerComment(i.layer), 'Written by imgbase; edits are replaced by `imgbase boot --sync`.'],
    title: layerTitle(i.prettyName, i.layer),
    version: layerVersion(i.base, i.index),
    sortKey: SORT_KEY,
    machineId: i.machineId ?? null,
    linux: i.linux,
    initrd: [...i.initrd],
    options: [i.options],
    extra: [],
  };
}
