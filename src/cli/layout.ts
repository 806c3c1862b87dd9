// imgbase layout: show bases and layers, or --init a host into an imgbased layout.
import { UsageError } from '../core/errors';
import { TAGS, type Inventory } from '../core/inventory';
import { layerName, validateBaseName } from '../core/naming';
import type { Action } from '../core/plan';
import { formatSize, isUnits, poolSpace, roomFor } from '../core/space';
import { applyPlan } from '../adapters/apply';
import { withLock } from '../adapters/lock';
import { readLvRecords } from '../adapters/lvm';
import { chooseAction, lockTimeout, optValue, parseVerbArgs, printJson, type GlobalOpts } from './args';
import { loadInventory, noPositional, requireLayout } from './context';
import { resolveSource } from './source';
import { syncBoot } from './boot-hook';

export const usage = `usage: imgbase layout [--bases | --layers | --free-space [--units b|k|m|g|t|h]] [--json]
       imgbase layout --init NVR --from SRC [--dry-run]

Without options, prints the tree of bases with their layers.
  --bases            list bases, oldest first
  --layers           list layers, oldest first
  --free-space       free space in the thin pool (--units, default h)
  --init NVR         turn this host into an imgbased layout: base NVR from SRC, first layer NVR+1
  --from SRC         the existing thin root LV: a mount point (/), a /dev path, or VG/LV
  --json             machine-readable output
  --dry-run          print what --init would do, change nothing`;

export async function layoutCommand(argv: string[], g: GlobalOpts): Promise<number> {
  const args = parseVerbArgs(argv, { verb: 'layout', boolean: ['bases', 'layers', 'free-space'], string: ['init', 'from', 'units'], usage });
  noPositional(args, 'layout');
  const action = chooseAction(args, ['init', 'bases', 'layers', 'free-space'], 'layout');
  if (action === 'init') return init(optValue(args, 'init', 'layout')!, optValue(args, 'from', 'layout'), g, lockTimeout(args));
  if (args.from !== undefined) throw new UsageError('layout: --from only goes with --init');
  const inv = await loadInventory();
  const layout = requireLayout(inv);
  if (action === 'free-space') {
    const units = optValue(args, 'units', 'layout') ?? 'h';
    if (!isUnits(units)) throw new UsageError(`layout: --units must be one of b k m g t h, not ${units}`);
    const s = poolSpace(layout.pool);
    if (g.json) printJson({ vg: layout.vg, pool: layout.pool.name, ...s, freeBytes: s.dataFreeBytes });
    else console.log(formatSize(s.dataFreeBytes, units));
    return 0;
  }
  if (action === 'bases') {
    if (g.json) printJson(inv.bases.map((b) => b.name));
    else for (const b of inv.bases) console.log(b.name);
    return 0;
  }
  if (action === 'layers') {
    if (g.json) printJson(inv.layers.map((l) => l.name));
    else for (const l of inv.layers) console.log(l.name);
    return 0;
  }
  if (g.json) printJson(treeJson(inv));
  else process.stdout.write(renderTree(inv));
  return 0;
}

export function treeJson(inv: Inventory): unknown {
  return {
    vg: inv.vg,
    pool: inv.pool?.name ?? null,
    bases: inv.bases.map((b) => ({ name: b.name, layers: b.layers.map((l) => l.name) })),
  };
}

export function renderTree(inv: Inventory): string {
  const lines: string[] = [];
  for (const b of inv.bases) {
    lines.push(b.name);
    b.layers.forEach((l, i) => lines.push(` ${i === b.layers.length - 1 ? '└' : '├'}╼ ${l.name}`));
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}

async function init(nvr: string, from: string | undefined, g: GlobalOpts, timeoutS: number): Promise<number> {
  const bad = validateBaseName(nvr);
  if (bad) throw new UsageError(`layout --init: ${bad}`);
  if (!from) throw new UsageError('layout --init needs --from SRC (the thin root LV: /, /dev/VG/LV or VG/LV)');
  return withLock(async () => {
    const records = await readLvRecords();
    const src = await resolveSource(records, from);
    if (records.some((r) => r.vg === src.vg && r.vgTags.includes(TAGS.vg))) {
      throw new UsageError(`VG ${src.vg} is already an imgbased layout`, { hint: "see 'imgbase layout'" });
    }
    if (src.segtype !== 'thin' || !src.pool) {
      throw new UsageError(`${src.vg}/${src.name} is not a thin LV (${src.segtype}); imgbased needs the root on LVM thin`);
    }
    if (records.some((r) => r.vg === src.vg && (r.name === nvr || r.name === layerName(nvr, 1)))) {
      throw new UsageError(`an LV named ${nvr} or ${layerName(nvr, 1)} already exists in ${src.vg}`);
    }
    const pool = records.find((r) => r.vg === src.vg && r.name === src.pool)!;
    const room = roomFor(pool, 0);
    if (room) throw new UsageError(`layout --init: ${room}`);
    const vg = src.vg;
    const layer = layerName(nvr, 1);
    const plan: Action[] = [
      { kind: 'vg-tag', vg, tag: TAGS.vg },
      { kind: 'lv-tag', vg, lv: pool.name, tag: TAGS.pool },
      { kind: 'lv-tag', vg, lv: src.name, tag: TAGS.init },
      ...baseFromSnapshot(vg, src.name, nvr),
      ...layerSteps(vg, nvr, layer),
      { kind: 'boot-sync' },
    ];
    await applyPlan(plan, { dryRun: g.dryRun, bootSync: () => syncBoot(g) });
    if (!g.dryRun) console.log(`initialised ${vg}: base ${nvr}, layer ${layer}; boot ${layer} to use it`);
    return 0;
  }, { timeoutS });
}

/** A base made from a live LV: snapshot, clean its journal, own UUID, then freeze it read-only. */
export function baseFromSnapshot(vg: string, origin: string, base: string): Action[] {
  return [
    { kind: 'snapshot', vg, origin, name: base, tags: [TAGS.base, TAGS.incomplete] },
    { kind: 'activate', vg, lv: base },
    { kind: 'new-fs-uuid', vg, lv: base },
    { kind: 'deactivate', vg, lv: base },
    { kind: 'read-only', vg, lv: base },
    { kind: 'lv-untag', vg, lv: base, tag: TAGS.incomplete },
  ];
}

/** A layer: writable snapshot with its own filesystem UUID and an fstab that names it. */
export function layerSteps(vg: string, origin: string, layer: string): Action[] {
  return [
    { kind: 'snapshot', vg, origin, name: layer, tags: [TAGS.layer, TAGS.incomplete] },
    { kind: 'activate', vg, lv: layer },
    { kind: 'new-fs-uuid', vg, lv: layer },
    { kind: 'fstab-root', vg, lv: layer },
    { kind: 'deactivate', vg, lv: layer },
    { kind: 'lv-untag', vg, lv: layer, tag: TAGS.incomplete },
  ];
}
