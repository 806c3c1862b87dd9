// The imgbased view of a host, built from ONE `lvs --reportformat json` call (however many LVs exist).
// Parsing (parseLvsJson) and classification (buildInventory) are separate so tests can feed either stage.

import { dmName } from './dm';
import { ImgbasedError } from './errors';
import { compareBaseNames, compareLayerNames, layerName, parseLayerName, parseNvr, validateBaseName } from './naming';
import type { Nvr } from './naming';

/** Tags of the original imgbased, so an existing oVirt imgbased host reads as-is. */
export const TAGS = {
  vg: 'imgbased:vg',
  pool: 'imgbased:pool',
  base: 'imgbased:base',
  layer: 'imgbased:layer',
  init: 'imgbased:init',
  // A data volume (core/data): mounted by fstab in every layer, never part of a base or layer.
  data: 'imgbased:data',
  // Ours: set at lvcreate, removed when the base/layer is complete, so a crash mid-way is recognisable.
  incomplete: 'imgbased:incomplete',
  // Ours, on a VG: `install` is making it (from vgcreate until the VG gets imgbased:vg); --wipe may take it down.
  installing: 'imgbased:installing',
} as const;

/** For: lvs --reportformat json --units b --nosuffix -a -o <LVS_FIELDS.join(',')> */
export const LVS_FIELDS: string[] = [
  'lv_name', 'vg_name', 'lv_attr', 'lv_size', 'pool_lv', 'origin', 'lv_tags', 'vg_tags',
  'data_percent', 'metadata_percent', 'lv_path', 'segtype', 'lv_skip_activation', 'lv_active',
  'lv_permissions', 'lv_uuid', 'lv_metadata_size', 'vg_free', 'vg_size',
];

export interface LvRecord {
  vg: string;
  name: string;
  attr: string;
  sizeBytes: number;
  pool: string;
  origin: string;
  tags: string[];
  vgTags: string[];
  dataPercent: number | null;
  metadataPercent: number | null;
  path: string;
  segtype: string;
  skipActivation: boolean;
  active: boolean;
  readOnly: boolean;
  uuid: string;
  /** Thin pools only (metadata LV size); optional so hand-made records in tests stay short. */
  metadataSizeBytes?: number | null;
  vgFreeBytes?: number | null;
  vgSizeBytes?: number | null;
}

export interface Base {
  name: string;
  nvr: Nvr;
  lv: LvRecord;
  layers: Layer[];
}

export interface Layer {
  name: string;
  base: string;
  index: number;
  lv: LvRecord;
}

export type ProblemKind =
  | 'orphan-layer' // tagged layer whose base LV is gone
  | 'untagged' // named like a layer of an existing base but not tagged: a half-created layer
  | 'half-created' // still carries imgbased:incomplete
  | 'base-writable' // a base must be read-only
  | 'foreign-tag' // imgbased:base/layer tag on an LV in a VG not tagged imgbased:vg
  | 'bad-name' // tagged base/layer whose name does not fit
  | 'wrong-origin' // layer snapshotted from something other than its base or a sibling layer
  | 'layer-read-only'
  | 'not-thin' // base/layer that is not a thin LV
  | 'multiple-vgs'
  | 'no-pool';

export interface Problem {
  lv: string;
  kind: ProblemKind;
  message: string;
}

export interface Inventory {
  vg: string | null;
  pool: LvRecord | null;
  bases: Base[];
  layers: Layer[];
  foreign: LvRecord[];
  problems: Problem[];
  /** Other VGs tagged imgbased:vg (e.g. a disk being installed to): not this system's layout, left alone. */
  others: string[];
}

type Row = Record<string, unknown>;

function str(row: Row, key: string): string {
  const v = row[key];
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '';
}

/** lvm prints numbers as strings; "" means "not applicable" (e.g. data_percent of a linear or inactive LV). */
function num(row: Row, key: string): number | null {
  const s = str(row, key).trim().replace(/B$/i, '').replace(',', '.');
  if (s === '') return null;
  const n = Number(s);
  return Number.isFinite(n) ? n : null;
}

