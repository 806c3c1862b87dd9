// The plan of each write verb, pure: validation against the snapshots, then compose(). The CLI only reads the
// snapshots, calls one of these and hands the steps to the applier (or prints them for --dry-run).
import { entryId } from '../bls';
import { BusyError, ImgbasedError, NotFoundError, UsageError } from '../errors';
import { findBase, findLayer, latestBase, latestLayer, nextLayerName, TAGS, type Inventory, type LvRecord } from '../inventory';
import { compareLayerNames, layerName, parseLayerName, parseNvr, validateLayerName } from '../naming';
import { roomFor } from '../space';
import type { KernelSource, Step } from '../steps';
import { kernelDirPath } from '../boot-plan';
import { compose, type Plan, type PlanInput } from './compose';
import { armNewLayer, bootableStates, newestUsable } from './boot-verbs';
import { checkDataRequest, dataCreate, type DataAddRequest } from './data-volume';

/** The layout a write needs: its VG and thin pool (a NotFoundError naming what is missing). */
export function layout(input: PlanInput): { vg: string; pool: LvRecord } {
  const { inv } = input;
  if (!inv.vg) throw new NotFoundError('no imgbased layout on this host', { hint: "create one with 'imgbase layout --init NVR --from /'" });
  if (!inv.pool) throw new NotFoundError(`VG ${inv.vg} has no thin pool imgbased can use`, { hint: 'tag it with imgbased:pool' });
  return { vg: inv.vg, pool: inv.pool };
}

export function checkRoom(verb: string, pool: LvRecord, bytes: number): void {
  const room = roomFor(pool, bytes);
  if (room) throw new ImgbasedError(`${verb}: ${room}`);
}

/** Boot entries, menu and kernel copies brought in line with the layers; what an interrupted command left, finished. */
export function planSync(input: PlanInput): Plan {
  return compose(input, { vg: layout(input).vg });
}

/** Which LV a new layer is snapshotted from: X (a base or a layer), else the newest layer of the newest base. */
export function layerOrigin(inv: Inventory, target: string | undefined): { origin: string; base: string } {
  if (target === undefined) {
    const base = latestBase(inv);
    if (!base) throw new NotFoundError('there are no bases to add a layer on');
    const last = base.layers[base.layers.length - 1];
    return { origin: last?.name ?? base.name, base: base.name };
  }
  if (parseLayerName(target)) {
    const bad = validateLayerName(target);
    if (bad) throw new UsageError(`layer --add: ${bad}`);
    const l = findLayer(inv, target);
    if (!l) throw new NotFoundError(`layer ${target} not found`);
    return { origin: l.name, base: l.base };
  }
  const b = findBase(inv, target);
  if (!b) throw new NotFoundError(`base ${target} not found`);
  return { origin: b.name, base: b.name };
}

/** Whether the base's tree holds a filesystem: known from its kernel copy on /boot, else from the probe. */
function baseHasFs(input: PlanInput, base: string): boolean {
  if (input.boot.kernelDirs.some((k) => k.owner === base)) return true;
  return (input.fsTypes.get(base) ?? 'unknown') !== '';
}

/** Steps that make a layer: a writable snapshot with its own filesystem UUID and an fstab that names it. */
export function layerCreate(vg: string, origin: string, layer: string, hasFs: boolean, mounts: string[]): Step[] {
  return [
    { kind: 'snapshot', vg, origin, name: layer, tags: [TAGS.layer, TAGS.incomplete] },
    ...(hasFs
      ? [
          { kind: 'activate', vg, lv: layer } as Step,
          { kind: 'new-fs-uuid', vg, lv: layer } as Step,
          { kind: 'fstab-root', vg, lv: layer, mounts } as Step,
          { kind: 'deactivate', vg, lv: layer } as Step,
        ]
      : []),
  ];
}

