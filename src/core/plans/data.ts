// imgbase data --add PATH, pure: PATH becomes a data volume. Its LV is created tagged incomplete, gets a filesystem
// and PATH's contents, is completed, and only then does the running system's /etc/fstab name it and is it mounted
// on PATH (so a power cut leaves either no line, or a line naming a complete volume; run again, it adds the line
// to a complete volume nothing names, or starts over on an incomplete one). What the layer had at PATH
// stays underneath, hidden by the mount, until the next update brings a fresh tree.
import { TAGS } from '../inventory';
import { UsageError } from '../errors';
import { fstabEntries } from '../data';
import { checkDataRequest, dataCreate, type DataAddRequest } from './data-volume';
import { checkRoom, layout } from './verbs';

export type { DataAddRequest } from './data-volume';
import { compose, type Plan, type PlanInput } from './compose';

export function planDataAdd(input: PlanInput, req: DataAddRequest): Plan & { lv: string } {
  const { vg, pool } = layout(input);
  const { lv, device, line } = checkDataRequest(vg, req, 'data --add');
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
  checkRoom('data --add', pool, req.current?.usedBytes ?? 0);
  const plan = compose(input, {
    vg,
    create: dataCreate(vg, pool.name, lv, req),
    last: [{ kind: 'lv-untag', vg, lv, tag: TAGS.incomplete }, ...finish],
  });
  return { ...plan, lv };
}
