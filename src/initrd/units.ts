// What `imgbase initrd generate` writes (pure: cmdline text in, file list out).
//
// The hand-over that works with dracut 059 + systemd (see FACTS "Handing a layer chosen at boot to the root mount"):
// / is mounted from a fixed alias, /dev/imgbased/root, that imgbased-select.service creates (udev rule) once it has
// chosen, activated and checked a layer. Our units go into the generator's EARLY directory, which outranks the normal
// one where systemd-fstab-generator writes its own sysroot.mount for a root= safety net; a drop-in of the same name
// replaces fstab-generator's "wait for the root= device" drop-in. So imgbased.layer= wins over root=.
import { imgbasedArgs, parseCmdline } from '../core/cmdline';

export const ROOT_ALIAS = '/dev/imgbased/root';
/** systemd unit name of ROOT_ALIAS (systemd-escape --path). */
export const ROOT_ALIAS_UNIT = 'dev-imgbased-root.device';
export const SELECT_SERVICE = 'imgbased-select.service';
/** Udev symlink (relative to /dev) that the select step's rule adds to the chosen LV. */
export const ROOT_ALIAS_LINK = 'imgbased/root';

export type GeneratedFile =
  | { path: string; content: string }
  | { path: string; symlink: string };

/** How long systemd waits for the alias before giving up (the select step itself gives up sooner). */
export const ROOT_DEVICE_TIMEOUT_S = 180;

/**
 * Files to write (paths relative to the generator's early directory), or [] when the command line does not ask
 * for imgbased (no imgbased.* argument, or the kill switch rd.imgbased=0): then stock dracut boots unchanged.
 */
export function generatorFiles(cmdline: string): GeneratedFile[] {
  const a = imgbasedArgs(cmdline);
  if (!a.present || a.disabled) return [];
  const { options, fstype } = rootMountOptions(cmdline);
  const header = '# Written by "imgbase initrd generate": / is the layer imgbased-select.service chose.\n';
  const fsck = `systemd-fsck@${ROOT_ALIAS_UNIT.replace(/\.device$/, '')}.service`;
  const mount = [
    header.trimEnd(),
    '[Unit]',
    'Description=imgbased layer as /sysroot',
    'SourcePath=/proc/cmdline',
    'Before=initrd-root-fs.target',
    `Requires=${SELECT_SERVICE}`,
    `After=${SELECT_SERVICE}`,
    `Requires=${fsck}`,
    `After=${fsck}`,
    '',
    '[Mount]',
    `What=${ROOT_ALIAS}`,
    'Where=/sysroot',
    `Options=${options}`,
    ...(fstype ? [`Type=${fstype}`] : []),
    '',
  ].join('\n');
  const rootDevice = [
    header.trimEnd(),
    '# Same name as systemd-fstab-generator\'s drop-in, so a root= on the command line is not waited for.',
    '[Unit]',
    `Requires=${ROOT_ALIAS_UNIT}`,
    `After=${ROOT_ALIAS_UNIT}`,
    '',
  ].join('\n');
  const timeout = [
    header.trimEnd(),
    '[Unit]',
    `JobRunningTimeoutSec=${ROOT_DEVICE_TIMEOUT_S}`,
    '',
  ].join('\n');
  return [
    { path: 'sysroot.mount', content: mount },
    { path: 'initrd-root-fs.target.requires/sysroot.mount', symlink: '../sysroot.mount' },
    { path: 'initrd-root-device.target.d/50-root-device.conf', content: rootDevice },
    { path: `${ROOT_ALIAS_UNIT}.d/50-imgbased-timeout.conf`, content: timeout },
    { path: `initrd.target.wants/${SELECT_SERVICE}`, symlink: `/usr/lib/systemd/system/${SELECT_SERVICE}` },
  ];
}

/** Mount options for /sysroot the way systemd-fstab-generator derives them: ro unless rw, plus rootflags=. */
export function rootMountOptions(cmdline: string): { options: string; fstype: string | null } {
  let rw = false;
  let flags: string | null = null;
  let fstype: string | null = null;
  for (const { key, value } of parseCmdline(cmdline)) {
    if (value === null && key === 'rw') rw = true;
    else if (value === null && key === 'ro') rw = false;
    else if (key === 'rootflags' && value !== null) flags = value;
    else if (key === 'rootfstype' && value !== null) fstype = value;
  }
  const safe = (s: string | null): string | null => (s !== null && /^[A-Za-z0-9_.,=:+-]+$/.test(s) ? s : null);
  const opts = [rw ? 'rw' : 'ro'];
  const f = safe(flags);
  if (f) opts.push(f);
  return { options: opts.join(','), fstype: safe(fstype) };
}

/** The runtime udev rule that gives the chosen LV's dm device the root alias. kernelName is "dm-N". */
export function aliasRule(kernelName: string, layer: string): string {
  if (!/^dm-[0-9]+$/.test(kernelName)) throw new Error(`not a device-mapper kernel name: ${kernelName}`);
  return [
    `# Written by "imgbase initrd select": ${ROOT_ALIAS} is layer ${layer}.`,
    `SUBSYSTEM=="block", KERNEL=="${kernelName}", ACTION!="remove", SYMLINK+="${ROOT_ALIAS_LINK}"`,
    '',
  ].join('\n');
}