export function planLayerAdd(input: PlanInput, target: string | undefined): Plan & { name: string; origin: string } {
  const { vg, pool } = layout(input);
  const { origin, base } = layerOrigin(input.inv, target);
  checkRoom('layer --add', pool, 0);
  const name = nextLayerName(input.inv, base);
  const nvr = findBase(input.inv, base)!.nvr;
  const hasFs = baseHasFs(input, base);
  const ctx = { vg, base, layer: name, prevLayer: latestLayer(input.inv)?.name ?? null };
  const newRoot = hasFs ? { vg, lv: name } : undefined;
  const change = {
    vg,
    create: layerCreate(vg, origin, name, hasFs, input.bootMounts ?? []),
    complete: [name],
    newLayers: [{ name, base, nvr, index: parseLayerName(name)!.index }],
  };
  // post-install: the new layer is the default from now on (it has an entry, and no other layer is pinned).
  const probe = compose(input, change);
  const saved = input.boot.grub?.env.saved_entry;
  // GRUB's default when nothing is pinned: the newest layer with an entry not marked bad (a layer on an older base
  // is not it).
  const current = newestUsable(bootableStates(input), new Set());
  const newest = current === null || compareLayerNames(current, name) < 0;
  const isDefault = probe.steps.some((s) => s.kind === 'write-entry' && s.layer === name) && newest && (!saved || saved === entryId(name));
  const plan = compose(input, {
    ...change,
    // Boot counting: the new default is armed; it must come up (be blessed) within its tries or GRUB goes back.
    env: isDefault ? armNewLayer(input, name) : [],
    events: [
      { event: 'pre-layer-add', ctx },
      { event: 'post-layer-add', ctx, newRoot },
      ...(isDefault ? [{ event: 'post-install' as const, ctx, newRoot }] : []),
    ],
  });
  return { ...plan, name, origin };
}

export function planLayerRemove(input: PlanInput, name: string): Plan {
  const { vg } = layout(input);
  const layer = findLayer(input.inv, name);
  if (!layer) throw new NotFoundError(`layer ${name} not found`, { hint: "see 'imgbase layout --layers'" });
  if (input.running === layer.name) throw new BusyError(`layer ${name} is the running layer; boot another layer first`);
  const ctx = { vg, base: layer.base, layer: layer.name };
  return compose(input, { vg, remove: [layer.name], events: [{ event: 'pre-layer-remove', ctx }, { event: 'post-layer-remove', ctx }] });
}

export interface ImageFill {
  path: string;
  fsType: string;
  fsSizeBytes: number;
  usedBytes: number;
}

/** A base made from an image (update, install): created incomplete, filled sparsely, its own UUID, read-only. */
export function imageBaseCreate(vg: string, pool: string, name: string, img: ImageFill): Step[] {
  return [
    { kind: 'thin-lv', vg, pool, name, sizeBytes: img.fsSizeBytes, tags: [TAGS.base, TAGS.incomplete] },
    { kind: 'activate', vg, lv: name },
    { kind: 'copy-image', vg, lv: name, image: img.path, fsType: img.fsType },
    { kind: 'new-fs-uuid', vg, lv: name },
    { kind: 'deactivate', vg, lv: name },
    { kind: 'read-only', vg, lv: name },
  ];
}

export function planBaseAdd(input: PlanInput, name: string, sizeBytes: number, img: ImageFill | null): Plan {
  const { vg, pool } = layout(input);
  const complete = input.records.filter((r) => r.vg === vg && r.name === name && !r.tags.includes(TAGS.incomplete));
  if (complete.length > 0) throw new UsageError(`base --add: an LV named ${name} already exists in ${vg}`);
  if (img && sizeBytes < img.fsSizeBytes) {
    throw new UsageError(`base --add: the size ${sizeBytes} is smaller than the image's filesystem (${img.fsSizeBytes} bytes)`);
  }
  checkRoom('base --add', pool, img?.usedBytes ?? 0);
  const lv = name;
  const fill: Step[] = img
    ? [
        { kind: 'copy-image', vg, lv, image: img.path, fsType: img.fsType },
        ...(sizeBytes > img.fsSizeBytes ? [{ kind: 'grow-fs', vg, lv } as Step] : []),
        { kind: 'new-fs-uuid', vg, lv },
      ]
    : [];
  const ctx = { vg, base: name };
  return compose(input, {
    vg,
    events: [{ event: 'pre-base-add', ctx }, { event: 'post-base-add', ctx }],
    create: [
      { kind: 'thin-lv', vg, pool: pool.name, name, sizeBytes, tags: [TAGS.base, TAGS.incomplete] },
      { kind: 'activate', vg, lv },
      ...fill,
      { kind: 'deactivate', vg, lv },
      { kind: 'read-only', vg, lv },
    ],
    complete: [name],
  });
}

