// After LVM changed, boot entries follow: one BLS entry + GRUB menu entry per layer (see adapters/bootfs).
import { syncBootEntries } from '../adapters/bootfs';
import { log } from '../adapters/log';
import type { GlobalOpts } from './args';
import { loadInventory } from './context';

export async function syncBoot(g: GlobalOpts): Promise<void> {
  const inventory = await loadInventory();
  // stdout belongs to the verb's own answer (e.g. the new layer's name); what happened to /boot is a side note.
  await syncBootEntries({ inventory, dryRun: g.dryRun, print: (line) => log.info(line) });
}
