// imgbase base: list, add (empty or from a filesystem image) and remove read-only bases.
import { NotFoundError, UsageError } from '../core/errors';
import { latestBase, type Base } from '../core/inventory';
import { parseLayerName, validateBaseName } from '../core/naming';
import { planBaseAdd, planBaseRemove } from '../core/plans/verbs';
import { planPin } from '../core/plans/gc';
import { parseSize } from '../core/space';
import { withImage, type ImageInfo } from '../adapters/image';
import { withLock } from '../adapters/lock';
import { chooseAction, lockTimeout, optValue, parseVerbArgs, printJson, type GlobalOpts } from './args';
import { loadInventory, noPositional, requireBase, requireLayout } from './context';
import { execute, readSnapshots } from './plan-run';

export const usage = `usage: imgbase base --add NVR [--size SIZE] [--from IMAGE] [--dry-run]
       imgbase base --remove NVR [--dry-run]
       imgbase base --pin NVR | --unpin NVR [--dry-run]
       imgbase base --latest | --of-layer LAYER [--json]

  --add NVR        create base NVR (name-version-release) as a read-only thin LV
  --from IMAGE     fill it from a raw ext4/xfs image or a squashfs holding LiveOS/rootfs.img, a file or an
                   unmounted block device; only used blocks are written (a progress bar is shown on a terminal)
  --size SIZE      virtual size (e.g. 8G); default and minimum: the image's filesystem size
  --remove NVR     remove base NVR and all its layers (refused when one of them is running)
  --pin NVR        'imgbase gc' (and the gc after an update) never removes base NVR; --unpin undoes it
  --latest         print the newest base
  --of-layer L     print the base layer L belongs to`;

export async function baseCommand(argv: string[], g: GlobalOpts): Promise<number> {
  const args = parseVerbArgs(argv, { verb: 'base', boolean: ['latest'], string: ['add', 'remove', 'of-layer', 'size', 'from', 'pin', 'unpin'], usage });
  noPositional(args, 'base');
  const action = chooseAction(args, ['add', 'remove', 'latest', 'of-layer', 'pin', 'unpin'], 'base');
  if (action !== 'add' && (args.size !== undefined || args.from !== undefined)) {
    throw new UsageError('base: --size and --from only go with --add');
  }
  if (action === 'add') return add(optValue(args, 'add', 'base')!, optValue(args, 'size', 'base'), optValue(args, 'from', 'base'), g, lockTimeout(args));
  if (action === 'remove') return remove(optValue(args, 'remove', 'base')!, g, lockTimeout(args));
  if (action === 'pin' || action === 'unpin') return pin(optValue(args, action, 'base')!, action === 'pin', g, lockTimeout(args));
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
    const input = await readSnapshots();
    requireLayout(input.inv);
    const go = async (img: ImageInfo | null): Promise<number> => {
      await execute(planBaseAdd(input, name, size ?? img!.fsSizeBytes, img), g);
      if (!g.dryRun) console.log(`added base ${name}`);
      return 0;
    };
    return from ? withImage(from, go) : go(null);
  }, { timeoutS });
}

async function pin(name: string, on: boolean, g: GlobalOpts, timeoutS: number): Promise<number> {
  const bad = validateBaseName(name);
  if (bad) throw new UsageError(`base --${on ? 'pin' : 'unpin'}: ${bad}`);
  return withLock(async () => {
    const input = await readSnapshots();
    requireLayout(input.inv);
    await execute(planPin(input, name, on), g);
    if (!g.dryRun) console.log(`${on ? 'pinned' : 'unpinned'} base ${name}`);
    return 0;
  }, { timeoutS });
}

async function remove(name: string, g: GlobalOpts, timeoutS: number): Promise<number> {
  const bad = validateBaseName(name);
  if (bad) throw new UsageError(`base --remove: ${bad}`);
  return withLock(async () => {
    const input = await readSnapshots();
    requireLayout(input.inv);
    const plan = planBaseRemove(input, name);
    await execute(plan, g);
    if (!g.dryRun) console.log(`removed base ${name}${plan.layers ? ` and ${plan.layers} layer(s)` : ''}`);
    return 0;
  }, { timeoutS });
}
