// The one plan type every write is made of. A plan is an ordered list of steps, each a plain value naming what it
// touches; the pure planners in core/plans build it, `--dry-run` prints it, adapters/apply runs it in this order.
import type { EtcAction } from './update/etc-merge';
import type { AccountFile } from './update/accounts';
import { formatSize } from './space';

/** Where a kernel file is read from when it is copied to /boot: inside the source LV (mounted read-only), or on the host. */
export interface KernelFileRef {
  in: 'lv' | 'host';
  /** Relative to the LV's root for 'lv', absolute for 'host'. */
  path: string;
}

export interface KernelSource {
  vg: string;
  /** The LV whose tree holds the kernel (a base, or a layer when the base cannot be read). */
  lv: string;
  version: string;
  kernel: KernelFileRef;
  initrd: KernelFileRef | null;
  osRelease: string | null;
  /** Bytes the copy adds to /boot. */
  bytes: number;
}

export type Step =
  // LVM
  /** `drop`: a tag removed in the same LVM command. */
  | { kind: 'vg-tag'; vg: string; tag: string; drop?: string }
  | { kind: 'lv-tag'; vg: string; lv: string; tag: string }
  | { kind: 'lv-untag'; vg: string; lv: string; tag: string }
  | { kind: 'snapshot'; vg: string; origin: string; name: string; tags: string[] }
  /** autoActivate: activated at boot like any LV (a data volume); else only when asked for (bases, layers). */
  | { kind: 'thin-lv'; vg: string; pool: string; name: string; sizeBytes: number; tags: string[]; autoActivate?: true }
  | { kind: 'activate'; vg: string; lv: string }
  | { kind: 'deactivate'; vg: string; lv: string }
  | { kind: 'read-only'; vg: string; lv: string }
  | { kind: 'remove-lv'; vg: string; lv: string }
  // Inside a new LV (still tagged incomplete: the undo of its creation removes all of it)
  | { kind: 'copy-image'; vg: string; lv: string; image: string; fsType: string }
  | { kind: 'grow-fs'; vg: string; lv: string }
  | { kind: 'new-fs-uuid'; vg: string; lv: string }
  /** `/` names the LV; `mounts`: the running system's /boot and /boot/efi lines, which every layer mounts too. */
  | { kind: 'fstab-root'; vg: string; lv: string; mounts: string[] }
  /** A line appended to the LV's /etc/fstab (a data volume of layout --init, in the base every layer starts from). */
  | { kind: 'fstab-line'; vg: string; lv: string; line: string }
  /**
   * The admin's /etc changes (core/update/etc-merge), replayed into the new layer; `from` is the live /etc. The
   * report (JSON) is written to the layer's UPDATE_REPORT.
   */
  | { kind: 'carry-etc'; vg: string; lv: string; from: string; actions: EtcAction[]; conflicts: number; report: string }
  /**
   * The admin's changes outside /etc (core/update/carry), replayed into the new layer by the same actions; `from` is
   * the running tree, read through a read-only bind of its own filesystem (nothing mounted on it comes along).
   */
  | { kind: 'carry-files'; vg: string; lv: string; from: string; actions: EtcAction[]; conflicts: number; bytes: number }
  /** passwd, group, shadow, gshadow merged by name (core/update/accounts), written into the new layer. */
  | { kind: 'write-accounts'; vg: string; lv: string; files: Partial<Record<AccountFile, string>> }
  /**
   * The layer's own dracut, in a chroot of it, builds the initramfs of kernel `version` into `out` (relative to the
   * layer's root), with imgbased's module added; `install`: host paths copied into the layer first (core/update/initrd).
   */
  | { kind: 'build-initrd'; vg: string; lv: string; version: string; out: string; install: string[] }
  /**
   * The admin's packages (core/update/packages) installed into the layer by its own dpkg in a chroot, all in one
   * run: `debs` are kept .debs (host paths), `rebuild` packages (name:arch) made into .debs from this host first.
   * `policy` skip: what dpkg refuses is left out and the rest installed again; stop: the step fails.
   */
  | { kind: 'install-debs'; vg: string; lv: string; debs: string[]; rebuild: string[]; policy: 'stop' | 'skip' }
  /** A new filesystem on a new LV (a data volume). */
  | { kind: 'mkfs'; vg: string; lv: string; fsType: string }
  /** The contents of `from` (on the running system) copied into the LV, owners, modes, links and xattrs kept. */
  | { kind: 'copy-dir'; vg: string; lv: string; from: string }
  // The running system
  /** A line appended to an fstab; `previous` is the whole file before (null: there was none). */
  | { kind: 'fstab-add'; file: string; line: string; previous: string | null }
  /** The LV mounted at `path` (made when missing). */
  | { kind: 'mount'; vg: string; lv: string; path: string }
  // /boot
  | { kind: 'remove-temp'; path: string }
  | { kind: 'copy-kernel'; owner: string; dir: string; source: KernelSource; into: 'new-dir' | 'existing-dir' }
  | { kind: 'write-entry'; layer: string; file: string; content: string; previous: string | null }
  | { kind: 'remove-entry'; layer: string; file: string; previous: string }
  | { kind: 'write-menu'; file: string; content: string; previous: string | null }
  | { kind: 'grub-mkconfig'; output: string; why: string }
  | { kind: 'grubenv-set'; file: string; key: string; value: string; previous: string | null }
  | { kind: 'grubenv-unset'; file: string; key: string; previous: string }
  | { kind: 'remove-kernel-files'; dir: string; files: string[] | 'all' }
  /** Flush /boot to disk (syncfs); on XFS also freeze + thaw, so GRUB (which never replays a journal) sees the files. */
  | { kind: 'settle-boot'; dir: string; xfs: boolean }
  // A new disk (imgbase install): none can be undone; the VG gets its imgbased tag only as the plan's last step,
  // so a disk an install stopped on is never a layout (install --wipe starts over).
  /** `takeDown`: a stopped install's VG on the disk: its mounts undone and its LVs deactivated first. */
  | { kind: 'wipe-disk'; disk: string; takeDown?: { vg: string; mounts: string[] } }
  /** sfdisk's input (core/install partitionLayout). */
  | { kind: 'partition'; disk: string; script: string }
  /** uuid: chosen before planning (the fstab names it); for vfat its volume id, XXXX-XXXX. */
  | { kind: 'mkfs-dev'; dev: string; fsType: string; label: string; uuid: string }
  | { kind: 'pv-create'; dev: string }
  | { kind: 'vg-create'; vg: string; pv: string; tags: string[] }
  | { kind: 'pool-create'; vg: string; name: string; size: { bytes: number } | { percent: number }; metadataBytes: number; tags: string[] }
  /** The LV's /etc/fstab replaced by `content`. */
  | { kind: 'fstab-write'; vg: string; lv: string; content: string }
  /** Host paths copied into the LV where it lacks them (imgbased's own files, for an image without them). */
  | { kind: 'copy-in'; vg: string; lv: string; files: string[] }
  /** A device mounted on `path` (made when missing); unmounted again by `umount`. */
  | { kind: 'mount-dev'; dev: string; path: string }
  | { kind: 'umount'; path: string }
  /** The layer's own GRUB, in a chroot of it with the disk's /boot (and ESP): grub-install, then grub-mkconfig. */
  | { kind: 'grub-install'; vg: string; lv: string; disk: string; boot: string; esp: string | null; firmware: 'bios' | 'uefi' }
  // Hooks (core/hooks): pre- hooks come first and abort the command; post- hooks come last and keep the work.
  | {
      kind: 'hook'; event: string; phase: 'pre' | 'post'; name: string; path: string; env: Record<string, string>;
      timeoutS: number;
      /** Mounted read-write for the hook as IMGBASED_NEW_ROOT. */
      newRoot: { vg: string; lv: string } | null;
    };

