// imgbase install, pure: a blank disk becomes an imgbased host in one plan. The disk part (table, filesystems, PV,
// VG, pool) cannot be undone; the base and layer are made as `layout --init` makes them (tagged incomplete until
// complete); the boot part is the same compose() every write uses, on the new /boot mounted at `bootMount`; GRUB
// is installed from the layer itself. The VG's imgbased tag is the last step, so a disk an install stopped on is
// never read as a layout.
import { TAGS, buildInventory, type LvRecord } from '../inventory';
import { installedFstab, partitionLayout, POOL_METADATA_BYTES, type Firmware, type InstallSizes } from '../install';
import { layerName, parseNvr } from '../naming';
import type { KernelSource, Step } from '../steps';
import { builtSource, type InitrdBuild } from '../update/initrd';
import { compose, type Plan, type PlanInput } from './compose';
import { imageBaseCreate, type ImageFill } from './verbs';
import type { BootSnapshot, GrubPaths } from '../boot-plan';
import { GRUB_STUB_VERSION } from '../grub-script';
import { UsageError } from '../errors';
import { checkDataRequest, dataCreate, type DataAddRequest } from './data-volume';

export const INSTALL_POOL = 'pool';

export interface InstallRequest {
  disk: string;
  firmware: Firmware;
  vg: string;
  name: string;
  sizes: InstallSizes;
  img: ImageFill;
  /** The image's kernel, as read from its tree (recorded as if read from the base). */
  kernel: KernelSource;
  /** Set when the image's initramfs lacks our module (core/update/initrd). */
  initrd?: InitrdBuild;
  /** A stopped install's VG on the disk, taken down before the wipe (core/install installPreflight). */
  takeDown?: { vg: string; mounts: string[] };
  /** imgbased's files the image lacks (copied into the layer). */
  copyIn: string[];
  imageFstab: string;
  /** Data volumes (install's default set and --data), filled from the image's tree: their lines go in the layer's fstab. */
  data: DataAddRequest[];
  kernelArgs: string[];
  /** Filesystem UUIDs chosen before planning, so the fstab can name them: /boot's, and the ESP's volume id. */
  bootUuid: string;
  espUuid: string | null;
  /** Where the new /boot is mounted while the plan runs. */
  bootMount: string;
}

function rec(vg: string, name: string, tags: string[], extra: Partial<LvRecord>): LvRecord {
  return {
    vg, name, attr: '', sizeBytes: 0, pool: INSTALL_POOL, origin: '', tags, vgTags: [], dataPercent: 0, metadataPercent: 0,
    path: `/dev/${vg}/${name}`, segtype: 'thin', skipActivation: true, active: false, readOnly: false, uuid: name, ...extra,
  };
}

/** The boot part's view of the disk-to-be: its VG as it will be, an empty /boot at bootMount with GRUB's paths. */
function futureInput(r: InstallRequest, base: string, layer: string, kernel: KernelSource): PlanInput {
  const records = [
    rec(r.vg, INSTALL_POOL, [TAGS.pool], { segtype: 'thin-pool', pool: '', vgTags: [TAGS.vg] }),
    rec(r.vg, base, [TAGS.base], { vgTags: [TAGS.vg], readOnly: true }),
    rec(r.vg, layer, [TAGS.layer], { vgTags: [TAGS.vg], origin: base }),
  ];
  const dir = `${r.bootMount}/grub`;
  const paths: GrubPaths = {
    dir: 'grub', cfg: `${dir}/grub.cfg`, menu: `${dir}/imgbased.cfg`, env: `${dir}/grubenv`,
    mkconfig: 'grub-mkconfig', editenv: 'grub-editenv', scriptCheck: 'grub-script-check',
  };
  const boot: BootSnapshot = {
    bootDir: r.bootMount, prefix: '', xfs: false, freeBytes: r.sizes.bootBytes, entries: [], kernelDirs: [], temps: [],
    // The grub.cfg the plan's grub-install step makes (grub-mkconfig with 42_imgbased) holds the current stub.
    grub: { paths, cfg: `# imgbased-grub-stub v${GRUB_STUB_VERSION}\n`, menu: null, env: {}, generator: true },
    cmdlineTemplate: ['rw', ...r.kernelArgs].join(' '),
  };
  return {
    records, inv: buildInventory(records, { vg: r.vg }), boot, kernels: new Map([[base, kernel]]), fsTypes: new Map([[base, r.img.fsType]]),
    running: null, hooks: [], hookTimeoutS: 0,
  };
}

