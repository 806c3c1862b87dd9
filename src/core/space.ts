// Thin pool arithmetic and size formatting: the preflight every write runs before touching LVM.
import type { LvRecord } from './inventory';

export interface PoolSpace {
  sizeBytes: number;
  dataUsedBytes: number;
  dataFreeBytes: number;
  dataPercent: number;
  metadataPercent: number;
}

export function poolSpace(pool: LvRecord): PoolSpace {
  const dataPercent = pool.dataPercent ?? 0;
  const used = Math.round((pool.sizeBytes * dataPercent) / 100);
  return {
    sizeBytes: pool.sizeBytes,
    dataUsedBytes: used,
    dataFreeBytes: pool.sizeBytes - used,
    dataPercent,
    metadataPercent: pool.metadataPercent ?? 0,
  };
}

/** Metadata above this makes even a snapshot risky: a full metadata LV can corrupt the whole pool. */
export const METADATA_LIMIT_PERCENT = 90;

/** null when `needBytes` of new data fits in the pool with a 2 % margin, else why not. */
export function roomFor(pool: LvRecord, needBytes: number): string | null {
  const s = poolSpace(pool);
  if (s.metadataPercent >= METADATA_LIMIT_PERCENT) {
    return `thin pool ${pool.vg}/${pool.name} metadata is ${s.metadataPercent.toFixed(1)} % full (limit ${METADATA_LIMIT_PERCENT} %)`;
  }
  const margin = Math.round(s.sizeBytes * 0.02);
  if (needBytes + margin > s.dataFreeBytes) {
    return `thin pool ${pool.vg}/${pool.name} has ${formatSize(s.dataFreeBytes, 'h')} free, ${formatSize(needBytes + margin, 'h')} needed`;
  }
  return null;
}

const UNIT = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 } as const;
export type Units = keyof typeof UNIT | 'h';

export function isUnits(s: string): s is Units {
  return s === 'h' || s in UNIT;
}

export function formatSize(bytes: number, units: Units): string {
  if (units === 'b') return `${bytes}B`;
  if (units !== 'h') return `${(bytes / UNIT[units]).toFixed(2)}${units.toUpperCase()}`;
  const order: (keyof typeof UNIT)[] = ['t', 'g', 'm', 'k'];
  const u = order.find((k) => bytes >= UNIT[k]) ?? 'b';
  return u === 'b' ? `${bytes}B` : `${(bytes / UNIT[u]).toFixed(2)}${u.toUpperCase()}iB`;
}

/** "10G", "512M", "2048" (bytes), "1.5g" -> bytes; null when unparsable. */
export function parseSize(s: string): number | null {
  const m = /^(\d+(?:\.\d+)?)([bkmgt])?(?:i?b)?$/i.exec(s.trim());
  if (!m) return null;
  const unit = (m[2] ?? 'b').toLowerCase() as keyof typeof UNIT;
  return Math.round(Number(m[1]) * UNIT[unit]);
}
