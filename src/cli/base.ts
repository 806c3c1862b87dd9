// imgbase base: list, add (empty or from a filesystem image) and remove read-only bases.
import { BusyError, NotFoundError, UsageError } from '../core/errors';
import { TAGS, latestBase, type Base } from '../core/inventory';
import { parseLayerName, validateBaseName } from '../core/naming';
import type { Action } from '../core/plan';
import { parseSize, roomFor } from '../core/space';
import { applyPlan } from '../adapters/apply';
import { withImage, type ImageInfo } from '../adapters/image';
import { withLock } from '../adapters/lock';
import { chooseAction, lockTimeout, optValue, parseVerbArgs, printJson, type GlobalOpts } from './args';
import { syncBoot } from './boot-hook';
import { loadInventory, noPositional, requireBase, requireLayout, runningLayer, type Layout } from './context';

export const usage = `usage: imgbase base --add NVR [--size SIZE] [--from IMAGE] [--dry-run]
       imgbase base --remove NVR [--dry-run]
       imgbase base --latest | --of-layer LAYER [--json]

  --add NVR        create base NVR (name-version-release) as a read-only thin LV
  --from IMAGE     fill it from a raw ext4/xfs image or a squashfs holding LiveOS/rootfs.img; only used blocks
                   are written (a progress bar is shown on a terminal)
  --size SIZE      virtual size (e.g. 8G); default and minimum: the image's filesystem size
  --remove NVR     remove base NVR and all its layers (refused when one of them is running)
  --latest         print the newest base
  --of-layer L     print the base layer L belongs to`;

export async function baseCommand(argv: string[], g: GlobalOpts): Promise<number> {
  const args = parseVerbArgs(argv, { verb: 'base', boolean: ['latest'], string: ['add', 'remove', 'of-layer', 'size', 'from'], usage });
  noPositional(args, 'base');
  const action = chooseAction(args, ['add', 'remove', 'latest', 'of-layer'], 'base');
  if (action !== 'add' && (args.size !== undefined || args.from !== undefined)) {
    throw new UsageError('base: --size and --from only go with --add');
  }
  if (action === 'add') return add(optValue(args, 'add', 'base')!, optValue(args, 'size', 'base'), optValue(args, 'from', 'base'), g, lockTimeout(args));
  if (action === 'remove') return remove(optValue(args, 'remove', 'base')!, g, lockTimeout(args));
  const inv = await loadInventory();
  requireLayout(inv);
  let base: Base | null;
  if (action === 'of-layer') {
    const name = optValue(args, 'of-layer', 'base')!;
    const ref = parseLayerName(name);
    if (!ref) throw new UsageError(`base --of-layer: ${name} is not a layer name (BASE+N)`);
    base = requireBase(inv, ref.base);
  } else if (action === 'latest') {
    base = latestBase(inv);
    if (!base) throw new NotFoundError('there are no bases yet');
  } else {
    throw new UsageError('base: choose --add, --remove, --latest or --of-layer', { hint: "see 'imgbase base --help'" });
  }
  if (g.json) printJson({ name: base.name, layers: base.layers.map((l) => l.name) });
  else console.log(base.name);
  return 0;
}

async function add(name: string, sizeArg: string | undefined, from: string | undefined, g: GlobalOpts, timeoutS: number): Promise<number> {
  const bad = validateBaseName(name);
  if (bad) throw new UsageError(`base --add: ${bad}`);
  const size = sizeArg === undefined ? undefined : parseSize(sizeArg);
  if (size === null || (size !== undefined && size <= 0)) throw new UsageError(`base --add: --size ${sizeArg} is not a size (e.g. 8G)`);
  if (!from && size === undefined) throw new UsageError('base --add needs --from IMAGE or --size SIZE');
  return withLock(async () => {
    const layout = requireLayout(await loadInventory());
    if ([...layout.inv.bases.map((b) => b.name), ...layout.inv.foreign.map((r) => r.name)].includes(name)) {
      throw new UsageError(`base --add: an LV named ${name} already exists in ${layout.vg}`);
    }
    const go = async (img: ImageInfo | null): Promise<number> => {
      const sizeBytes = size ?? img!.fsSizeBytes;
      if (img && sizeBytes < img.fsSizeBytes) {
        throw new UsageError(`base --add: --size ${sizeArg} is smaller than the image's filesystem (${img.fsSizeBytes} bytes)`);
      }
      const room = roomFor(layout.pool, img?.usedBytes ?? 0);
      if (room) throw new UsageError(`base --add: ${room}`);
      await applyPlan(addPlan(layout, name, sizeBytes, img), { dryRun: g.dryRun, bootSync: () => syncBoot(g) });
      if (!g.dryRun) console.log(`added base ${name}`);
      return 0;
    };
    return from ? withImage(from, go) : go(null);
  }, { timeoutS });
}

export function addPlan(layout: Layout, name: string, sizeBytes: number, img: ImageInfo | null): Action[] {
  const { vg } = layout;
  const lv = name;
  const fill: Action[] = img
    ? [
        { kind: 'copy-image', vg, lv, image: img.path, fsType: img.fsType },
        ...(sizeBytes > img.fsSizeBytes ? [{ kind: 'grow-fs', vg, lv } as Action] : []),
        { kind: 'new-fs-uuid', vg, lv },
      ]
    : [];
  return [
    { kind: 'thin-lv', vg, pool: layout.pool.name, name, sizeBytes, tags: [TAGS.base, TAGS.incomplete] },
    { kind: 'activate', vg, lv },
    ...fill,
    { kind: 'deactivate', vg, lv },
    { kind: 'read-only', vg, lv },
    { kind: 'lv-untag', vg, lv, tag: TAGS.incomplete },
  ];
}

async function remove(name: string, g: GlobalOpts, timeoutS: number): Promise<number> {
  const bad = validateBaseName(name);
  if (bad) throw new UsageError(`base --remove: ${bad}`);
  return withLock(async () => {
    const layout = requireLayout(await loadInventory());
    const base = requireBase(layout.inv, name);
    const running = await runningLayer(layout.inv);
    if (running && running.base === base.name) {
      throw new BusyError(`base ${name} has the running layer ${running.name}; boot another layer first`);
    }
    const plan: Action[] = [
      ...[...base.layers].reverse().map((l): Action => ({ kind: 'remove-lv', vg: layout.vg, lv: l.name })),
      { kind: 'remove-lv', vg: layout.vg, lv: base.name },
      { kind: 'boot-sync' },
    ];
    await applyPlan(plan, { dryRun: g.dryRun, bootSync: () => syncBoot(g) });
    if (!g.dryRun) console.log(`removed base ${name}${base.layers.length ? ` and ${base.layers.length} layer(s)` : ''}`);
    return 0;
  }, { timeoutS });
}
