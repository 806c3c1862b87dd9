// The machines the verb tests plan and apply on: a layered host with the leftovers of interrupted commands, and a
// VG before `layout --init`; each a temporary /boot and a FakeSystem (helpers/fake-system) holding its LVs, whose
// spawner is installed while it is made (the caller restores the real one). The write verbs as the CLI calls their
// planners on them.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { entryId } from '../../../src/core/bls';
import { TAGS, type LvRecord } from '../../../src/core/inventory';
import type { Plan, PlanInput } from '../../../src/core/plans/compose';
import {
  type ImageFill, planBaseAdd, planBaseRemove, planBootChoice, planKernelInstall, planLayerAdd, planLayerRemove, planLayoutInit, planSync,
} from '../../../src/core/plans/verbs';
import type { KernelSource } from '../../../src/core/steps';
import { MOUNT_DIR } from '../../../src/core/paths';
import { useSpawner } from '../../../src/adapters/exec';
import { treeKernelSource } from '../../../src/adapters/kernel';
import { FakeSystem } from './fake-system';
import { STUB_CFG, VG, fakeTree, layoutRecords, lv, makeBoot, planInput, syncBoot, treeKernel, type BootDir } from './plan-fixtures';

export const GiB = 2 ** 30;
export const NVR = 'Image-1.0-0';
/** The root filesystem of every base and layer: / by UUID, as an installer writes it. */
export const BASE_FSTAB = 'UUID=0000-base / ext4 errors=remount-ro 0 1\n';

/**
 * The host: bases A-1-0 (layers +1, +2; +2 boots a kernel installed inside it) and B-2-0 (+1), a base E-5-0
 * without layers or kernel copy; a `layer --remove B-2-0+2` cut after its incomplete tag (its entry is still on
 * /boot, next_entry names it) and a `base --add C-3-0` killed mid-copy; saved_entry names A-1-0+2; leftovers of an
 * interrupted entry write and kernel copy. GRUB without blscfg, its stub in grub.cfg.
 */
export const HOST = layoutRecords(['A-1-0', 'B-2-0', 'E-5-0'], ['A-1-0+1', 'A-1-0+2', 'B-2-0+1'], [
  lv('B-2-0+2', [TAGS.layer, TAGS.incomplete], { origin: 'B-2-0' }),
  lv('C-3-0', [TAGS.base, TAGS.incomplete]),
]);
/** Before layout --init: an untagged VG, the base of an init that was killed and its menu file's leftover. */
export const FRESH: LvRecord[] = [
  lv('pool', [], { segtype: 'thin-pool', pool: '', vgTags: [], sizeBytes: 64 * GiB }),
  lv('root', [], { vgTags: [] }),
  lv(NVR, [TAGS.base, TAGS.incomplete], { vgTags: [], origin: 'root' }),
];

export interface Machine {
  input: PlanInput;
  boot: BootDir;
  fake: FakeSystem;
  kernels: Map<string, KernelSource | null>;
  /** A newer kernel on the host's own /boot (kernel-install's files). */
  newKernel: (layer: string) => KernelSource;
  /** The image `base --add --from` copies. */
  image: ImageFill;
}

/** Where the plan reads a base's kernel: its files on the host, or inside the base LV (mounted read-only). */
export type KernelsIn = 'host' | 'lv';

async function machine(dir: string, records: LvRecord[], kernelsIn: KernelsIn, extraTrees: (t: (b: string) => string) => Record<string, string>) {
  const trees: Record<string, string> = {};
  const tree = (b: string): string => {
    if (!trees[b]) {
      trees[b] = fakeTree(join(dir, 'trees'), b);
      writeFileSync(join(trees[b], 'etc/fstab'), BASE_FSTAB);
    }
    return trees[b];
  };
  const kernels = new Map<string, KernelSource | null>();
  for (const b of ['A-1-0', 'B-2-0', 'E-5-0']) kernels.set(b, kernelsIn === 'lv' ? (await treeKernelSource(VG, b, tree(b)))! : await treeKernel(tree(b), b));
  const hostKernel = await treeKernel(tree('A-1-0'), 'A-1-0');
  const imageTree = fakeTree(join(dir, 'image'), 'C-3-0');
  const image: ImageFill = { path: join(dir, 'C-3-0.img'), fsType: 'ext4', fsSizeBytes: 2 * GiB, usedBytes: 300 * 2 ** 20 };
  const layerTrees = Object.fromEntries(records.filter((r) => r.origin && trees[r.origin] !== undefined).map((r) => [r.name, trees[r.origin]!]));
  const boot = makeBoot(dir, { cfg: STUB_CFG, env: {} });
  const fake = new FakeSystem({
    dir: join(dir, 'lvm'), records, boot: boot.boot, trees: { ...trees, ...layerTrees, ...extraTrees(tree) }, images: { [image.path]: imageTree },
    grubCfg: STUB_CFG, names: { [boot.boot]: '$BOOT', [dir]: '$TMP' }, mountRoot: MOUNT_DIR,
  });
  useSpawner(fake.spawner);
  return {
    boot, fake, kernels, image,
    newKernel: (layer: string): KernelSource => ({ ...hostKernel, lv: layer, version: '6.9.0-1-amd64' }),
  };
}

