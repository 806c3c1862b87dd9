// imgbase enter, pure: what the command line asks for, whether the layer may be entered, how the command is started
// (systemd-nspawn or chroot) and whether the layer's kernel changed meanwhile. The CLI (cli/enter) mounts and runs.
import { BusyError, NotFoundError, UsageError } from './errors';
import { findBase, findLayer, type Inventory, type Layer } from './inventory';
import { MOUNT_DIR } from './paths';

export interface EnterArgs {
  /** Everything before `--`: options and the layer's name, for the option parser. */
  own: string[];
  /** The command after `--`, or null for the default shell. */
  command: string[] | null;
}

/** The words after `--` are the command's own: never read as imgbase options, however they look. */
export function splitCommand(argv: readonly string[]): EnterArgs {
  const cut = argv.indexOf('--');
  if (cut < 0) return { own: [...argv], command: null };
  const command = argv.slice(cut + 1);
  if (command.length === 0) throw new UsageError("enter: nothing after '--'", { hint: "imgbase enter LAYER [-- COMMAND [ARG...]]" });
  return { own: argv.slice(0, cut), command };
}

/** The one positional word: the layer to enter. */
export function layerArg(positional: readonly string[]): string {
  if (positional.length === 1 && positional[0] !== '') return positional[0]!;
  if (positional.length === 0) throw new UsageError('enter: which layer?', { hint: "see 'imgbase enter --help'" });
  throw new UsageError(`enter: one LAYER, not ${positional.join(' ')}`, { hint: "put the command after '--': imgbase enter LAYER -- COMMAND ARG..." });
}

/**
 * The layer to enter, or why not: the running layer is already / (a second writable mount of its filesystem would
 * corrupt it); a base is read-only; anything else must be a layer of the layout.
 */
export function enterableLayer(inv: Inventory, name: string, running: string | null): Layer {
  if (name === running) {
    throw new BusyError(`enter: ${name} is the running layer; run the command directly`);
  }
  const layer = findLayer(inv, name);
  if (layer) return layer;
  if (findBase(inv, name)) {
    throw new UsageError(`enter: ${name} is a base, read-only`, { hint: `enter one of its layers, or make one with 'imgbase layer --add ${name}'` });
  }
  throw new NotFoundError(`enter: layer ${name} not found`, { hint: "see 'imgbase layout --layers'" });
}

export const NSPAWN = '/usr/bin/systemd-nspawn';

/** Set for the command: the layer's kernel-install plugin then leaves /boot alone (enter syncs the entry after). */
export const ENTER_ENV = 'IMGBASED_ENTER';

/** The default command: a login shell, bash when the layer has it. */
export function defaultCommand(hasBash: boolean): string[] {
  return hasBash ? ['/bin/bash', '-l'] : ['/bin/sh', '-l'];
}

export type Runner = 'nspawn' | 'chroot';

/**
 * argv that runs `command` in the tree at dir. nspawn: --as-pid2 puts a stub init as PID 1, so ^C and a shell's
 * job control work as usual (a shell as PID 1 ignores the signals it has no handler for). Without a terminal on
 * stdin nspawn's console would be read-only: --console=pipe hands stdin through, as chroot does (a .deb piped in).
 */
export function enterArgv(runner: Runner, dir: string, layer: string, command: readonly string[], tty = true): { cmd: string; args: string[] } {
  if (runner === 'nspawn') {
    const console = tty ? [] : ['--console=pipe'];
    return { cmd: NSPAWN, args: ['--quiet', '--register=no', '--as-pid2', ...console, `--setenv=${ENTER_ENV}=${layer}`, '-D', dir, '--', ...command] };
  }
  return { cmd: 'chroot', args: [dir, ...command] };
}

/** What --dry-run prints. */
export function describeEnter(o: { vg: string; layer: string; active: boolean; runner: Runner; command: readonly string[] | null }): string[] {
  const cmd = o.command ? o.command.join(' ') : '/bin/bash -l (/bin/sh -l without bash)';
  const lines = [
    ...(o.active ? [] : [`activate ${o.vg}/${o.layer}`]),
    `mount ${o.vg}/${o.layer} read-write under ${MOUNT_DIR}`,
    o.runner === 'nspawn' ? `run ${cmd} in it with systemd-nspawn` : `mount /proc, /sys, /dev, /run in it and run ${cmd} with chroot`,
    'unmount',
    ...(o.active ? [] : [`deactivate ${o.vg}/${o.layer}`]),
    `re-sync the boot entry of ${o.layer} if its kernel or initramfs changed`,
  ];
  return lines.map((l) => `would ${l}`);
}

/** One kernel file as found in the tree: where, and what identifies this version of it. */
export interface FileStamp {
  path: string;
  size: number;
  mtimeMs: number;
  ino: number;
}

/** The kernel a layer's tree holds (the one an entry would boot from it), or null. */
export interface KernelStamp {
  version: string;
  kernel: FileStamp;
  initrd: FileStamp | null;
}

function sameFile(a: FileStamp | null, b: FileStamp | null): boolean {
  if (a === null || b === null) return a === b;
  return a.path === b.path && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ino === b.ino;
}

/**
 * Whether the tree's kernel changed: another version, or the image or initramfs rewritten (a package installs a
 * new file, update-initramfs replaces it: either changes its inode, size or mtime).
 */
export function kernelChanged(before: KernelStamp | null, after: KernelStamp | null): boolean {
  if (before === null || after === null) return before !== after;
  return before.version !== after.version || !sameFile(before.kernel, after.kernel) || !sameFile(before.initrd, after.initrd);
}
