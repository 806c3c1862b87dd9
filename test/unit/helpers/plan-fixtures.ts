// Shared fixtures for the plan and apply tests: LVM records, fake root trees holding a kernel, a temporary /boot
// (optionally with GRUB), the PlanInput the CLI would read, and a perform that records instead of running.
import type { FoundFile } from '../../../src/core/hooks';
import { afterEach, expect } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildInventory, TAGS, type LvRecord } from '../../../src/core/inventory';
import { renderGrubStub } from '../../../src/core/grub-script';
import type { Plan, PlanInput } from '../../../src/core/plans/compose';
import { planSync } from '../../../src/core/plans/verbs';
import { describeStep, renderPlan, undoClass, type KernelSource, type Step } from '../../../src/core/steps';
import { applyPlan, type ApplyOptions, type Undo } from '../../../src/adapters/apply';
import { readBootSnapshot } from '../../../src/adapters/boot-read';
import { findKernelInTree, hostKernelSource } from '../../../src/adapters/kernel';

export const VG = 'HostVG';
export const CMDLINE = 'BOOT_IMAGE=/vmlinuz root=/dev/mapper/HostVG-root ro console=ttyS0';
/** What the real applier gets in these tests: no menu check unless a test asks, the host's grub-editenv. */
export const APPLY: ApplyOptions = { grubScriptCheck: null, editenv: 'grub-editenv' };
/** A grub.cfg as grub-mkconfig writes it with grub.d/42_imgbased installed. */
export const STUB_CFG = `### BEGIN /etc/grub.d/42_imgbased ###\n${renderGrubStub({ bootPrefix: '', prepare: '', grubDir: 'grub', manageDefault: true })}### END ###\n`;

/** Temporary directories, removed by `hook` (afterEach unless given) of the test file that calls this at top level. */
export function tempDirs(hook: (fn: () => void) => void = afterEach): (prefix?: string) => string {
  const dirs: string[] = [];
  hook(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  return (prefix = 'imgbased-test-') => {
    const d = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(d);
    return d;
  };
}

export function lv(name: string, tags: string[], extra: Partial<LvRecord> = {}): LvRecord {
  return {
    vg: VG, name, attr: 'Vwi-a-tz--', sizeBytes: 1 << 30, pool: 'pool', origin: '', tags, vgTags: [TAGS.vg],
    dataPercent: 1, metadataPercent: null, path: `/dev/${VG}/${name}`, segtype: 'thin', skipActivation: false,
    active: true, readOnly: tags.includes(TAGS.base), uuid: name, ...extra,
  };
}

/** A tagged layout: pool, root, bases and their layers (each snapshotted from its base), then `more` as given. */
export function layoutRecords(bases: string[], layers: string[], more: LvRecord[] = []): LvRecord[] {
  return [
    lv('pool', [TAGS.pool], { segtype: 'thin-pool', pool: '', sizeBytes: 64 * 2 ** 30 }),
    lv('root', [TAGS.init]),
    ...bases.map((b) => lv(b, [TAGS.base])),
    ...layers.map((l) => lv(l, [TAGS.layer], { origin: l.slice(0, l.lastIndexOf('+')) })),
    ...more,
  ];
}

/** A root tree under `dir` holding a kernel whose version depends on `name` (6.1.0-<length>-amd64). */
export function fakeTree(dir: string, name: string, osRelease = `PRETTY_NAME="Test OS ${name}"\n`): string {
  const tree = join(dir, name);
  const ver = `6.1.0-${name.length}-amd64`;
  mkdirSync(join(tree, 'boot'), { recursive: true });
  mkdirSync(join(tree, 'usr/lib/modules', ver), { recursive: true });
  mkdirSync(join(tree, 'etc'), { recursive: true });
  writeFileSync(join(tree, 'boot', `vmlinuz-${ver}`), `kernel of ${name}`);
  writeFileSync(join(tree, 'boot', `initrd.img-${ver}`), `initrd of ${name}`);
  writeFileSync(join(tree, 'etc/os-release'), osRelease);
  return tree;
}

/** The kernel of a tree as the plan records it for `lv` (files read from the host, so no LV is mounted). */
export async function treeKernel(tree: string, lvName: string): Promise<KernelSource> {
  const k = await findKernelInTree(tree, null);
  if (!k) throw new Error(`no kernel in ${tree}`);
  return hostKernelSource(VG, lvName, k);
}

/** One fake tree per base under `dir`, as the kernels map of a PlanInput. */
export async function kernelsOf(dir: string, bases: string[]): Promise<Map<string, KernelSource | null>> {
  const m = new Map<string, KernelSource | null>();
  for (const b of bases) m.set(b, await treeKernel(fakeTree(dir, b), b));
  return m;
}

export interface GrubFixture {
  /** grub.cfg text; null: grub/ without grub.cfg. */
  cfg: string | null;
  /** /etc/grub.d/42_imgbased installed (default true). */
  generator?: boolean;
  /** grubenv created with grub-editenv and these values; null: no grubenv file. */
  env?: Record<string, string> | null;
}

export interface BootDir {
  boot: string;
  grubDDir: string;
  cfg: string;
  menu: string;
  env: string;
}

/** A /boot directory (with grub/ when asked) and a grub.d directory, both under `dir`. */
export function makeBoot(dir: string, grub?: GrubFixture): BootDir {
  const boot = join(dir, 'boot');
  const grubDDir = join(dir, 'grub.d');
  mkdirSync(boot, { recursive: true });
  mkdirSync(grubDDir, { recursive: true });
  const b = { boot, grubDDir, cfg: join(boot, 'grub/grub.cfg'), menu: join(boot, 'grub/imgbased.cfg'), env: join(boot, 'grub/grubenv') };
  if (!grub) return b;
  mkdirSync(join(boot, 'grub'));
  if (grub.cfg !== null) writeFileSync(b.cfg, grub.cfg);
  if (grub.generator ?? true) writeFileSync(join(grubDDir, '42_imgbased'), '#!/bin/sh\n');
  if (grub.env !== null) {
    execFileSync('grub-editenv', [b.env, 'create']);
    const kv = Object.entries(grub.env ?? {}).map(([k, v]) => `${k}=${v}`);
    if (kv.length > 0) execFileSync('grub-editenv', [b.env, 'set', ...kv]);
  }
  return b;
}

/**
 * The path of a tool the unit tests need (GRUB's, from grub-common, which build/lab-deps installs and `npm test` runs
 * first); when it is missing the calling test fails and says so, it is never skipped.
 */
export function requiredTool(name: string): string {
  const path = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).stdout.trim();
  if (!path) throw new Error(`${name} is not installed: the unit tests need it (package grub-common; build/lab-deps installs it)`);
  return path;
}