export function planBaseRemove(input: PlanInput, name: string): Plan & { layers: number } {
  const { vg } = layout(input);
  const base = findBase(input.inv, name);
  if (!base) throw new NotFoundError(`base ${name} not found`, { hint: "see 'imgbase layout --bases'" });
  const running = input.running ? findLayer(input.inv, input.running) : null;
  if (running && running.base === base.name) {
    throw new BusyError(`base ${name} has the running layer ${running.name}; boot another layer first`);
  }
  const ctx = { vg, base: base.name };
  const plan = compose(input, {
    vg,
    remove: [...base.layers.map((l) => l.name).reverse(), base.name],
    events: [{ event: 'pre-base-remove', ctx }, { event: 'post-base-remove', ctx }],
  });
  return { ...plan, layers: base.layers.length };
}

export interface InitRequest {
  vg: string;
  pool: string;
  /** The thin LV holding the running root. */
  source: string;
  nvr: string;
  /** --data PATH: data volumes made from what is at each path, their fstab lines in the base (so in every layer). */
  data?: DataAddRequest[];
}

/** layout --init: tags, base NVR as a read-only snapshot of the root, first layer NVR+1 with its boot entry. */
export function planLayoutInit(input: PlanInput, r: InitRequest): Plan & { layer: string } {
  const { vg, nvr } = r;
  if (input.inv.bases.length > 0) {
    throw new UsageError(`VG ${vg} is already an imgbased layout`, { hint: "see 'imgbase layout'" });
  }
  const layer = layerName(nvr, 1);
  const taken = input.records.filter((x) => x.vg === vg && (x.name === nvr || x.name === layer) && !x.tags.includes(TAGS.incomplete));
  if (taken.length > 0) throw new UsageError(`an LV named ${taken[0]!.name} already exists in ${vg}`);
  const pool = input.records.find((x) => x.vg === vg && x.name === r.pool);
  if (pool) checkRoom('layout --init', pool, 0);
  const tagged = (name: string, tag: string): boolean => !!input.records.find((x) => x.vg === vg && x.name === name)?.tags.includes(tag);
  const vgTagged = input.records.some((x) => x.vg === vg && x.vgTags.includes(TAGS.vg));
  const pre: Step[] = [
    ...(vgTagged ? [] : [{ kind: 'vg-tag', vg, tag: TAGS.vg } as Step]),
    ...(tagged(r.pool, TAGS.pool) ? [] : [{ kind: 'lv-tag', vg, lv: r.pool, tag: TAGS.pool } as Step]),
    ...(tagged(r.source, TAGS.init) ? [] : [{ kind: 'lv-tag', vg, lv: r.source, tag: TAGS.init } as Step]),
  ];
  const ctx = { vg, base: nvr, layer };
  const data = initData(input, r);
  const plan = compose(input, {
    vg,
    pre,
    events: [{ event: 'pre-layout-init', ctx }, { event: 'post-layout-init', ctx }],
    create: [
      ...data.create,
      // The base: a snapshot of the live root, its journal replayed and its own UUID, then frozen read-only.
      { kind: 'snapshot', vg, origin: r.source, name: nvr, tags: [TAGS.base, TAGS.incomplete] },
      { kind: 'activate', vg, lv: nvr },
      { kind: 'new-fs-uuid', vg, lv: nvr },
      ...data.lines.map((line): Step => ({ kind: 'fstab-line', vg, lv: nvr, line })),
      { kind: 'deactivate', vg, lv: nvr },
      { kind: 'read-only', vg, lv: nvr },
      ...layerCreate(vg, nvr, layer, true, input.bootMounts ?? []),
    ],
    // Data volumes first: a cut after they are complete leaves them for the re-run to use (initData).
    complete: [...data.complete, nvr, layer],
    newLayers: [{ name: layer, base: nvr, nvr: parseNvr(nvr)!, index: 1 }],
  });
  return { ...plan, layer };
}

