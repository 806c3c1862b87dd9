// imgbase data: data volumes (core/data): list them, or make a path one (core/plans/data).
import { stat } from 'node:fs/promises';
import { UsageError } from '../core/errors';
import { dataVolumes, validateDataPath } from '../core/data';
import { planDataAdd, type DataAddRequest } from '../core/plans/data';
import { formatSize, parseSize } from '../core/space';
import { run } from '../adapters/exec';
import { FSTAB, readFstab } from '../adapters/fs';
import { withLock } from '../adapters/lock';
import { chooseAction, lockTimeout, optValue, parseVerbArgs, printJson, type GlobalOpts } from './args';
import { loadInventory, noPositional, requireLayout, runningLv } from './context';
import { execute, readSnapshots } from './plan-run';

export const usage = `usage: imgbase data [--json]
       imgbase data --add PATH [--name LV] [--size SIZE] [--dry-run]

  Data volumes: thin LVs mounted at a path by a line in ${FSTAB}. 'imgbase update' carries that line into the new
  layer, so every layer mounts the same volume: what it holds is never copied, and neither an update nor a
  rollback changes it. Everything else outside /etc comes from the layer's image.
  (no option)  list the data volumes and where ${FSTAB} mounts each
  --add PATH   make PATH a data volume: a new thin LV with a filesystem of the type / has (ext4 or xfs), what is
               in PATH copied in, a line in ${FSTAB}, mounted on PATH at once (stop what writes to PATH first;
               the layer's old copy stays hidden under the mount until the next update)
  --name LV    the LV's name (default: data and the path with / as -, e.g. data-var-lib-libvirt)
  --size SIZE  its virtual size (default: that of the LV / is on; thin: only what is written takes pool space)`;

export async function dataCommand(argv: string[], g: GlobalOpts): Promise<number> {
  const args = parseVerbArgs(argv, { verb: 'data', string: ['add', 'name', 'size'], usage });
  noPositional(args, 'data');
  const action = chooseAction(args, ['add'], 'data');
  if (action !== 'add') {
    if (args.name !== undefined || args.size !== undefined) throw new UsageError('data: --name and --size only go with --add');
    return list(g);
  }
  const sizeArg = optValue(args, 'size', 'data');
  const size = sizeArg === undefined ? undefined : parseSize(sizeArg);
  if (size === null || (size !== undefined && size <= 0)) throw new UsageError(`data --add: --size ${sizeArg} is not a size (e.g. 20G)`);
  return add(optValue(args, 'add', 'data')!, optValue(args, 'name', 'data'), size, g, lockTimeout(args));
}

async function list(g: GlobalOpts): Promise<number> {
  const inv = await loadInventory();
  const { vg } = requireLayout(inv);
  const vols = dataVolumes(inv.foreign, vg, (await readFstab()) ?? '');
  if (g.json) printJson({ volumes: vols });
  else if (vols.length === 0) console.log('no data volumes');
  else for (const v of vols) console.log(`${v.lv}\t${formatSize(v.sizeBytes, 'h')}\t${v.path ?? `(not in ${FSTAB})`}`);
  return 0;
}

/** What is at path now: a directory (its bytes on this filesystem), nothing, or something else (refused). */
export async function dirUsage(path: string): Promise<{ usedBytes: number } | null> {
  const st = await stat(path).catch(() => null);
  if (!st) return null;
  if (!st.isDirectory()) throw new UsageError(`${path} is not a directory, so it cannot be a data volume`);
  const du = await run('du', ['-sxb', path]);
  return { usedBytes: Number(du.stdout.split(/\s/)[0]) || 0 };
}

/** A data volume request for `path` as this system has it now (data --add, layout --init --data). */
export async function readDataRequest(path: string, name: string | undefined, sizeBytes: number): Promise<DataAddRequest> {
  const mounted = await run('findmnt', ['-no', 'SOURCE', '--mountpoint', path], { allowFail: true });
  return {
    path,
    name,
    sizeBytes,
    fsType: (await run('findmnt', ['-no', 'FSTYPE', '/'])).stdout.trim(),
    // Only a path the planner accepts is looked at (du on /var or /proc would be slow or meaningless).
    current: validateDataPath(path) === null ? await dirUsage(path) : null,
    mountedFrom: mounted.exitCode === 0 ? mounted.stdout.trim() : null,
    fstab: { file: FSTAB, text: await readFstab() },
  };
}

async function add(path: string, name: string | undefined, size: number | undefined, g: GlobalOpts, timeoutS: number): Promise<number> {
  return withLock(async () => {
    const input = await readSnapshots();
    requireLayout(input.inv);
    const root = await runningLv(input.inv);
    const plan = planDataAdd(input, await readDataRequest(path, name, size ?? root?.sizeBytes ?? 10 * 2 ** 30));
    await execute(plan, g);
    if (!g.dryRun) console.log(`${path} is now data volume ${input.inv.vg}/${plan.lv}, mounted by ${FSTAB} in this and every later layer`);
    return 0;
  }, { timeoutS });
}