/** An executable shell script (a stand-in for grub-mkconfig, grub-script-check, ...). */
export function script(path: string, body: string): string {
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

export interface InputOptions {
  grubDDir?: string;
  cmdlineTemplate?: string;
  fsTypes?: Map<string, string>;
  running?: string | null;
  /** Files in the hook directories (core/hooks). */
  hooks?: FoundFile[];
  /** Read the VG as a layout even when untagged (layout --init). */
  vg?: string;
}

/** What the CLI reads before planning, with /boot read from a temporary directory. */
export async function planInput(
  boot: string, records: LvRecord[], kernels: ReadonlyMap<string, KernelSource | null>, o: InputOptions = {},
): Promise<PlanInput> {
  const snap = await readBootSnapshot({
    bootDir: boot, bootPrefix: '', grubDDir: o.grubDDir ?? join(boot, 'no-grub.d'), cmdlineTemplate: o.cmdlineTemplate ?? CMDLINE,
  });
  return {
    records, inv: buildInventory(records, o.vg ? { vg: o.vg } : {}), boot: snap, kernels, fsTypes: o.fsTypes ?? new Map(),
    running: o.running ?? null, hooks: o.hooks ?? [], hookTimeoutS: 300,
  };
}

/** `imgbase boot --sync` against a temporary /boot: read, plan, apply for real. */
export async function syncBoot(
  boot: string, records: LvRecord[], kernels: ReadonlyMap<string, KernelSource | null>, o: InputOptions & { apply?: ApplyOptions } = {},
): Promise<Plan> {
  const plan = planSync(await planInput(boot, records, kernels, o));
  await applyPlan(plan.steps, { ...APPLY, ...o.apply });
  return plan;
}

/** A perform that runs nothing: it records each step's description, and an undo (recorded too) for reversible ones. */
export function recorder(fail?: (s: Step) => boolean): { ran: string[]; undone: string[]; perform: (s: Step) => Promise<Undo | null> } {
  const ran: string[] = [];
  const undone: string[] = [];
  const perform = async (s: Step): Promise<Undo | null> => {
    if (fail?.(s)) throw new Error(`cannot ${describeStep(s)}`);
    ran.push(describeStep(s));
    return undoClass(s) === 'undo' ? async () => void undone.push(describeStep(s)) : null;
  };
  return { ran, undone, perform };
}

/** The promise of --dry-run: apply (recorded) runs exactly the steps it prints, in that order, with nothing undone. */
export async function expectApplyRunsPrinted(steps: Step[]): Promise<void> {
  const r = recorder();
  await applyPlan(steps, { perform: r.perform });
  const printed = renderPlan(steps);
  expect(printed[0]).toBe(`plan: ${steps.length} step(s)`);
  expect(r.ran).toEqual(printed.slice(1).map((l) => l.replace(/^ {2}\d+\. /, '')));
  expect(r.undone).toEqual([]);
}

export const kinds = (steps: readonly Step[]): string[] => steps.map((s) => s.kind);
/** The menu entry ids of a GRUB menu file's text, in order. */
export const menuIds = (text: string): string[] => [...text.matchAll(/--id '([^']+)'/g)].map((m) => m[1]!);