export type StepKind = Step['kind'];

/**
 * What the applier can do when a later step fails: 'undo' (it has an inverse), 'inside' (it only wrote into an LV
 * whose creation is undone) or 'forward' (cannot be undone: once one ran, a failure is finished by repair instead).
 */
export function undoClass(s: Step): 'undo' | 'inside' | 'forward' {
  switch (s.kind) {
    case 'copy-image': case 'grow-fs': case 'new-fs-uuid': case 'fstab-root': case 'fstab-line': case 'carry-etc': case 'carry-files':
    case 'write-accounts': case 'build-initrd': case 'install-debs': case 'mkfs': case 'copy-dir': case 'deactivate': case 'settle-boot':
    case 'remove-temp': case 'grub-mkconfig': case 'hook':
      return 'inside';
    case 'remove-lv': case 'remove-kernel-files':
    case 'wipe-disk': case 'partition': case 'mkfs-dev': case 'pv-create': case 'vg-create': case 'pool-create':
      return 'forward';
    case 'fstab-write': case 'copy-in': case 'umount': case 'grub-install':
      return 'inside';
    default:
      return 'undo';
  }
}

function lv(vg: string, name: string): string {
  return `${vg}/${name}`;
}

/** The LVs and files a step touches (for --dry-run --json and the power-cut table). */
export function touches(s: Step): string[] {
  switch (s.kind) {
    case 'vg-tag': return [`VG ${s.vg}`];
    case 'snapshot': return [lv(s.vg, s.name)];
    case 'thin-lv': return [lv(s.vg, s.name)];
    case 'lv-tag': case 'lv-untag': case 'activate': case 'deactivate': case 'read-only': case 'remove-lv':
    case 'copy-image': case 'grow-fs': case 'new-fs-uuid': case 'fstab-root': case 'fstab-line': case 'carry-etc': case 'carry-files':
    case 'write-accounts': case 'build-initrd': case 'install-debs': case 'mkfs': case 'copy-dir':
      return [lv(s.vg, s.lv)];
    case 'fstab-add': return [s.file];
    case 'mount': return [lv(s.vg, s.lv), s.path];
    case 'remove-temp': return [s.path];
    case 'copy-kernel': return [s.dir];
    case 'write-entry': case 'remove-entry': case 'write-menu': case 'grubenv-set': case 'grubenv-unset': return [s.file];
    case 'grub-mkconfig': return [s.output];
    case 'remove-kernel-files': return s.files === 'all' ? [s.dir] : s.files.map((f) => `${s.dir}/${f}`);
    case 'settle-boot': return [s.dir];
    case 'hook': return [s.path, ...(s.newRoot ? [lv(s.newRoot.vg, s.newRoot.lv)] : [])];
    case 'wipe-disk': case 'partition': return [s.disk];
    case 'mkfs-dev': case 'pv-create': return [s.dev];
    case 'vg-create': return [`VG ${s.vg}`, s.pv];
    case 'pool-create': return [lv(s.vg, s.name)];
    case 'fstab-write': case 'copy-in': return [lv(s.vg, s.lv)];
    case 'mount-dev': return [s.dev, s.path];
    case 'umount': return [s.path];
    case 'grub-install': return [s.disk, s.boot, ...(s.esp ? [s.esp] : []), lv(s.vg, s.lv)];
  }
}

