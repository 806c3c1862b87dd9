// imgbase layer: add writable layers (thin snapshots) on a base or layer, list, remove.
import { BusyError, NotFoundError, UsageError } from '../core/errors';
import { findBase, findLayer, latestBase, latestLayer, nextLayerName } from '../core/inventory';
import { parseLayerName, validateBaseName, validateLayerName } from '../core/naming';
import type { Action } from '../core/plan';
import { roomFor } from '../core/space';
import { applyPlan } from '../adapters/apply';
import { withLock } from '../adapters/lock';
import { lvPath } from '../adapters/lvm';
import { chooseAction, lockTimeout, takeOptionalValue, optValue, parseVerbArgs, printJson, type GlobalOpts } from './args';
import { syncBoot } from './boot-hook';
import { loadInventory, noPositional, requireLayer, requireLayout, runningLayer, type Layout } from './context';
import { layerSteps } from './layout';

export const usage = `usage: imgbase layer --add [BASE|LAYER] [--dry-run]
       imgbase layer --remove LAYER [--dry-run]
       imgbase layer --latest | --current | --volume-path LAYER [--json]

  --add [X]          new writable layer BASE+N (next free N) on base or layer X; default: the newest layer of
                     the newest base, or the newest base when it has no layer yet
  --remove LAYER     remove LAYER (refused for the running layer)
  --latest           print the newest layer
  --current          print the running layer
  --volume-path L    print the device path of layer L`;

export async function layerCommand(argv: string[], g: GlobalOpts): Promise<number> {
  const { rest, present: hasAdd, value: addTarget } = takeOptionalValue(argv, 'add');
  const args = parseVerbArgs(rest, { verb: 'layer', boolean: ['latest', 'current'], string: ['remove', 'volume-path'], usage });
  noPositional(args, 'layer');
  const other = chooseAction(args, ['remove', 'latest', 'current', 'volume-path'], 'layer');
  if (hasAdd && other) throw new UsageError(`layer: --add cannot be combined with --${other}`);
  const action = hasAdd ? 'add' : other;
  if (action === 'add') return add(addTarget, g, lockTimeout(args));
  if (action === 'remove') return remove(optValue(args, 'remove', 'layer')!, g, lockTimeout(args));
  const inv = await loadInventory();
  const layout = requireLayout(inv);
  let name: string;
  if (action === 'latest') {
    const l = latestLayer(inv);
    if (!l) throw new NotFoundError('there are no layers yet');
    name = l.name;
  } else if (action === 'current') {
    const l = await runningLayer(inv);
    if (!l) throw new NotFoundError('the running system is not on an imgbased layer');
    name = l.name;
  } else if (action === 'volume-path') {
    name = lvPath(layout.vg, requireLayer(inv, optValue(args, 'volume-path', 'layer')!).name);
  } else {
    throw new UsageError('layer: choose --add, --remove, --latest, --current or --volume-path', { hint: "see 'imgbase layer --help'" });
  }
  if (g.json) printJson({ [action === 'volume-path' ? 'path' : 'name']: name });
  else console.log(name);
  return 0;
}

/** Which LV the new layer is snapshotted from, and which base it belongs to. */
function pickOrigin(layout: Layout, target: string | undefined): { origin: string; base: string } {
  const { inv } = layout;
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
  const bad = validateBaseName(target);
  if (bad) throw new UsageError(`layer --add: ${target} is neither a base nor a layer name (${bad})`);
  const b = findBase(inv, target);
  if (!b) throw new NotFoundError(`base ${target} not found`);
  return { origin: b.name, base: b.name };
}

async function add(target: string | undefined, g: GlobalOpts, timeoutS: number): Promise<number> {
  if (target !== undefined && validateBaseName(target) && validateLayerName(target)) {
    throw new UsageError(`layer --add: ${target} is neither a base nor a layer name`);
  }
  return withLock(async () => {
    const layout = requireLayout(await loadInventory());
    const { origin, base } = pickOrigin(layout, target);
    const room = roomFor(layout.pool, 0);
    if (room) throw new UsageError(`layer --add: ${room}`);
    const name = nextLayerName(layout.inv, base);
    await applyPlan([...layerSteps(layout.vg, origin, name), { kind: 'boot-sync' }], { dryRun: g.dryRun, bootSync: () => syncBoot(g) });
    if (g.json && !g.dryRun) printJson({ name, origin });
    else if (!g.dryRun) console.log(name);
    return 0;
  }, { timeoutS });
}

async function remove(name: string, g: GlobalOpts, timeoutS: number): Promise<number> {
  const bad = validateLayerName(name);
  if (bad) throw new UsageError(`layer --remove: ${bad}`);
  return withLock(async () => {
    const layout = requireLayout(await loadInventory());
    const layer = requireLayer(layout.inv, name);
    const running = await runningLayer(layout.inv);
    if (running?.name === layer.name) throw new BusyError(`layer ${name} is the running layer; boot another layer first`);
    const plan: Action[] = [{ kind: 'remove-lv', vg: layout.vg, lv: layer.name }, { kind: 'boot-sync' }];
    await applyPlan(plan, { dryRun: g.dryRun, bootSync: () => syncBoot(g) });
    if (!g.dryRun) console.log(`removed layer ${name}`);
    return 0;
  }, { timeoutS });
}
