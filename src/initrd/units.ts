// The hand-over to the root mount (see FACTS "Handing a layer chosen at boot to the root mount"): / is mounted
// from a fixed alias, /dev/imgbased/root, that dracut/90imgbased/imgbased-generator's sysroot.mount waits for. A
// static udev rule (dracut/90imgbased/90-imgbased-root.rules) gives the alias to the dm device that has a marker
// file; the select step writes the marker once it has chosen, activated and checked a layer, then sends that
// device a change event. Static, so udevd needs no rules reload during the boot.

import { ROOT_MARKER_PREFIX } from '../core/paths';

export { ROOT_ALIAS, ROOT_ALIAS_LINK, ROOT_MARKER_PREFIX } from '../core/paths';

/** The marker that makes the rule give the alias to kernelName ("dm-N"; a partition for the root= last resort). */
export function rootMarkerPath(kernelName: string): string {
  if (!/^[a-z][a-z0-9_-]*$/.test(kernelName)) throw new Error(`not a block device kernel name: ${kernelName}`);
  return `${ROOT_MARKER_PREFIX}${kernelName}`;
}
