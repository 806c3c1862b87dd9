// A write is planned as data first (pure, printable with --dry-run), then carried out by adapters/apply.ts,
// which undoes the steps already done when a later one fails.

export type Action =
  | { kind: 'vg-tag'; vg: string; tag: string }
  | { kind: 'lv-tag'; vg: string; lv: string; tag: string }
  | { kind: 'lv-untag'; vg: string; lv: string; tag: string }
  | { kind: 'snapshot'; vg: string; origin: string; name: string; tags: string[] }
  | { kind: 'thin-lv'; vg: string; pool: string; name: string; sizeBytes: number; tags: string[] }
  | { kind: 'copy-image'; vg: string; lv: string; image: string; fsType: string }
  | { kind: 'grow-fs'; vg: string; lv: string }
  | { kind: 'fsck'; vg: string; lv: string }
  | { kind: 'new-fs-uuid'; vg: string; lv: string }
  | { kind: 'fstab-root'; vg: string; lv: string }
  | { kind: 'read-only'; vg: string; lv: string }
  | { kind: 'activation-skip'; vg: string; lv: string; on: boolean }
  | { kind: 'activate'; vg: string; lv: string }
  | { kind: 'deactivate'; vg: string; lv: string }
  | { kind: 'remove-lv'; vg: string; lv: string }
  | { kind: 'boot-sync' };

export function describe(a: Action): string {
  switch (a.kind) {
    case 'vg-tag':
      return `tag VG ${a.vg} with ${a.tag}`;
    case 'lv-tag':
      return `tag ${a.vg}/${a.lv} with ${a.tag}`;
    case 'lv-untag':
      return `remove tag ${a.tag} from ${a.vg}/${a.lv}`;
    case 'snapshot':
      return `create thin snapshot ${a.vg}/${a.name} of ${a.origin} [${a.tags.join(',')}]`;
    case 'thin-lv':
      return `create thin LV ${a.vg}/${a.name} (${a.sizeBytes} bytes) in pool ${a.pool} [${a.tags.join(',')}]`;
    case 'copy-image':
      return `copy ${a.fsType} image ${a.image} sparsely into ${a.vg}/${a.lv}`;
    case 'grow-fs':
      return `grow the filesystem on ${a.vg}/${a.lv} to the LV size`;
    case 'fsck':
      return `check the filesystem on ${a.vg}/${a.lv}`;
    case 'new-fs-uuid':
      return `give ${a.vg}/${a.lv} a new filesystem UUID`;
    case 'fstab-root':
      return `point / in ${a.vg}/${a.lv}:/etc/fstab at /dev/${a.vg}/${a.lv}`;
    case 'read-only':
      return `make ${a.vg}/${a.lv} read-only`;
    case 'activation-skip':
      return `${a.on ? 'set' : 'clear'} activation skip on ${a.vg}/${a.lv}`;
    case 'activate':
      return `activate ${a.vg}/${a.lv}`;
    case 'deactivate':
      return `deactivate ${a.vg}/${a.lv}`;
    case 'remove-lv':
      return `remove ${a.vg}/${a.lv}`;
    case 'boot-sync':
      return 'update boot entries (BLS + GRUB menu)';
  }
}

/** Rewrites the "/" line of an fstab to name `device`; other lines are kept byte for byte. */
export function rewriteFstabRoot(text: string, device: string): string {
  return text
    .split('\n')
    .map((line) => {
      const fields = line.trim().split(/\s+/);
      if (line.trim().startsWith('#') || fields.length < 2 || fields[1] !== '/') return line;
      const lead = /^\s*/.exec(line)?.[0] ?? '';
      return lead + line.trim().replace(/^\S+/, device);
    })
    .join('\n');
}