/** STR_LIST fields: "a,b" with --reportformat json (lvm 2.03.16); a real array with json_std (2.03.17+). */
function list(row: Row, key: string): string[] {
  const v = row[key];
  const items = Array.isArray(v) ? v.map(String) : str(row, key).split(',');
  return items.map((t) => t.trim()).filter((t) => t !== '');
}

/** Binary lvm fields print their own name when set ("skip activation") or "1" with binary_values_as_numeric. */
function flag(s: string): boolean {
  return s !== '' && s !== '0';
}

function activeState(v: unknown, attr: string): boolean {
  if (v === 'active') return true;
  if (v === '') return false;
  return attr[4] === 'a';
}

function toRecord(row: Row): LvRecord {
  const attr = str(row, 'lv_attr');
  const perm = str(row, 'lv_permissions');
  return {
    vg: str(row, 'vg_name'),
    name: str(row, 'lv_name'),
    attr,
    sizeBytes: num(row, 'lv_size') ?? 0,
    pool: str(row, 'pool_lv'),
    origin: str(row, 'origin'),
    tags: list(row, 'lv_tags'),
    vgTags: list(row, 'vg_tags'),
    dataPercent: num(row, 'data_percent'),
    metadataPercent: num(row, 'metadata_percent'),
    path: str(row, 'lv_path'),
    segtype: str(row, 'segtype'),
    // attr[9] is 'k' when activation is skipped; use it when the field was not asked for.
    skipActivation: 'lv_skip_activation' in row ? flag(str(row, 'lv_skip_activation')) : attr[9] === 'k',
    // lv_active is "active", "" or "unknown" (activation disabled): when unknown or absent, trust attr[4].
    active: activeState(row['lv_active'], attr),
    // attr[1]: w writable, r read-only, R read-only activation of a writable LV.
    readOnly: perm.startsWith('read-only') || attr[1] === 'r' || attr[1] === 'R',
    uuid: str(row, 'lv_uuid'),
    metadataSizeBytes: num(row, 'lv_metadata_size'),
    vgFreeBytes: num(row, 'vg_free'),
    vgSizeBytes: num(row, 'vg_size'),
  };
}

/**
 * Parse `lvs --reportformat json` output: {"report":[{"lv":[{...}]}]}, with lvm >= 2.03.2x also a "log" array
 * beside "report" (the command log, see lvmJsonLogErrors; nothing in it is an LV). Hidden LVs ("[pool_tdata]",
 * "[lvol0_pmspare]") are dropped: they are LVM internals, never bases or layers.
 */
export function parseLvsJson(text: string): LvRecord[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new ImgbasedError(`cannot parse lvs JSON output: ${(e as Error).message}`, { cause: e });
  }
  const reports = (doc as { report?: unknown })?.report;
  if (!Array.isArray(reports)) throw new ImgbasedError('unexpected lvs JSON output: no "report" array');
  const out: LvRecord[] = [];
  for (const rep of reports) {
    const lvs = (rep as { lv?: unknown })?.lv;
    if (!Array.isArray(lvs)) continue;
    for (const row of lvs) {
      if (row === null || typeof row !== 'object') continue;
      const rec = toRecord(row as Row);
      if (rec.name === '' || rec.name.startsWith('[')) continue;
      out.push(rec);
    }
  }
  return out;
}

/**
 * The error messages of lvm's command log in JSON output. lvm >= 2.03.2x (Debian 13: 2.03.31) turns
 * log/report_command_log on by default for --reportformat json: a "log" array comes beside "report", and a failing
 * reporting command puts its errors there instead of on stderr. Output without one (lvm 2.03.16) yields none.
 */
export function lvmJsonLogErrors(text: string): string[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return [];
  }
  const entries = (doc as { log?: unknown } | null)?.log;
  if (!Array.isArray(entries)) return [];
  return entries.flatMap((e) => {
    const o = (e ?? {}) as Record<string, unknown>;
    const msg = typeof o.log_message === 'string' ? o.log_message.trim() : '';
    return o.log_type === 'error' && msg ? [msg] : [];
  });
}

