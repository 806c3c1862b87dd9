// The host's boot mounts in a layer's fstab. /boot (and the ESP) belong to the disk, not to an image: every layer
// must mount the same ones, or a layer made from an image that never knew this disk boots without /boot, where
// boot entries, GRUB's environment and blessing live.

/** Mount points that are the host's, whatever image a layer was made from. */
export const BOOT_MOUNT_POINTS: readonly string[] = ['/boot', '/boot/efi'];

/** The mount point of an fstab line; null for comments, blank and short lines. */
function mountPoint(line: string): string | null {
  const f = line.trim().split(/\s+/);
  return f.length >= 2 && !f[0]!.startsWith('#') ? f[1]! : null;
}

/** `text`'s lines without those that mount one of `points`. */
export function withoutMounts(text: string, points: ReadonlySet<string>): string[] {
  return text.split('\n').filter((l) => {
    const p = mountPoint(l);
    return p === null || !points.has(p);
  });
}

/** The running system's lines for /boot and /boot/efi, as written in its fstab. */
export function bootMountLines(fstab: string): string[] {
  return fstab.split('\n').filter((l) => BOOT_MOUNT_POINTS.includes(mountPoint(l) ?? '')).map((l) => l.trim());
}

/**
 * `text` mounting what `lines` mount exactly as they say: each line replaces the first line for its mount point in
 * place (later ones go) or is appended. Unchanged, byte for byte, when it already does.
 */
export function withMountLines(text: string, lines: readonly string[]): string {
  const wanted = new Map(lines.map((l) => [mountPoint(l) ?? '', l] as const));
  wanted.delete('');
  if (wanted.size === 0) return text;
  const placed = new Set<string>();
  const out: string[] = [];
  for (const l of text.split('\n')) {
    const p = mountPoint(l);
    const line = p === null ? undefined : wanted.get(p);
    if (line === undefined) out.push(l);
    else if (!placed.has(p!)) {
      out.push(l.trim() === line ? l : line);
      placed.add(p!);
    }
  }
  const missing = [...wanted].filter(([p]) => !placed.has(p)).map(([, l]) => l);
  if (missing.length === 0) return out.join('\n');
  while (out.length && out[out.length - 1]!.trim() === '') out.pop();
  return `${[...out, ...missing].join('\n')}\n`;
}
