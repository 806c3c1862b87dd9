// A new data volume, pure, as data --add and layout --init --data make it: the checks on the request, and the
// steps that create and fill its LV (tagged incomplete until the verb completes it).
import { TAGS } from '../inventory';
import { ImgbasedError, UsageError } from '../errors';
import { dataLvName, fstabEntries, fstabLine, validateDataLvName, validateDataPath } from '../data';
import type { Step } from '../steps';

export interface DataAddRequest {
  path: string;
  /** --name, else dataLvName(path). */
  name?: string;
  /** The new LV's (virtual) size: thin, so only what is written takes pool space. */
  sizeBytes: number;
  fsType: string;
  /** What is at PATH now: a directory whose contents are copied in (with how many bytes), or nothing. */
  current: { usedBytes: number } | null;
  /** Where those contents are read from when not PATH on this system (install: PATH inside the image's tree). */
  copyFrom?: string;
  /** Another filesystem already mounted at PATH (its source), or null. */
  mountedFrom: string | null;
  fstab: { file: string; text: string | null };
}

/** The checks every new data volume passes (data --add, layout --init --data): its LV name, device and fstab line. */
export function checkDataRequest(vg: string, req: DataAddRequest, verb: string): { lv: string; device: string; line: string } {
  const bad = validateDataPath(req.path);
  if (bad) throw new UsageError(`${verb}: ${bad}`);
  const lv = req.name ?? dataLvName(req.path);
  const badName = validateDataLvName(lv);
  if (badName) throw new UsageError(`${verb} --name: ${badName}`);
  if (req.mountedFrom !== null) throw new UsageError(`${verb}: ${req.path} is already a mount point (of ${req.mountedFrom})`);
  const inFstab = fstabEntries(req.fstab.text ?? '').find((e) => e.path === req.path);
  if (inFstab) throw new UsageError(`${verb}: ${req.fstab.file} already mounts ${inFstab.device} on ${req.path}`);
  if (req.fsType !== 'ext4' && req.fsType !== 'xfs') throw new ImgbasedError(`${verb}: cannot make a ${req.fsType} filesystem (ext4 or xfs)`);
  const device = `/dev/${vg}/${lv}`;
  return { lv, device, line: fstabLine(device, req.path, req.fsType) };
}

/** A new data volume, tagged incomplete: the LV, its filesystem, and what is at the path now copied in. */
export function dataCreate(vg: string, pool: string, lv: string, req: DataAddRequest): Step[] {
  return [
    { kind: 'thin-lv', vg, pool, name: lv, sizeBytes: req.sizeBytes, tags: [TAGS.data, TAGS.incomplete], autoActivate: true },
    { kind: 'activate', vg, lv },
    { kind: 'mkfs', vg, lv, fsType: req.fsType },
    ...(req.current ? [{ kind: 'copy-dir' as const, vg, lv, from: req.copyFrom ?? req.path }] : []),
  ];
}