/**
 * layout --init --data: each volume checked like data --add's; one a cut-short run completed (tagged data, named
 * by no fstab line) is used as it is, an incomplete one is removed by compose and made again.
 */
function initData(input: PlanInput, r: InitRequest): { create: Step[]; lines: string[]; complete: string[] } {
  const out = { create: [] as Step[], lines: [] as string[], complete: [] as string[] };
  const seen = new Set<string>();
  let bytes = 0;
  for (const req of r.data ?? []) {
    const { lv, line } = checkDataRequest(r.vg, req, 'layout --init --data');
    if (seen.has(lv) || seen.has(req.path)) throw new UsageError(`layout --init --data: ${req.path} given twice`);
    seen.add(lv).add(req.path);
    out.lines.push(line);
    const existing = input.records.find((x) => x.vg === r.vg && x.name === lv && !x.tags.includes(TAGS.incomplete));
    if (existing) {
      if (!existing.tags.includes(TAGS.data)) throw new UsageError(`layout --init --data: an LV named ${r.vg}/${lv} already exists`);
      continue;
    }
    out.create.push(...dataCreate(r.vg, r.pool, lv, req));
    out.complete.push(lv);
    bytes += req.current?.usedBytes ?? 0;
  }
  const pool = input.records.find((x) => x.vg === r.vg && x.name === r.pool);
  if (pool && bytes > 0) checkRoom('layout --init --data', pool, bytes);
  return out;
}

/** boot --set-default L | latest, boot --next L: entries synced first, so the id GRUB is told to boot exists. */
export function planBootChoice(input: PlanInput, key: 'saved_entry' | 'next_entry', name: string): Plan {
  const { vg } = layout(input);
  const env = input.boot.grub?.paths.env;
  if (!env) throw new NotFoundError(`no GRUB directory in ${input.boot.bootDir}`, { hint: "the default and one-shot boot are kept in GRUB's environment block" });
  if (key === 'saved_entry' && name === 'latest') {
    return compose(input, { vg, env: [{ kind: 'grubenv-unset', file: env, key, previous: '' }] });
  }
  const layer = findLayer(input.inv, name);
  if (!layer) throw new NotFoundError(`layer ${name} not found`, { hint: "see 'imgbase layout --layers'" });
  const plan = compose(input, { vg, env: [{ kind: 'grubenv-set', file: env, key, value: entryId(layer.name), previous: null }] });
  const hasEntry = plan.steps.some((s) => s.kind === 'write-entry' && s.layer === layer.name)
    || input.boot.entries.some((e) => e.layer === layer.name);
  if (!hasEntry) throw new ImgbasedError(`layer ${name} has no boot entry (${plan.notes[0] ?? 'its base holds no kernel'})`);
  return plan;
}

/** kernel-install add/remove inside a running layer: the layer's own kernel copy, then its entry follows. */
export function planKernelInstall(input: PlanInput, layer: string, source: KernelSource | null): Plan {
  const { vg } = layout(input);
  const dir = kernelDirPath(input.boot.bootDir, layer);
  if (source === null) return compose(input, { vg, dropOwn: new Set([layer]) });
  const exists = input.boot.kernelDirs.some((k) => k.owner === layer);
  return compose(input, {
    vg,
    kernelCopies: [{ kind: 'copy-kernel', owner: layer, dir, source, into: exists ? 'existing-dir' : 'new-dir' }],
  });
}

