// `imgbase update`'s carry outside /etc: this host's scope (its data volumes, its packages' files), the three trees
// compared (adapters/carry-tree, core/update/carry), and imgbased.conf's carry policy applied before any write.
import { carryDecision, carryScope, packageOwnedPaths } from '../core/update/carry';
import type { ImgbasedConfig } from '../core/update/config';
import { dataVolumes } from '../core/data';
import { ImgbasedError } from '../core/errors';
import type { LvRecord } from '../core/inventory';
import type { UpdateRequest } from '../core/plans/update';
import { ackCommand } from '../core/update/gc';
import type { UpdateReport } from '../core/update/report';
import { planCarryTrees, readPackageLists } from '../adapters/carry-tree';
import { readFstab, withLvReadOnly, withRootReadOnly } from '../adapters/fs';
import { log } from '../adapters/log';

export interface CarryRead {
  /** For the plan. */
  files: NonNullable<UpdateRequest['files']>;
  /** For the layer's record and the output. */
  report: NonNullable<UpdateReport['files']>;
}

/**
 * The running layer (`running`, on base `base`) against its base and the new image mounted at `nextDir`. Refuses
 * (nothing written yet) above carry-limit or under carry = refuse; under carry = warn, warns and carries nothing.
 */
export async function readCarry(vg: string, records: readonly LvRecord[], base: { name: string; active: boolean }, running: string, nextDir: string, cfg: ImgbasedConfig): Promise<CarryRead> {
  const dataPaths = dataVolumes(records, vg, (await readFstab()) ?? '').flatMap((v) => (v.path ? [v.path] : []));
  const plan = await withLvReadOnly(vg, base.name, base.active, (oldDir) => withRootReadOnly(async (adminDir) => {
    const scope = carryScope(dataPaths, packageOwnedPaths(await readPackageLists(adminDir)));
    return planCarryTrees({ old: oldDir, admin: adminDir, next: nextDir }, scope);
  }));
  const d = carryDecision(plan, cfg.carry, cfg.carryLimit);
  if (d.outcome === 'refuse') {
    for (const l of d.list) process.stderr.write(`${l}\n`);
    throw new ImgbasedError(d.message!, { hint: d.hint });
  }
  if (d.outcome === 'skip') {
    log.warn(`${d.message}: they stay on ${running}, whose base gc keeps until '${ackCommand(running)}'`);
    for (const l of d.list) process.stderr.write(`${l}\n`);
    return { files: { left: true }, report: { carried: plan.carried, conflicts: [], bytes: plan.bytes, left: true } };
  }
  const conflicts = plan.merge.conflicts;
  return { files: { actions: plan.merge.actions, conflicts: conflicts.length, bytes: plan.bytes }, report: { carried: plan.carried, conflicts, bytes: plan.bytes } };
}
