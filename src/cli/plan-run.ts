// The imperative shell around every write: read the snapshots (LVM, /boot, kernels inside bases that lack a copy),
// let a pure planner in core/plans make the steps, then print them (--dry-run) or apply them in that order.
import { bootMountLines } from '../core/fstab';
import { buildInventory, TAGS, type Inventory, type LvRecord } from '../core/inventory';
import type { Plan, PlanInput } from '../core/plans/compose';
import { planJson, renderPlan } from '../core/steps';
import type { KernelSource } from '../core/steps';
import { applyPlan } from '../adapters/apply';
import { DEFAULT_BOOT_DIR, readBootSnapshot } from '../adapters/boot-read';
import { readHookTimeout, scanHooks } from '../adapters/hooks';
import { readBootConfig } from '../adapters/checks';
import { readFstab } from '../adapters/fs';
import { probeLv, type Probe } from '../adapters/kernel';
import { log } from '../adapters/log';
import { readLvRecords } from '../adapters/lvm';
import { printJson, type GlobalOpts } from './args';
import { runningLayer } from './context';
import { rootDmName } from '../adapters/system';

export interface SnapshotOptions {
  bootDir?: string;
  /** Read the VG as a layout even when it is not tagged yet (layout --init). */
  vg?: string;
  /** Bases whose kernel is needed even if they have no layer yet (layer --add's base), chosen from the inventory. */
  bases?: (inv: Inventory) => string[];
  /** Kernels and filesystem types already known (layout --init reads them from the running root). */
  known?: Map<string, Probe>;
}

/** Bases whose layers need a kernel copy that /boot lacks: their trees are read before planning. */
function basesToProbe(inv: Inventory, haveDir: Set<string>, extra: string[]): string[] {
  const want = new Set([...inv.layers.map((l) => l.base), ...extra]);
  return [...want].filter((b) => !haveDir.has(b) && inv.bases.some((x) => x.name === b));
}

export async function readSnapshots(o: SnapshotOptions = {}): Promise<PlanInput> {
  const records: LvRecord[] = await readLvRecords();
  const inv = buildInventory(records, { ...(o.vg ? { vg: o.vg } : {}), rootDm: await rootDmName() });
  const bootDir = o.bootDir ?? DEFAULT_BOOT_DIR;
  const boot = await readBootSnapshot({ bootDir });
  const kernels = new Map<string, KernelSource | null>();
  const fsTypes = new Map<string, string>();
  for (const [lv, p] of o.known ?? []) {
    kernels.set(lv, p.kernel);
    fsTypes.set(lv, p.fsType);
  }
  const haveDir = new Set(boot.kernelDirs.filter((k) => k.kernel).map((k) => k.owner));
  for (const b of basesToProbe(inv, haveDir, o.bases?.(inv) ?? [])) {
    if (kernels.has(b)) continue;
    const base = inv.bases.find((x) => x.name === b)!;
    log.debug(`reading the kernel of base ${b}`);
    const p = await probeLv(inv.vg!, b, base.lv.active, bootDir);
    kernels.set(b, p.kernel);
    fsTypes.set(b, p.fsType);
  }
  return {
    records, inv, boot, kernels, fsTypes, running: (await runningLayer(inv))?.name ?? null,
    bootMounts: bootMountLines((await readFstab()) ?? ''),
    hooks: await scanHooks(), hookTimeoutS: await readHookTimeout(), config: await readBootConfig(), now: new Date(),
  };
}

/** Any LV an interrupted command left: tagged incomplete in the layout's VG. */
export function hasInterrupted(input: PlanInput): boolean {
  return input.records.some((r) => r.vg === input.inv.vg && r.tags.includes(TAGS.incomplete));
}

/** --dry-run prints the steps (or their JSON); otherwise they run, in the same order. Notes go to stderr. */
export async function execute(plan: Plan, g: GlobalOpts): Promise<void> {
  for (const n of plan.notes) log.info(`note: ${n}`);
  if (g.dryRun) {
    if (g.json) printJson(planJson(plan.steps));
    else for (const line of renderPlan(plan.steps)) console.log(line);
    // pre- hooks may veto a dry run too; they are told it is one and must not change anything.
    const pre = plan.steps.filter((s) => s.kind === 'hook' && s.phase === 'pre').map((s) => s.kind === 'hook' ? { ...s, env: { ...s.env, IMGBASED_DRY_RUN: '1' } } : s);
    await applyPlan(pre, { dryRun: true });
    return;
  }
  await applyPlan(plan.steps, { note: (l) => log.info(l) });
}