const has = (r: LvRecord, tag: string): boolean => r.tags.includes(tag);

function pickPool(inVg: LvRecord[], problems: Problem[], vg: string): LvRecord | null {
  const tagged = inVg.find((r) => has(r, TAGS.pool));
  if (tagged) return tagged;
  const pools = inVg.filter((r) => r.segtype === 'thin-pool');
  if (pools.length === 1) return pools[0]!;
  problems.push({
    lv: '',
    kind: 'no-pool',
    message: `VG ${vg} has ${pools.length === 0 ? 'no thin pool' : 'several thin pools and none'} tagged ${TAGS.pool}`,
  });
  return null;
}

/**
 * Classify LVs into bases, layers and foreign LVs. VG = opts.vg, else the VG tagged imgbased:vg. Every LV of
 * another name or VG is "foreign" and never an error; broken imgbased LVs are foreign plus a Problem, so
 * they are neither booted nor hidden from `check`.
 */
/**
 * `rootDm`: the device-mapper name of the running root. Its VG is the layout when several VGs are tagged (another
 * disk's layout is then only listed in `others`); without it the first tagged VG is used, and that is a problem.
 */
export function buildInventory(records: LvRecord[], opts: { vg?: string; rootDm?: string | null } = {}): Inventory {
  const problems: Problem[] = [];
  const tagged = [...new Set(records.filter((r) => r.vgTags.includes(TAGS.vg)).map((r) => r.vg))].sort();
  const running = opts.rootDm ? records.find((r) => tagged.includes(r.vg) && dmName(r.vg, r.name) === opts.rootDm)?.vg : undefined;
  const vg = opts.vg ?? running ?? tagged[0] ?? null;
  if (!opts.vg && !running && tagged.length > 1) {
    problems.push({ lv: '', kind: 'multiple-vgs', message: `several VGs tagged ${TAGS.vg} (${tagged.join(', ')}); using ${vg}` });
  }
  const inVg = records.filter((r) => r.vg === vg);
  const foreign = records.filter((r) => r.vg !== vg);
  // LVs of another imgbased VG (chosen away with opts.vg) are legitimately tagged; strays elsewhere are not.
  for (const r of foreign) {
    if (!r.vgTags.includes(TAGS.vg) && (has(r, TAGS.base) || has(r, TAGS.layer))) {
      problems.push({ lv: `${r.vg}/${r.name}`, kind: 'foreign-tag', message: `${r.vg}/${r.name} carries imgbased tags but is outside VG ${vg ?? '(none)'}; ignored` });
    }
  }
  const pool = vg !== null && inVg.length > 0 ? pickPool(inVg, problems, vg) : null;
  const bases = new Map<string, Base>();
  const pendingLayers: LvRecord[] = [];
  const rest: LvRecord[] = [];

  for (const r of inVg) {
    if (has(r, TAGS.incomplete)) {
      problems.push({ lv: r.name, kind: 'half-created', message: `${r.name} was left by an interrupted command (tag ${TAGS.incomplete}); 'imgbase check --repair' removes it` });
      foreign.push(r);
    } else if (has(r, TAGS.layer)) {
      pendingLayers.push(r);
    } else if (has(r, TAGS.base)) {
      const nvr = validateBaseName(r.name) === null ? parseNvr(r.name) : null;
      if (!nvr) {
        problems.push({ lv: r.name, kind: 'bad-name', message: `${r.name} is tagged ${TAGS.base} but is not a valid base name (${validateBaseName(r.name)}); ignored` });
        foreign.push(r);
        continue;
      }
      if (!r.readOnly) problems.push({ lv: r.name, kind: 'base-writable', message: `base ${r.name} is writable; make it read-only with lvchange -p r ${vg}/${r.name}` });
      if (r.segtype !== 'thin') problems.push({ lv: r.name, kind: 'not-thin', message: `base ${r.name} is not a thin LV (${r.segtype}); layers cannot be made from it` });
      bases.set(r.name, { name: r.name, nvr, lv: r, layers: [] });
    } else {
      rest.push(r);
    }
  }

  const layers: Layer[] = [];
  for (const r of pendingLayers) {
    const ref = parseLayerName(r.name);
    const base = ref ? bases.get(ref.base) : undefined;
    if (!ref) {
      problems.push({ lv: r.name, kind: 'bad-name', message: `${r.name} is tagged ${TAGS.layer} but is not a valid layer name (BASE+N); ignored` });
      foreign.push(r);
    } else if (!base) {
      problems.push({ lv: r.name, kind: 'orphan-layer', message: `layer ${r.name} has no base ${ref.base}; remove it with lvremove ${vg}/${r.name} or restore the base` });
      foreign.push(r);
    } else {
      // Origin "" is normal: the layer it was snapshotted from may have been removed since.
      const sibling = parseLayerName(r.origin)?.base === ref.base;
      if (r.origin !== '' && r.origin !== ref.base && !sibling) {
        problems.push({ lv: r.name, kind: 'wrong-origin', message: `layer ${r.name} is a snapshot of ${r.origin}, not of base ${ref.base} or one of its layers` });
      }
      if (r.readOnly) problems.push({ lv: r.name, kind: 'layer-read-only', message: `layer ${r.name} is read-only; make it writable with lvchange -p rw ${vg}/${r.name}` });
      if (r.segtype !== 'thin') problems.push({ lv: r.name, kind: 'not-thin', message: `layer ${r.name} is not a thin LV (${r.segtype})` });
      const layer = { name: r.name, base: ref.base, index: ref.index, lv: r };
      layers.push(layer);
      base.layers.push(layer);
    }
  }

  for (const r of rest) {
    const ref = parseLayerName(r.name);
    if (ref && bases.has(ref.base)) {
      problems.push({ lv: r.name, kind: 'untagged', message: `${r.name} looks like a layer of ${ref.base} but has no ${TAGS.layer} tag (half-created?); remove it with lvremove ${vg}/${r.name}` });
    }
    foreign.push(r);
  }

  const byLayer = (a: Layer, b: Layer): number => compareLayerNames(a.name, b.name);
  const sortedBases = [...bases.values()].sort((a, b) => compareBaseNames(a.name, b.name));
  for (const b of sortedBases) b.layers.sort(byLayer);
  layers.sort(byLayer);
  return { vg, pool, bases: sortedBases, layers, foreign, problems, others: tagged.filter((t) => t !== vg) };
}

