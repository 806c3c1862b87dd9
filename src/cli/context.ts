// What every verb starts from: the inventory (one lvs call) and, for writers, the VG and pool to act on.
import { NotFoundError, UsageError } from '../core/errors';
import { buildInventory, findBase, findLayer, type Base, type Inventory, type Layer, type LvRecord } from '../core/inventory';
import { dmName } from '../core/dm';
import { readLvRecords } from '../adapters/lvm';
import { rootDmName } from '../adapters/system';

/** The layout of the VG the running root lives in (when several VGs are imgbased layouts, others are notes). */
export async function loadInventory(vg?: string): Promise<Inventory> {
  return buildInventory(await readLvRecords(), { ...(vg ? { vg } : {}), rootDm: await rootDmName() });
}

export interface Layout {
  inv: Inventory;
  vg: string;
  pool: LvRecord;
}

export function requireLayout(inv: Inventory): Layout {
  if (!inv.vg) {
    throw new NotFoundError('no imgbased layout on this host', { hint: "create one with 'imgbase layout --init NVR --from /'" });
  }
  if (!inv.pool) throw new NotFoundError(`VG ${inv.vg} has no thin pool imgbased can use`, { hint: 'tag it with imgbased:pool' });
  return { inv, vg: inv.vg, pool: inv.pool };
}

export function requireBase(inv: Inventory, name: string): Base {
  const b = findBase(inv, name);
  if (!b) throw new NotFoundError(`base ${name} not found`, { hint: "see 'imgbase layout --bases'" });
  return b;
}

export function requireLayer(inv: Inventory, name: string): Layer {
  const l = findLayer(inv, name);
  if (!l) throw new NotFoundError(`layer ${name} not found`, { hint: "see 'imgbase layout --layers'" });
  return l;
}

/** The layer mounted at / right now, found from the kernel's device of /, or null (e.g. booted from a plain LV). */
export async function runningLayer(inv: Inventory): Promise<Layer | null> {
  const dm = await rootDmName();
  if (!dm || !inv.vg) return null;
  return inv.layers.find((l) => dmName(inv.vg!, l.name) === dm) ?? null;
}

export async function runningLv(inv: Inventory): Promise<LvRecord | null> {
  const dm = await rootDmName();
  if (!dm) return null;
  const all = [...inv.bases.map((b) => b.lv), ...inv.layers.map((l) => l.lv), ...inv.foreign, ...(inv.pool ? [inv.pool] : [])];
  return all.find((r) => dmName(r.vg, r.name) === dm) ?? null;
}

export function noPositional(args: { _: string[] }, verb: string): void {
  if (args._.length > 0) throw new UsageError(`${verb}: unexpected argument ${args._[0]}`, { hint: `see 'imgbase ${verb} --help'` });
}
