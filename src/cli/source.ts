// Resolves the --from of `layout --init` (a mount point, a /dev path or VG/LV) to the LV record it names.
import { realpath, stat } from 'node:fs/promises';
import { NotFoundError, UsageError } from '../core/errors';
import { dmName } from '../core/dm';
import type { LvRecord } from '../core/inventory';
import { dmNameOfNode, mountDmName } from '../adapters/system';

export async function resolveSource(records: LvRecord[], from: string): Promise<LvRecord> {
  let dm: string | null = null;
  if (/^[^/]+\/[^/]+$/.test(from)) {
    const [vg, lv] = from.split('/');
    const r = records.find((x) => x.vg === vg && x.name === lv);
    if (!r) throw new NotFoundError(`LV ${from} not found`);
    return r;
  }
  if (from.startsWith('/dev/')) {
    const real = await realpath(from).catch(() => null);
    if (!real) throw new NotFoundError(`${from} does not exist`);
    const r = records.find((x) => x.path === from);
    if (r) return r;
    dm = await dmNameOfNode(real);
  } else {
    const st = await stat(from).catch(() => null);
    if (!st?.isDirectory()) throw new UsageError(`--from ${from}: not a mount point, /dev path or VG/LV`);
    dm = await mountDmName(from);
    if (!dm) throw new UsageError(`--from ${from}: not mounted from an LVM logical volume`);
  }
  const r = dm ? records.find((x) => dmName(x.vg, x.name) === dm) : undefined;
  if (!r) throw new UsageError(`--from ${from}: not an LVM logical volume`);
  return r;
}
