// imgbase update, pure: a new image becomes a base, its first layer carries the running layer's state (the /etc
// merge and the accounts merged by name, both decided before planning), gets its boot entry and becomes the default
// as a trying layer. One plan: a failure anywhere undoes all of it and the old default is untouched. GC of old
// bases is a second plan, run only after this one finished (plans/gc.ts).
import { defaultSteps } from '../boot-state';
import { ImgbasedError, UsageError } from '../errors';
import { findLayer, TAGS, type LvRecord } from '../inventory';
import { compareLayerNames, layerName, parseNvr } from '../naming';
import type { Step } from '../steps';
import type { AccountFile } from '../update/accounts';
import type { EtcAction } from '../update/etc-merge';
import { UNCARRIED_TAG } from '../update/gc';
import type { UpdateReport } from '../update/report';
import { builtSource, type InitrdBuild } from '../update/initrd';
import type { PackagePolicy } from '../update/packages';
import { armNewLayer, bootableStates, newestUsable } from './boot-verbs';
import { compose, type Plan, type PlanInput } from './compose';
import { checkRoom, imageBaseCreate, layout, type ImageFill } from './verbs';

export interface UpdateRequest {
  /** The new base's name (from the image's os-release, or --name). */
  name: string;
  img: ImageFill;
  /** The live /etc the admin's changes are read from, and what the merge decided. */
  carry: { from: string; actions: EtcAction[]; conflicts: number };
  /** The carry outside /etc (core/update/carry), read from the running tree; `left`: not carried (carry = warn). */
  files?: { actions: EtcAction[]; conflicts: number; bytes: number } | { left: true };
  /** What the layer will record about its making (core/update/report), less what only the plan knows. */
  report: Omit<UpdateReport, 'base' | 'layer'>;
  accounts: Partial<Record<AccountFile, string>>;
  /** Set when the image's initramfs lacks imgbased's module: the layer's own dracut builds one (core/update/initrd). */
  initrd?: InitrdBuild;
  /** The admin's packages to install into the layer (core/update/packages); none: no step. */
  packages?: { debs: string[]; rebuild: string[]; policy: PackagePolicy };
}

/** What update checks before anything else: the name is free, there is a running layer to carry from, room. */
export function updatePreflight(input: PlanInput, name: string, img: ImageFill): { vg: string; pool: LvRecord; running: string } {
  const { vg, pool } = layout(input);
  if (input.records.some((r) => r.vg === vg && r.name === name && !r.tags.includes(TAGS.incomplete))) {
    throw new UsageError(`update: a base named ${name} already exists`, { hint: 'give the image another name with --name NAME-VERSION-RELEASE' });
  }
  const running = input.running;
  if (!running || !findLayer(input.inv, running)) {
    throw new ImgbasedError('update: / is not an imgbased layer, so there is no state to carry', { hint: "boot a layer first ('imgbase boot --list')" });
  }
  checkRoom('update', pool, img.usedBytes);
  if (!input.kernels.get(name)) throw new UsageError(`update: the image ${img.path} holds no kernel (looked in /boot and /usr/lib/modules)`);
  return { vg, pool, running };
}

/** The carry outside /etc, or the tag that keeps the running layer's base for what was not carried (gc.ts). */
function carryFiles(input: PlanInput, layer: string, running: string, files: UpdateRequest['files']): Step[] {
  const vg = input.inv.vg!;
  if (!files) return [];
  if ('left' in files) return findLayer(input.inv, running)?.lv.tags.includes(UNCARRIED_TAG) ? [] : [{ kind: 'lv-tag', vg, lv: running, tag: UNCARRIED_TAG }];
  return files.actions.length ? [{ kind: 'carry-files', vg, lv: layer, from: '/', ...files }] : [];
}

export function planUpdate(input: PlanInput, req: UpdateRequest): Plan & { layer: string } {
  const { name, img } = req;
  const { vg, pool, running } = updatePreflight(input, name, img);
  const layer = layerName(name, 1);
  const ctx = { vg, base: name, layer, prevLayer: running };
  const newRoot = { vg, lv: layer };
  const file = input.boot.grub?.paths.env;
  // The new layer is the default from now on: by being the newest, or pinned when it sorts before another.
  const current = newestUsable(bootableStates(input), new Set());
  const newest = current === null || compareLayerNames(current, layer) < 0;
  const kernel = input.kernels.get(name)!;
  const build = req.initrd;
  const pkgs = req.packages;
  const env: Step[] = file ? [...armNewLayer(input, layer), ...defaultSteps(file, layer, newest ? layer : current)] : [];
  const planInput = build ? { ...input, kernels: new Map([...input.kernels, [name, builtSource(kernel, layer, build)]]) } : input;
  const plan = compose(planInput, {
    vg,
    create: [
      ...imageBaseCreate(vg, pool.name, name, img),
      { kind: 'snapshot', vg, origin: name, name: layer, tags: [TAGS.layer, TAGS.incomplete] },
      { kind: 'activate', vg, lv: layer },
      { kind: 'new-fs-uuid', vg, lv: layer },
      {
        kind: 'carry-etc', vg, lv: layer, from: req.carry.from, actions: req.carry.actions, conflicts: req.carry.conflicts,
        report: `${JSON.stringify({ ...req.report, base: name, layer } satisfies UpdateReport, null, 1)}\n`,
      },
      ...carryFiles(input, layer, running, req.files),
      ...(Object.keys(req.accounts).length ? [{ kind: 'write-accounts', vg, lv: layer, files: req.accounts } as Step] : []),
      // With the admin's /etc and accounts in place: the packages' conffiles and users are the admin's (confold).
      ...(pkgs && pkgs.debs.length + pkgs.rebuild.length ? [{ kind: 'install-debs', vg, lv: layer, ...pkgs } as Step] : []),
      // After the carry: the admin's fstab (their mounts) names the running layer as /; the new layer is / here.
      { kind: 'fstab-root', vg, lv: layer, mounts: planInput.bootMounts ?? [] },
      ...(build ? [{ kind: 'build-initrd', vg, lv: layer, version: kernel.version, ...build } as Step] : []),
      { kind: 'deactivate', vg, lv: layer },
    ],
    complete: [name, layer],
    newLayers: [{ name: layer, base: name, nvr: parseNvr(name)!, index: 1 }],
    env,
    events: [
      { event: 'pre-base-add', ctx }, { event: 'pre-layer-add', ctx },
      { event: 'post-base-add', ctx }, { event: 'post-layer-add', ctx, newRoot }, { event: 'post-install', ctx, newRoot },
    ],
  });
  if (!plan.steps.some((s) => s.kind === 'write-entry' && s.layer === layer)) {
    throw new ImgbasedError(`update: layer ${layer} would get no boot entry (${plan.notes[0] ?? 'no kernel'})`);
  }
  const notes = build ? [...plan.notes, `the image's initramfs lacks imgbased's dracut module: ${layer}'s own dracut builds one (in a chroot)`] : plan.notes;
  return { ...plan, notes, layer };
}