export function describeStep(s: Step): string {
  switch (s.kind) {
    case 'vg-tag': return `tag VG ${s.vg} with ${s.tag}${s.drop ? ` (and remove ${s.drop})` : ''}`;
    case 'lv-tag': return `tag ${lv(s.vg, s.lv)} with ${s.tag}`;
    case 'lv-untag': return `remove tag ${s.tag} from ${lv(s.vg, s.lv)}`;
    case 'snapshot': return `create thin snapshot ${lv(s.vg, s.name)} of ${s.origin} [${s.tags.join(',')}]`;
    case 'thin-lv': return `create thin LV ${lv(s.vg, s.name)} (${s.sizeBytes} bytes) in pool ${s.pool} [${s.tags.join(',')}]`;
    case 'activate': return `activate ${lv(s.vg, s.lv)}`;
    case 'deactivate': return `deactivate ${lv(s.vg, s.lv)}`;
    case 'read-only': return `make ${lv(s.vg, s.lv)} read-only`;
    case 'remove-lv': return `remove ${lv(s.vg, s.lv)}`;
    case 'copy-image': return `copy ${s.fsType} image ${s.image} sparsely into ${lv(s.vg, s.lv)}`;
    case 'grow-fs': return `grow the filesystem on ${lv(s.vg, s.lv)} to the LV size`;
    case 'new-fs-uuid': return `give ${lv(s.vg, s.lv)} a new filesystem UUID`;
    case 'fstab-root': return `point / in ${lv(s.vg, s.lv)}:/etc/fstab at /dev/${s.vg}/${s.lv}${s.mounts.length ? `, mount ${s.mounts.map((m) => m.split(/\s+/)[1]).join(' and ')} as this system does` : ''}`;
    case 'fstab-line': return `add "${s.line}" to ${lv(s.vg, s.lv)}:/etc/fstab`;
    case 'carry-files':
      return `carry ${s.actions.length} change(s) of ${s.from} outside /etc into ${lv(s.vg, s.lv)} (${formatSize(s.bytes, 'h')})${s.conflicts ? ` (${s.conflicts} conflict(s): the new image's version kept as .imgnew)` : ''}`;
    case 'carry-etc':
      return `carry ${s.actions.length} change(s) of ${s.from} into ${lv(s.vg, s.lv)}:/etc${s.conflicts ? ` (${s.conflicts} conflict(s): the new image's version kept as .imgnew)` : ''}`;
    case 'write-accounts': return `write the merged ${Object.keys(s.files).join(', ')} into ${lv(s.vg, s.lv)}:/etc`;
    case 'build-initrd':
      return `build the initramfs of kernel ${s.version} into ${lv(s.vg, s.lv)}:/${s.out} with the layer's own dracut in a chroot${s.install.length ? ` (copied in first: ${s.install.join(', ')})` : ''}`;
    case 'install-debs':
      return `install ${s.debs.length + s.rebuild.length} package(s) into ${lv(s.vg, s.lv)} with its own dpkg in a chroot (${[s.debs.length ? `${s.debs.length} kept .deb(s)` : '', s.rebuild.length ? `rebuilt from this host: ${s.rebuild.join(', ')}` : ''].filter(Boolean).join('; ')}; refused ones: ${s.policy})`;
    case 'mkfs': return `make an ${s.fsType} filesystem on ${lv(s.vg, s.lv)}`;
    case 'copy-dir': return `copy what is in ${s.from} into ${lv(s.vg, s.lv)}`;
    case 'fstab-add': return `add "${s.line}" to ${s.file}`;
    case 'mount': return `mount ${lv(s.vg, s.lv)} on ${s.path}`;
    case 'remove-temp': return `remove the leftover temporary ${s.path}`;
    case 'copy-kernel':
      return `copy kernel ${s.source.version}${s.source.initrd ? ' and initrd' : ''} of ${s.source.lv} to ${s.dir}${s.into === 'new-dir' ? ' (via a temporary directory renamed into place)' : ''}`;
    case 'write-entry': return `${s.previous === null ? 'create' : 'update'} boot entry ${s.file} for layer ${s.layer}`;
    case 'remove-entry': return `remove boot entry ${s.file} (layer ${s.layer})`;
    case 'write-menu': return `write the GRUB menu file ${s.file} (sourced by grub.cfg)`;
    case 'grub-mkconfig': return `regenerate ${s.output} once with grub-mkconfig (${s.why})`;
    case 'grubenv-set': return `set ${s.key}=${s.value} in ${s.file}`;
    case 'grubenv-unset': return `unset ${s.key} (${s.previous}) in ${s.file}`;
    case 'remove-kernel-files': return s.files === 'all' ? `remove kernel copies ${s.dir} (no entry uses them)` : `remove ${s.files.join(', ')} from ${s.dir} (no entry uses them)`;
    case 'settle-boot': return `flush ${s.dir} to disk${s.xfs ? ' (sync, XFS freeze + thaw)' : ' (sync)'}`;
    case 'wipe-disk': return `${s.takeDown ? `unmount and deactivate the stopped install's VG ${s.takeDown.vg}${s.takeDown.mounts.length ? ` (mounted on ${s.takeDown.mounts.join(', ')})` : ''}, then ` : ''}erase every partition table and filesystem signature on ${s.disk} (wipefs)`;
    case 'partition': return `write a GPT to ${s.disk}: ${s.script.trim().split('\n').slice(1).map((l) => /name="([^"]+)"/.exec(l)?.[1] ?? '?').join(', ')}`;
    case 'mkfs-dev': return `make ${/^[aeiou]/.test(s.fsType) ? 'an' : 'a'} ${s.fsType} filesystem labelled ${s.label} on ${s.dev}`;
    case 'pv-create': return `make ${s.dev} an LVM physical volume`;
    case 'vg-create': return `create VG ${s.vg} on ${s.pv}${s.tags.length ? `, tagged ${s.tags.join(', ')}` : ''}`;
    case 'pool-create':
      return `create thin pool ${lv(s.vg, s.name)} (${'bytes' in s.size ? `${s.size.bytes} bytes` : `${s.size.percent} % of the free space`}, metadata ${s.metadataBytes} bytes) [${s.tags.join(',')}]`;
    case 'fstab-write': return `write ${lv(s.vg, s.lv)}:/etc/fstab for this disk`;
    case 'copy-in': return `copy ${s.files.join(', ')} into ${lv(s.vg, s.lv)} (the image lacks them)`;
    case 'mount-dev': return `mount ${s.dev} on ${s.path}`;
    case 'umount': return `unmount ${s.path}`;
    case 'grub-install':
      return `install GRUB (${s.firmware === 'bios' ? 'i386-pc, into the BIOS boot partition' : 'x86_64-efi, removable path on the ESP'}) on ${s.disk} with ${lv(s.vg, s.lv)}'s own GRUB in a chroot, then grub-mkconfig`;
    case 'hook': return `run ${s.event} hook ${s.path}${s.newRoot ? ` with ${lv(s.newRoot.vg, s.newRoot.lv)} mounted as IMGBASED_NEW_ROOT` : ''}`;
  }
}

/** The plan as `--dry-run` prints it: exactly the steps apply runs, numbered in order. */
export function renderPlan(steps: readonly Step[]): string[] {
  if (steps.length === 0) return ['plan: nothing to do'];
  return [`plan: ${steps.length} step(s)`, ...steps.map((s, i) => `  ${i + 1}. ${describeStep(s)}`)];
}

export function planJson(steps: readonly Step[]): { steps: Array<{ n: number; kind: StepKind; text: string; touches: string[] }> } {
  return { steps: steps.map((s, i) => ({ n: i + 1, kind: s.kind, text: describeStep(s), touches: touches(s) })) };
}

/** Rewrites the "/" line of an fstab to name `device`; other lines are kept byte for byte. */
export function rewriteFstabRoot(text: string, device: string): string {
  return text
    .split('\n')
    .map((line) => {
      const fields = line.trim().split(/\s+/);
      if (line.trim().startsWith('#') || fields.length < 2 || fields[1] !== '/') return line;
      const lead = /^\s*/.exec(line)?.[0] ?? '';
      return lead + line.trim().replace(/^\S+/, device);
    })
    .join('\n');
}
