// After LVM changed, boot entries follow: one BLS entry + GRUB menu entry per layer (see adapters/bootfs).
import { syncBootEntries } from '../adapters/bootfs';
import type { GlobalOpts } from './args';
import { loadInventory } from './context';

export async function syncBoot(g: GlobalOpts): Promise<void> {
  const inventory = await loadInventory();
  await syncBootEntries({ inventory, dryRun: g.dryRun });
}
