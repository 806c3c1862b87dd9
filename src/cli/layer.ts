// imgbase layer: add writable layers (thin snapshots) on a base or layer, list, remove.
import { NotFoundError, UsageError } from '../core/errors';
import { latestLayer } from '../core/inventory';
import { validateBaseName, validateLayerName } from '../core/naming';
import { layerOrigin, planLayerAdd, planLayerRemove } from '../core/plans/verbs';
import { withLock } from '../adapters/lock';
import { lvPath } from '../adapters/lvm';
import { chooseAction, lockTimeout, takeOptionalValue, optValue, parseVerbArgs, printJson, type GlobalOpts } from './args';
import { loadInventory, noPositional, requireLayer, requireLayout, runningLayer } from './context';
import { execute, readSnapshots } from './plan-run';

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

async function add(target: string | undefined, g: GlobalOpts, timeoutS: number): Promise<number> {
  if (target !== undefined && validateBaseName(target) && validateLayerName(target)) {
    throw new UsageError(`layer --add: ${target} is neither a base nor a layer name`);
  }
  return withLock(async () => {
    // The base's tree is read (for its kernel) only when /boot has no copy of it yet.
    const input = await readSnapshots({ bases: (inv) => [layerOrigin(requireLayout(inv).inv, target).base] });
    const plan = planLayerAdd(input, target);
    await execute(plan, g);
    if (g.dryRun) return 0;
    if (g.json) printJson({ name: plan.name, origin: plan.origin });
    else console.log(plan.name);
    return 0;
  }, { timeoutS });
}

async function remove(name: string, g: GlobalOpts, timeoutS: number): Promise<number> {
  const bad = validateLayerName(name);
  if (bad) throw new UsageError(`layer --remove: ${bad}`);
  return withLock(async () => {
    const input = await readSnapshots();
    requireLayout(input.inv);
    await execute(planLayerRemove(input, name), g);
    if (!g.dryRun) console.log(`removed layer ${name}`);
    return 0;
  }, { timeoutS });
}
