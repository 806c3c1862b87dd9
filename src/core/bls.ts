// Boot Loader Specification Type #1 entries (/boot/loader/entries/*.conf): parse, render, and the pure rules for
// the entries imgbased writes (one per layer). No I/O: the adapter (adapters/bootfs.ts) reads and writes files.
//
// One ordered key table drives both render and parse, so our files always come out in the same order. Entries we
// did not write are recognised (file name + marker comment) and never rendered back: callers leave them untouched.

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
 * root= goes first, rd.lvm.lv= right after root= and imgbased.layer= last). Boot-loader-only words (BOOT_IMAGE=, initrd=) are
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
  return out.join(' ');
}

// ---------------------------------------------------------------------------------------------------------------
// Our entry for one layer.

/** PRETTY_NAME (else NAME VERSION, else NAME) from os-release text; shell-style quoting removed. */
export function osReleasePrettyName(text: string): string | null {
  const vars = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Z0-9_]+)=(.*)$/.exec(line);
    if (!m) continue;
    let v = m[2]!.trim();
    if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) v = v.slice(1, -1).replace(/\\(["\\$`])/g, '$1');
    else if (v.startsWith("'") && v.endsWith("'") && v.length >= 2) v = v.slice(1, -1);
    vars.set(m[1]!, v);
  }
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

// ---------------------------------------------------------------------------------------------------------------
// GRUB script rendering (for grub.d/42_imgbased on GRUBs without blscfg).

/** GRUB script single-quoted word: everything literal; a ' is closed, escaped, reopened (as grub-mkconfig_lib). */
export function grubQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A kernel argument word for a GRUB `linux` line: plain when it holds only inert characters, else quoted. */
export function grubWord(s: string): string {
  return /^[A-Za-z0-9_.,:/=+@%^-]+$/.test(s) ? s : grubQuote(s);
}

/** Name of the menu file imgbase writes next to grub.cfg; grub.cfg only holds a stub that sources it. */
export const GRUB_MENU_FILE = 'imgbased.cfg';
/** Bumped when the stub's contract with the menu file changes: an older stub in grub.cfg makes imgbase rerun grub-mkconfig. */
export const GRUB_STUB_VERSION = 1;
const GRUB_STUB_MARKER = 'imgbased-grub-stub v';

/** Version of the imgbased stub in a grub.cfg, or null when it has none (never generated with 42_imgbased, or it failed). */
export function grubStubVersion(cfg: string): number | null {
  const m = new RegExp(`^# ${GRUB_STUB_MARKER}(\\d+)\\b`, 'm').exec(cfg);
  return m ? Number(m[1]) : null;
}

/** Non-empty lines of grub-mkconfig_lib's prepare_grub_to_access_device output. */
function prepareLines(prepare: string): string[] {
  return prepare.split('\n').map((l) => l.trim()).filter(Boolean);
}

export interface GrubStubInput {
  /** Path of the boot filesystem's root as GRUB sees it: "" when /boot is its own partition, else "/boot". */
  bootPrefix: string;
  /** Lines from grub-mkconfig_lib's prepare_grub_to_access_device (insmod/search) that make $root the /boot device. */
  prepare: string;
  /** Directory of grub.cfg under /boot: "grub" (Debian) or "grub2" (Fedora-like); the menu file lives there too. */
  grubDir: string;
  /** Whether the menu file may choose the default (off when the admin set GRUB_DEFAULT to something explicit). */
  manageDefault: boolean;
}

/**
 * What grub.d/42_imgbased puts in grub.cfg (the grub-btrfs pattern): everything only grub-mkconfig knows (how to
 * reach /boot, its path, the GRUB_DEFAULT policy), and a `source` of the menu file imgbase rewrites on every layer
 * change, so a write verb never reruns grub-mkconfig. `source` runs the file in this context: its entries join this
 * menu at this point (after the distribution's own), and the default / next_entry ids resolve against the whole menu
 * when GRUB draws it, after grub.cfg has run.
 */
export function renderGrubStub(input: GrubStubInput): string {
  if (!/^grub2?$/.test(input.grubDir)) throw new Error(`unexpected GRUB directory ${input.grubDir}`);
  const prep = prepareLines(input.prepare);
  const menu = `"\${imgbased_boot}/${input.grubDir}/${GRUB_MENU_FILE}"`;
  return [
    `# ${GRUB_STUB_MARKER}${GRUB_STUB_VERSION}: the imgbased layers' entries are in ${input.grubDir}/${GRUB_MENU_FILE}, written by imgbase`,
    // Called by every entry of the menu file: entries run in the menu's context, where $root may be anything.
    'function imgbased_prepare {',
    ...(prep.length > 0 ? prep : ['true']).map((l) => `\t${l}`),
    '}',
    `set imgbased_boot=${grubQuote(input.bootPrefix)}`,
    `set imgbased_manage_default=${input.manageDefault ? 1 : 0}`,
    // Later grub.d scripts (40_custom) expect the $root they had before: restore it after reading the menu file.
    'set imgbased_saved_root="${root}"',
    'imgbased_prepare',
    `if [ -f ${menu} ]; then`,
    `\tsource ${menu}`,
    'fi',
    'set root="${imgbased_saved_root}"',
  ].join('\n') + '\n';
}

export interface GrubMenuInput {
  /** Our entries, newest first. */
  entries: Array<{ layer: string; entry: BlsEntry }>;
}

/** A /boot-relative path as a GRUB word behind the stub's $imgbased_boot ("" or "/boot"). */
function bootPath(p: string): string {
  return `"\${imgbased_boot}"${grubWord(p.startsWith('/') ? p : `/${p}`)}`;
}

/**
 * The menu file (GRUB_MENU_FILE), sourced by the stub: one menuentry per layer (newest first) with stable ids
 * `imgbased-<layer>`, and a block choosing the default when the stub allows it: the saved_entry when it names one
 * of ours, the newest layer when saved_entry is empty; a one-shot next_entry (00_header sets boot_once) or a
 * saved_entry naming someone else's entry are left alone.
 */
export function renderGrubMenu(input: GrubMenuInput): string {
  const out: string[] = ['# imgbased: one entry per layer, newest first. Written by imgbase on every layer change; sourced by grub.cfg.'];
  const entries = input.entries.filter((e) => e.entry.linux);
  for (const { layer, entry } of entries) {
    const title = entry.title ?? `imgbased ${layer}`;
    out.push(`menuentry ${grubQuote(title)} --class imgbased --class gnu-linux --class os --id ${grubQuote(entryId(layer))} {`);
    out.push('\tinsmod gzio');
    out.push('\timgbased_prepare');
    out.push(`\techo ${grubQuote(`Loading imgbased layer ${layer} ...`)}`);
    const args = splitCmdlineTokens(entryCmdline(entry)).map(grubWord);
    out.push(`\tlinux ${[bootPath(entry.linux!), ...args].join(' ')}`);
    if (entry.initrd.length > 0) out.push(`\tinitrd ${entry.initrd.map(bootPath).join(' ')}`);
    out.push('}');
  }
  const ids = entries.map((e) => grubQuote(entryId(e.layer)));
  if (ids.length > 0) {
    out.push('if [ "${imgbased_manage_default}" = 1 -a -z "${boot_once}" ]; then');
    out.push(`\tset imgbased_default=${ids[0]}`);
    out.push(`\tfor imgbased_id in ${ids.join(' ')}; do`);
    out.push('\t\tif [ "${saved_entry}" = "${imgbased_id}" ]; then set imgbased_default="${imgbased_id}"; fi');
    out.push('\tdone');
    out.push('\tif [ -z "${saved_entry}" -o "${saved_entry}" = "${imgbased_default}" ]; then');
    out.push('\t\tset default="${imgbased_default}"');
    out.push('\tfi');
    out.push('fi');
  }
  return `${out.join('\n')}\n`;
}