export function planInstall(r: InstallRequest): Plan & { base: string; layer: string } {
  const base = r.name;
  const layer = layerName(base, 1);
  const { vg } = r;
  const parts = partitionLayout(r.disk, r.firmware, r.sizes.bootBytes);
  const kernel = r.initrd ? builtSource(r.kernel, layer, r.initrd) : r.kernel;
  const disk: Step[] = [
    { kind: 'wipe-disk', disk: r.disk, ...(r.takeDown ? { takeDown: r.takeDown } : {}) },
    { kind: 'partition', disk: r.disk, script: parts.script },
    ...(parts.esp ? [{ kind: 'mkfs-dev', dev: parts.esp, fsType: 'vfat', label: 'ESP', uuid: r.espUuid ?? '' } as Step] : []),
    { kind: 'mkfs-dev', dev: parts.boot, fsType: 'ext4', label: 'boot', uuid: r.bootUuid },
    { kind: 'pv-create', dev: parts.pv },
    { kind: 'vg-create', vg, pv: parts.pv, tags: [TAGS.installing] },
    { kind: 'pool-create', vg, name: INSTALL_POOL, size: r.sizes.pool, metadataBytes: POOL_METADATA_BYTES, tags: [TAGS.pool] },
  ];
  const data = installData(r);
  const plan = compose(futureInput(r, base, layer, kernel), {
    vg,
    pre: disk,
    create: [
      ...imageBaseCreate(vg, INSTALL_POOL, base, r.img),
      { kind: 'snapshot', vg, origin: base, name: layer, tags: [TAGS.layer, TAGS.incomplete] },
      { kind: 'activate', vg, lv: layer },
      { kind: 'new-fs-uuid', vg, lv: layer },
      ...data.create,
      { kind: 'fstab-write', vg, lv: layer, content: installedFstab(r.imageFstab, r.bootUuid, r.espUuid, data.lines) },
      ...(r.copyIn.length ? [{ kind: 'copy-in', vg, lv: layer, files: r.copyIn } as Step] : []),
      ...(r.initrd ? [{ kind: 'build-initrd', vg, lv: layer, version: r.kernel.version, ...r.initrd } as Step] : []),
      { kind: 'deactivate', vg, lv: layer },
      { kind: 'mount-dev', dev: parts.boot, path: r.bootMount },
    ],
    complete: [...data.lvs, base, layer],
    newLayers: [{ name: layer, base, nvr: parseNvr(base)!, index: 1 }],
  });
  const steps: Step[] = [
    ...plan.steps,
    { kind: 'grub-install', vg, lv: layer, disk: r.disk, boot: parts.boot, esp: parts.esp, firmware: r.firmware },
    { kind: 'settle-boot', dir: r.bootMount, xfs: false },
    { kind: 'umount', path: r.bootMount },
    { kind: 'vg-tag', vg, tag: TAGS.vg, drop: TAGS.installing },
  ];
  return { steps, notes: plan.notes, base, layer };
}

/** The data volumes of a new disk: each checked like data --add's (against the image's fstab), made in the new pool. */
function installData(r: InstallRequest): { create: Step[]; lines: string[]; lvs: string[] } {
  const out = { create: [] as Step[], lines: [] as string[], lvs: [] as string[] };
  for (const req of r.data) {
    const { lv, line } = checkDataRequest(r.vg, req, 'install --data');
    if (out.lvs.includes(lv)) throw new UsageError(`install --data: ${req.path} given twice`);
    out.create.push(...dataCreate(r.vg, INSTALL_POOL, lv, req));
    out.lines.push(line);
    out.lvs.push(lv);
  }
  return out;
}
