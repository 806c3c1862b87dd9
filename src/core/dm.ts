// device-mapper names of LVs: "VG-LV" with every '-' inside VG or LV doubled.
export function dmName(vg: string, lv: string): string {
  return `${vg.replace(/-/g, '--')}-${lv.replace(/-/g, '--')}`;
}

/** Finds the device number ("major:minor") of the filesystem mounted at `mountPoint` in mountinfo text. */
export function mountDevice(mountinfo: string, mountPoint = '/'): string | null {
  let found: string | null = null;
  for (const line of mountinfo.split('\n')) {
    const f = line.split(' ');
    // Later lines win: they are mounts stacked on top of earlier ones.
    if (f[4] === mountPoint && f[2]) found = f[2];
  }
  return found;
}