/** The layered host (HOST) on a temporary /boot made by a real sync, then interrupted writes' leftovers. */
export async function makeHost(dir: string, kernelsIn: KernelsIn): Promise<Machine> {
  const m = await machine(dir, HOST, kernelsIn, () => ({}));
  const b = m.boot;
  // A kernel installed inside layer A-1-0+2 (kernel-install): its own copy, which its entry uses.
  mkdirSync(join(b.boot, 'imgbased/A-1-0+2'), { recursive: true });
  for (const f of ['vmlinuz-6.8.0-1-amd64', 'initrd.img-6.8.0-1-amd64']) writeFileSync(join(b.boot, 'imgbased/A-1-0+2', f), f);
  await syncBoot(b.boot, layoutRecords(['A-1-0', 'B-2-0'], ['A-1-0+1', 'A-1-0+2', 'B-2-0+1', 'B-2-0+2']), m.kernels, { grubDDir: b.grubDDir, apply: { grubScriptCheck: null } });
  execFileSync('grub-editenv', [b.env, 'set', `saved_entry=${entryId('A-1-0+2')}`, `next_entry=${entryId('B-2-0+2')}`]);
  writeFileSync(join(b.boot, 'loader/entries/.imgbased-B-2-0_3.conf.tmp-999'), 'half');
  mkdirSync(join(b.boot, 'imgbased/E-5-0.tmp-999'));
  m.fake.clear();
  return { ...m, input: await planInput(b.boot, HOST, m.kernels, { grubDDir: b.grubDDir }) };
}

/** The VG before layout --init (FRESH): /boot with GRUB and 42_imgbased installed, grub.cfg without the stub yet. */
export async function makeFresh(dir: string, kernelsIn: KernelsIn): Promise<Machine> {
  const m = await machine(dir, FRESH, kernelsIn, (tree) => ({ root: tree('A-1-0') }));
  writeFileSync(m.boot.cfg, '# grub.cfg\n');
  writeFileSync(join(m.boot.boot, 'grub/.imgbased.cfg.tmp-999'), 'half');
  m.fake.clear();
  // The running root's kernel, recorded as read from the base about to be made of it.
  const root = new Map([[NVR, { ...m.kernels.get('A-1-0')!, lv: NVR }]]);
  return { ...m, input: await planInput(m.boot.boot, FRESH, root, { grubDDir: m.boot.grubDDir, vg: VG, fsTypes: new Map([[NVR, 'ext4']]) }) };
}

/** The machines the verbs run on. */
export const MACHINES = { host: makeHost, fresh: makeFresh };

export interface VerbCase {
  name: string;
  on: keyof typeof MACHINES;
  plan: (m: Machine) => Plan;
}

/** Every write verb's planner as its command calls it, on the host (layout --init on the fresh VG). */
export const VERBS: VerbCase[] = [
  { name: 'layout --init', on: 'fresh', plan: (m) => planLayoutInit(m.input, { vg: VG, pool: 'pool', source: 'root', nvr: NVR }) },
  { name: 'base --add (empty)', on: 'host', plan: (m) => planBaseAdd(m.input, 'D-4-0', 4 * GiB, null) },
  { name: 'base --add --from (retry)', on: 'host', plan: (m) => planBaseAdd(m.input, 'C-3-0', 4 * GiB, m.image) },
  { name: 'base --remove', on: 'host', plan: (m) => planBaseRemove(m.input, 'A-1-0') },
  { name: 'layer --add', on: 'host', plan: (m) => planLayerAdd(m.input, undefined) },
  { name: 'layer --add BASE', on: 'host', plan: (m) => planLayerAdd(m.input, 'A-1-0') },
  { name: 'layer --add LAYER', on: 'host', plan: (m) => planLayerAdd(m.input, 'B-2-0+1') },
  { name: 'layer --remove', on: 'host', plan: (m) => planLayerRemove(m.input, 'A-1-0+2') },
  { name: 'boot --set-default', on: 'host', plan: (m) => planBootChoice(m.input, 'saved_entry', 'B-2-0+1') },
  { name: 'boot --set-default latest', on: 'host', plan: (m) => planBootChoice(m.input, 'saved_entry', 'latest') },
  { name: 'boot --next', on: 'host', plan: (m) => planBootChoice(m.input, 'next_entry', 'A-1-0+1') },
  { name: 'boot --sync / check --repair', on: 'host', plan: (m) => planSync(m.input) },
  { name: 'kernel-install add', on: 'host', plan: (m) => planKernelInstall(m.input, 'A-1-0+1', m.newKernel('A-1-0+1')) },
  { name: 'kernel-install add (update)', on: 'host', plan: (m) => planKernelInstall(m.input, 'A-1-0+2', m.newKernel('A-1-0+2')) },
  { name: 'kernel-install remove', on: 'host', plan: (m) => planKernelInstall(m.input, 'A-1-0+2', null) },
];
