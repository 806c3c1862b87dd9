// Every write has the same shape; a verb only says what goes away, what is created and what the boot entries should
// point at, and compose() orders the steps so that a power cut after any one of them leaves a bootable system and
// a state the next command repairs (the table in README, "Crash safety"):
//
//   1. leftover temporaries of an interrupted write are removed (nothing reads them)
//   2. LVs that go away are tagged imgbased:incomplete (from here on nothing boots or lists them; repair finishes)
//   3. "detach": entries, menu and grubenv stop naming them; /boot flushed
//   4. they are removed, with every LV an interrupted command left tagged incomplete (repair)
//   5. new LVs are created, tagged incomplete, and filled
//   6. kernel copies the new entries need (temp dir renamed into place)
//   7. the new LVs lose the incomplete tag: complete, and only now an entry may point at them
//   8. "attach": entries and menu for every layer, grubenv choices, grub-mkconfig once; /boot flushed
//   9. "gc": kernel copies nothing uses; /boot flushed
//  10. post- hooks (their failure keeps the work); pre- hooks come before step 1 and abort the command
import { TAGS, type Inventory, type LvRecord } from '../inventory';
import {
  BootSim, OS_RELEASE_COPY, gcSteps, menuStep, settle, initrdNamesFor, attachSteps, kernelCopySteps, layersWithoutKernel, tempSteps, detachSteps, type BootLayer,
  type BootSnapshot, type Wanted,
} from '../boot-plan';
import { compareLayerNames, parseLayerName } from '../naming';
import { hookEnv, refuseUnsafe, resolveHooks, type FoundFile, type HookContext, type HookEvent } from '../hooks';
import type { KernelSource, Step } from '../steps';
import { halfArmRepair, tagState } from '../boot-state';
import type { BootConfig } from '../boot-config';

/** What a plan is computed from: snapshots read before planning (nothing is read again while it runs). */
export interface PlanInput {
  records: LvRecord[];
  inv: Inventory;
  boot: BootSnapshot;
  /** Kernels found inside bases (or layers) whose copy is not on /boot; null: none there. */
  kernels: ReadonlyMap<string, KernelSource | null>;
  /** Filesystem types found on LVs that were probed ('' = none). */
  fsTypes: ReadonlyMap<string, string>;
  /** The layer / runs from, if any. */
  running: string | null;
  /** The running system's fstab lines for /boot and /boot/efi (core/fstab): every new layer mounts them too. */
  bootMounts?: string[];
  /** Files found in the hook directories, and the per-hook timeout. */
  hooks: readonly FoundFile[];
  hookTimeoutS: number;
  /** Boot counting settings (/etc/imgbased/boot.conf); defaults when absent. */
  config?: BootConfig;
  /** The time the command runs at: state tags and arm ids are stamped with it. */
  now?: Date;
}

export interface Plan {
  steps: Step[];
  /** One-line notes for stderr (a layer without a boot entry and why). */
  notes: string[];
}

export interface Change {
  vg: string;
  /** First, before anything else changes (layout --init tags the VG and pool). */
  pre?: Step[];
  /** LVs to remove, in this order (layers before their base). */
  remove?: string[];
  /** Creation steps: every new LV is created tagged imgbased:incomplete. */
  create?: Step[];
  /** New LVs that lose the incomplete tag once they are complete. */
  complete?: string[];
  newLayers?: BootLayer[];
  /** grubenv-set / grubenv-unset steps, applied once the entries and menu are in place. */
  env?: Step[];
  /** Boot state tags changed after the grubenv steps (then the menu follows them): blessing, re-arming. */
  after?: Step[];
  /** On the running system once the new LVs are complete, before the post- hooks (data --add: fstab, mount). */
  last?: Step[];
  /** Kernel copies a verb makes itself (kernel-install into a layer's own directory). */
  kernelCopies?: Step[];
  dropOwn?: ReadonlySet<string>;
  /** Hook events: pre- ones run before every other step (and abort the command), the others after the last. */
  events?: EventRun[];
}

export interface EventRun {
  event: HookEvent;
  ctx: HookContext;
  /** The LV mounted read-write as IMGBASED_NEW_ROOT. */
  newRoot?: { vg: string; lv: string };
}

/** One step per hook that runs for the event (refused hooks stop the plan before it exists). */
export function eventSteps(hooks: readonly FoundFile[], timeoutS: number, runs: readonly EventRun[]): Step[] {
  refuseUnsafe(hooks, runs.map((r) => r.event));
  return runs.flatMap((r) => resolveHooks(hooks, r.event).filter((h) => h.status === 'run').map((h): Step => ({
    kind: 'hook', event: r.event, phase: r.event.startsWith('pre-') ? 'pre' : 'post', name: h.name, path: h.path,
    env: hookEnv(r.event, r.ctx, null), timeoutS, newRoot: r.newRoot ?? null,
  })));
}

export function bootLayers(inv: Inventory): BootLayer[] {
  const out: BootLayer[] = [];
  for (const l of inv.layers) {
    const b = inv.bases.find((x) => x.name === l.base);
    if (b) out.push({ name: l.name, base: b.name, nvr: b.nvr, index: l.index });
  }
  return out;
}

