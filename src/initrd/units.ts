// The hand-over to the root mount (see FACTS "Handing a layer chosen at boot to the root mount"): / is mounted
// from a fixed alias, /dev/imgbased/root, that dracut/90imgbased/imgbased-generator's sysroot.mount waits for and
// that the select step creates with a runtime udev rule once it has chosen, activated and checked a layer.

export const ROOT_ALIAS = '/dev/imgbased/root';
/** Udev symlink (relative to /dev) that the select step's rule adds to the chosen LV. */
export const ROOT_ALIAS_LINK = 'imgbased/root';

/** The runtime udev rule that gives the chosen LV's dm device the root alias. kernelName is "dm-N". */
export function aliasRule(kernelName: string, layer: string): string {
  if (!/^dm-[0-9]+$/.test(kernelName)) throw new Error(`not a device-mapper kernel name: ${kernelName}`);
  return [
    `# Written by "imgbase initrd select": ${ROOT_ALIAS} is layer ${layer}.`,
    `SUBSYSTEM=="block", KERNEL=="${kernelName}", ACTION!="remove", SYMLINK+="${ROOT_ALIAS_LINK}"`,
    '',
  ].join('\n');
}