export function latestBase(inv: Inventory): Base | null {
  return inv.bases[inv.bases.length - 1] ?? null;
}

/** Newest layer of the newest base that has layers (layers are sorted by base, then index). */
export function latestLayer(inv: Inventory): Layer | null {
  return inv.layers[inv.layers.length - 1] ?? null;
}

export function findLayer(inv: Inventory, name: string): Layer | null {
  return inv.layers.find((l) => l.name === name) ?? null;
}

export function findBase(inv: Inventory, name: string): Base | null {
  return inv.bases.find((b) => b.name === name) ?? null;
}

export function baseOfLayer(inv: Inventory, layer: string | Layer): Base | null {
  const base = typeof layer === 'string' ? parseLayerName(layer)?.base : layer.base;
  return base === undefined ? null : findBase(inv, base);
}

/**
 * Next free "<base>+N": one past the highest index of ANY LV in the VG named like a layer of that base,
 * including orphaned and untagged ones, so a new layer never collides with a leftover LV.
 */
export function nextLayerName(inv: Inventory, base: string | Base): string {
  const b = typeof base === 'string' ? base : base.name;
  let max = 0;
  const names = [...inv.layers.map((l) => l.name), ...inv.foreign.filter((r) => r.vg === inv.vg).map((r) => r.name)];
  for (const n of names) {
    const ref = parseLayerName(n);
    if (ref && ref.base === b && ref.index > max) max = ref.index;
  }
  return layerName(b, max + 1);
}