/** LVs in vg an interrupted command left tagged incomplete: layers (newest first) before anything else. */
export function interruptedLvs(records: readonly LvRecord[], vg: string): string[] {
  const names = records.filter((r) => r.vg === vg && r.tags.includes(TAGS.incomplete)).map((r) => r.name);
  const layers = names.filter((n) => parseLayerName(n)).sort((a, b) => -compareLayerNames(a, b));
  return [...layers, ...names.filter((n) => !parseLayerName(n)).sort()];
}

export function compose(input: PlanInput, c: Change): Plan {
  const { vg } = c;
  const sim = new BootSim(input.boot);
  const removeSet = new Set(c.remove ?? []);
  const after = [...bootLayers(input.inv).filter((l) => !removeSet.has(l.name) && !removeSet.has(l.base)), ...(c.newLayers ?? [])];
  const wanted: Wanted = {
    vg,
    layers: after,
    imgbasedLvs: [...input.inv.bases.map((b) => b.name), ...input.inv.layers.map((l) => l.name), ...(c.complete ?? [])],
    kernels: input.kernels,
    dropOwn: c.dropOwn,
  };
  const incomplete = new Set(input.records.filter((r) => r.vg === vg && r.tags.includes(TAGS.incomplete)).map((r) => r.name));
  const pre = eventSteps(input.hooks, input.hookTimeoutS, (c.events ?? []).filter((e) => e.event.startsWith('pre-')));
  const post = eventSteps(input.hooks, input.hookTimeoutS, (c.events ?? []).filter((e) => !e.event.startsWith('pre-')));
  const tags = new Map(input.inv.layers.map((l) => [l.name, new Set(l.lv.tags)]));
  const retag = (ss: readonly Step[]): void => {
    for (const s of ss) {
      if (s.kind === 'lv-tag' && s.vg === vg) tags.get(s.lv)?.add(s.tag);
      if (s.kind === 'lv-untag' && s.vg === vg) tags.get(s.lv)?.delete(s.tag);
    }
    sim.bad = new Set([...tags].filter(([, t]) => tagState([...t])?.state === 'bad').map(([n]) => n));
  };
  retag(c.pre ?? []);
  // A layout --init cut right after it tagged the VG leaves the VG's only thin pool untagged: repair tags it.
  const pool = input.inv.pool;
  const tagPool = pool !== null && pool.vg === vg && !pool.tags.includes(TAGS.pool)
    && !(c.pre ?? []).some((s) => s.kind === 'lv-tag' && s.lv === pool.name && s.tag === TAGS.pool);
  const steps: Step[] = [...pre, ...tempSteps(sim), ...(tagPool ? [{ kind: 'lv-tag', vg, lv: pool.name, tag: TAGS.pool } as Step] : [])];
  for (const lv of c.remove ?? []) if (!incomplete.has(lv)) steps.push({ kind: 'lv-tag', vg, lv, tag: TAGS.incomplete });
  steps.push(...(c.pre ?? []));
  steps.push(...detachSteps(sim, new Set(after.map((l) => l.name))));
  const removals = [...interruptedLvs(input.records, vg).filter((n) => !removeSet.has(n)), ...(c.remove ?? [])];
  for (const lv of removals) steps.push({ kind: 'remove-lv', vg, lv });
  steps.push(...(c.create ?? []));
  // A verb's own copies (kernel-install) land in the layer's directory; older files there go in the gc phase.
  for (const s of c.kernelCopies ?? []) {
    if (s.kind !== 'copy-kernel') continue;
    const v = s.source;
    const kernel = `vmlinuz-${v.version}`;
    const initrd = v.initrd ? initrdNamesFor(v.version)[0]! : null;
    const old = sim.dirs.get(s.owner)?.files ?? [];
    const files = [...new Set([...old, kernel, ...(initrd ? [initrd] : []), ...(v.osRelease !== null ? [OS_RELEASE_COPY] : [])])];
    sim.dirs.set(s.owner, { owner: s.owner, files, kernel, initrd, version: v.version, osRelease: v.osRelease });
  }
  steps.push(...(c.kernelCopies ?? []), ...kernelCopySteps(sim, wanted));
  for (const lv of c.complete ?? []) steps.push({ kind: 'lv-untag', vg, lv, tag: TAGS.incomplete });
  const envFile = input.boot.grub?.paths.env;
  const repairArm = envFile ? halfArmRepair(envFile, sim.env, c.env ?? []) : [];
  const attach = attachSteps(sim, wanted, [...repairArm, ...(c.env ?? [])]);
  steps.push(...attach.steps);
  if (c.after && c.after.length > 0) {
    retag(c.after);
    steps.push(...c.after, ...settle(sim, menuStep(sim)));
  }
  steps.push(...gcSteps(sim, wanted), ...(c.last ?? []), ...post);
  const fresh = new Set((c.newLayers ?? []).map((l) => l.name));
  const notes = [...attach.notes];
  for (const l of layersWithoutKernel(sim, wanted)) {
    if (!fresh.has(l)) continue;
    const base = after.find((x) => x.name === l)!.base;
    const fs = input.fsTypes.get(base);
    notes.push(fs === ''
      ? `base ${base} holds no filesystem: layer ${l} is a plain thin snapshot and gets no boot entry`
      : `base ${base} holds no kernel: layer ${l} gets no boot entry`);
  }
  return { steps, notes };
}
