// What is running: the LV mounted at a mount point (read from the kernel, not from our own records).
import { readFile } from 'node:fs/promises';
import { mountDevice } from '../core/dm';

/** device-mapper name of the device mounted at `mountPoint`, or null when it is not on device-mapper. */
export async function mountDmName(mountPoint: string): Promise<string | null> {
  const info = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  const dev = mountDevice(info, mountPoint.replace(/(.)\/+$/, '$1'));
  if (!dev) return null;
  const name = await readFile(`/sys/dev/block/${dev}/dm/name`, 'utf8').catch(() => null);
  return name ? name.trim() : null;
}

export function rootDmName(): Promise<string | null> {
  return mountDmName('/');
}
