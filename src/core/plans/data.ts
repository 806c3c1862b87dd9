// imgbase data --add PATH, pure: PATH becomes a data volume. Its LV is created tagged incomplete, gets a filesystem
// and PATH's contents, is completed, and only then does the running system's /etc/fstab name it and is it mounted
// on PATH (so a power cut leaves either no line, or a line naming a complete volume; run again, it adds the line
// to a complete volume nothing names, or starts over on an incomplete one). What the layer had at PATH
// stays underneath, hidden by the mount, until the next update brings a fresh tree.
import { TAGS } from '../inventory';
import { ImgbasedError, UsageError } from '../errors';
import { dataLvName, fstabEntries, fstabLine, validateDataLvName, validateDataPath, withFstabLine } from '../data';
import { checkRoom, layout } from './verbs';
import { compose, type Plan, type PlanInput } from './compose';

export interface DataAddRequest {
  path: string;
  /** --name, else dataLvName(path). */
  name?: string;
  /** The new LV's (virtual) size: thin, so only what is written takes pool space. */
  sizeBytes: number;
  fsType: string;
  /** What is at PATH now: a directory whose contents are copied in (with how many bytes), or nothing. */
  current: { usedBytes: number } | null;
  /** Another filesystem already mounted at PATH (its source), or null. */
  mountedFrom: string | null;
  fstab: { file: string; text: string | null };
}

export function planDataAdd(input: PlanInput, req: DataAddRequest): Plan & { lv: string } {
  const bad = validateDataPath(req.path);
  if (bad) throw new UsageError(`data --add: ${bad}`);
  const lv = req.name ?? dataLvName(req.path);
  const badName = validateDataLvName(lv);
  if (badName) throw new UsageError(`data --add --name: ${badName}`);
  const { vg, pool } = layout(input);
  if (req.mountedFrom !== null) throw new UsageError(`data --add: ${req.path} is already a mount point (of ${req.mountedFrom})`);
  const inFstab = fstabEntries(req.fstab.text ?? '').find((e) => e.path === req.path);
  if (inFstab) throw new UsageError(`data --add: ${req.fstab.file} already mounts ${inFstab.device} on ${req.path}`);
  const device = `/dev/${vg}/${lv}`;
  const line = fstabLine(device, req.path, req.fsType);
  const finish = [
    { kind: 'fstab-add' as const, file: req.fstab.file, line, previous: req.fstab.text },
    { kind: 'mount' as const, vg, lv, path: req.path },
  ];
  const existing = input.records.find((r) => r.vg === vg && r.name === lv && !r.tags.includes(TAGS.incomplete));
  if (existing) {
    // A run cut after the volume was complete, before fstab named it (nothing mounts it, nothing names it): finish.
    if (!existing.tags.includes(TAGS.data) || fstabEntries(req.fstab.text ?? '').some((e) => e.device === device)) {
      throw new UsageError(`data --add: an LV named ${vg}/${lv} already exists`, { hint: 'choose another with --name LV' });
    }
    const plan = compose(input, { vg, last: finish });
    return { ...plan, lv, notes: [...plan.notes, `${vg}/${lv} is a complete data volume no fstab line names (an interrupted data --add): only adding its line and mounting it`] };
  }
  if (req.fsType !== 'ext4' && req.fsType !== 'xfs') throw new ImgbasedError(`data --add: cannot make a ${req.fsType} filesystem (ext4 or xfs)`);
  checkRoom('data --add', pool, req.current?.usedBytes ?? 0);
  const plan = compose(input, {
    vg,
    create: [
      { kind: 'thin-lv', vg, pool: pool.name, name: lv, sizeBytes: req.sizeBytes, tags: [TAGS.data, TAGS.incomplete], autoActivate: true },
      { kind: 'activate', vg, lv },
      { kind: 'mkfs', vg, lv, fsType: req.fsType },
      ...(req.current ? [{ kind: 'copy-dir' as const, vg, lv, from: req.path }] : []),
    ],
    last: [{ kind: 'lv-untag', vg, lv, tag: TAGS.incomplete }, ...finish],
  });
  return { ...plan, lv };
}
