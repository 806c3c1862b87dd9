// What is running: the LV mounted at a mount point (read from the kernel, not from our own records).
import { readFile } from 'node:fs/promises';
import { mountDevice } from '../core/dm';

/** device-mapper name of the device mounted at `mountPoint`, or null when it is not on device-mapper. */
export async function mountDmName(mountPoint: string): Promise<string | null> {
  const info = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  const dev = mountDevice(info, mountPoint.replace(/(.)\/+$/, '$1'));
  return dev ? dmNameAt(`/sys/dev/block/${dev}`) : null;
}

/** device-mapper name of a resolved device node such as /dev/dm-3, or null. */
export async function dmNameOfNode(realPath: string): Promise<string | null> {
  const m = /^\/dev\/(dm-\d+)$/.exec(realPath);
  return m ? dmNameAt(`/sys/block/${m[1]}`) : null;
}

async function dmNameAt(sysDir: string): Promise<string | null> {
  const name = await readFile(`${sysDir}/dm/name`, 'utf8').catch(() => null);
  return name ? name.trim() : null;
}

export function rootDmName(): Promise<string | null> {
  return mountDmName('/');
}
