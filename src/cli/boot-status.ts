// `imgbase boot --status [--json]`: what the initramfs decided for this boot (read from /run, which survives
// switch-root). A boot that did not go through imgbased has no status file, and says so.
import { readFile } from 'node:fs/promises';
import { BOOT_STATUS_PATH, formatBootStatus, NOT_IMGBASED_MESSAGE, parseBootStatus } from '../core/boot-status';
import { ImgbasedError } from '../core/errors';
import type { GlobalOpts } from './args';

export async function bootStatusCommand(argv: string[], g: GlobalOpts, path = BOOT_STATUS_PATH): Promise<number> {
  const json = g.json || argv.includes('--json');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new ImgbasedError(`cannot read ${path}: ${(e as Error).message}`);
    if (json) process.stdout.write(`${JSON.stringify({ imgbased: false, message: NOT_IMGBASED_MESSAGE }, null, 2)}\n`);
    else process.stdout.write(`${NOT_IMGBASED_MESSAGE}\n`);
    return 0;
  }
  let status;
  try {
    status = parseBootStatus(text);
  } catch (e) {
    throw new ImgbasedError(`${path}: ${(e as Error).message}`, { hint: 'the initramfs wrote a damaged status file' });
  }
  if (json) process.stdout.write(`${JSON.stringify({ imgbased: true, ...status }, null, 2)}\n`);
  else process.stdout.write(formatBootStatus(status));
  return status.booted === null ? 1 : 0;
}
