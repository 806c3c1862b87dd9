// imgbase layout: show bases and layers, or --init a host into an imgbased layout.
import { UsageError } from '../core/errors';
import type { Inventory } from '../core/inventory';
import { validateBaseName } from '../core/naming';
import { planLayoutInit } from '../core/plans/verbs';
import { formatSize, isUnits, poolSpace } from '../core/space';
import { DEFAULT_BOOT_DIR } from '../adapters/boot-read';
import { fsType } from '../adapters/fs';
import { probeLv, probeRunningRoot } from '../adapters/kernel';
import { lvPath, readLvRecords } from '../adapters/lvm';
import { rootDmName } from '../adapters/system';
import { dmName } from '../core/dm';
import { withLock } from '../adapters/lock';
import { chooseAction, lockTimeout, optValue, parseVerbArgs, printJson, type GlobalOpts } from './args';
import { loadInventory, noPositional, requireLayout } from './context';
import { readDataRequest } from './data';
import { execute, readSnapshots } from './plan-run';
import { resolveSource } from './source';
import { fstabEntries, requestedDataPaths, withoutTaken } from '../core/data';
import { log } from '../adapters/log';

export const usage = `usage: imgbase layout [--bases | --layers | --free-space [--units b|k|m|g|t|h]] [--json]
       imgbase layout --init NVR --from SRC [--no-data] [--data PATH]... [--dry-run]

Without options, prints the tree of bases with their layers.
  --bases            list bases, oldest first
  --layers           list layers, oldest first
  --free-space       free space in the thin pool (--units, default h)
  --init NVR         turn this host into an imgbased layout: base NVR from SRC, first layer NVR+1
  --from SRC         the existing thin root LV: a mount point (/), a /dev path, or VG/LV
                     /home, /var/log and /var/crash become data volumes: thin LVs holding what is there now,
                     mounted by a line in the base's /etc/fstab, so by every layer ('imgbase data --help'); a path
                     that is already a mount point is left as it is
  --no-data          none of those default data volumes
  --data PATH        also make PATH (e.g. /var/lib/libvirt) a data volume
  --json             machine-readable output
  --dry-run          print what --init would do, change nothing`;

export async function layoutCommand(argv: string[], g: GlobalOpts): Promise<number> {
  const args = parseVerbArgs(argv, { verb: 'layout', boolean: ['bases', 'layers', 'free-space', 'no-data'], string: ['init', 'from', 'units', 'data'], usage });
  noPositional(args, 'layout');
  const action = chooseAction(args, ['init', 'bases', 'layers', 'free-space'], 'layout');
  const data = ([] as unknown[]).concat(args.data ?? []).map((d) => {
    if (typeof d !== 'string' || d === '') throw new UsageError('layout: --data needs a path');
    return d;
  });
  if (action === 'init') {
    const paths = requestedDataPaths({ none: args['no-data'] === true, extra: data });
    return init(optValue(args, 'init', 'layout')!, optValue(args, 'from', 'layout'), paths, g, lockTimeout(args));
  }
  if (args.from !== undefined || data.length || args['no-data']) throw new UsageError('layout: --from, --data and --no-data only go with --init');
  const inv = await loadInventory();
  const layout = requireLayout(inv);
  if (action === 'free-space') {
    const units = optValue(args, 'units', 'layout') ?? 'h';
    if (!isUnits(units)) throw new UsageError(`layout: --units must be one of b k m g t h, not ${units}`);
    const s = poolSpace(layout.pool);
    if (g.json) printJson({ vg: layout.vg, pool: layout.pool.name, ...s, freeBytes: s.dataFreeBytes });
    else console.log(formatSize(s.dataFreeBytes, units));
    return 0;
  }
  if (action === 'bases') {
    if (g.json) printJson(inv.bases.map((b) => b.name));
    else for (const b of inv.bases) console.log(b.name);
    return 0;
  }
  if (action === 'layers') {
    if (g.json) printJson(inv.layers.map((l) => l.name));
    else for (const l of inv.layers) console.log(l.name);
    return 0;
  }
  if (g.json) printJson(treeJson(inv));
  else process.stdout.write(renderTree(inv));
  return 0;
}

export function treeJson(inv: Inventory): unknown {
  return {
    vg: inv.vg,
    pool: inv.pool?.name ?? null,
    bases: inv.bases.map((b) => ({ name: b.name, layers: b.layers.map((l) => l.name) })),
  };
}

export function renderTree(inv: Inventory): string {
  const lines: string[] = [];
  for (const b of inv.bases) {
    lines.push(b.name);
    b.layers.forEach((l, i) => lines.push(` ${i === b.layers.length - 1 ? '└' : '├'}╼ ${l.name}`));
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}

async function init(nvr: string, from: string | undefined, wanted: ReturnType<typeof requestedDataPaths>, g: GlobalOpts, timeoutS: number): Promise<number> {
  const bad = validateBaseName(nvr);
  if (bad) throw new UsageError(`layout --init: ${bad}`);
  if (!from) throw new UsageError('layout --init needs --from SRC (the thin root LV: /, /dev/VG/LV or VG/LV)');
  return withLock(async () => {
    const src = await resolveSource(await readLvRecords(), from);
    if (src.segtype !== 'thin' || !src.pool) {
      throw new UsageError(`${src.vg}/${src.name} is not a thin LV (${src.segtype}); imgbased needs the root on LVM thin`);
    }
    // The base is a snapshot of the running root: its kernel is read from the live tree now, copied from the base later.
    const running = (await rootDmName()) === dmName(src.vg, src.name);
    // A data volume is filled from what is at PATH here: that must be the tree the base is made of. The default set
    // is left out where it cannot be made as asked: another root, or a path something else mounts already.
    if (!running && wanted.some((d) => d.byDefault)) log.info(`layout --init: no default data volumes: ${src.vg}/${src.name} is not the running root`);
    const dataPaths = wanted.filter((d) => running || !d.byDefault).map((d) => d.path);
    if (dataPaths.length && !running) throw new UsageError(`layout --init --data: ${src.vg}/${src.name} is not the running root, and --data copies from the running system`);
    const probe = running
      ? { fsType: await fsType(lvPath(src.vg, src.name)), kernel: await probeRunningRoot(src.vg, nvr, DEFAULT_BOOT_DIR) }
      : await probeLv(src.vg, src.name, src.active, DEFAULT_BOOT_DIR);
    if (probe.kernel) probe.kernel = { ...probe.kernel, lv: nvr };
    const input = await readSnapshots({ vg: src.vg, known: new Map([[nvr, probe]]) });
    const requests = await Promise.all(dataPaths.map((p) => readDataRequest(p, undefined, src.sizeBytes)));
    const taken = new Set(requests.filter((r) => r.mountedFrom !== null || fstabEntries(r.fstab.text ?? '').some((e) => e.path === r.path)).map((r) => r.path));
    const { make, leftOut } = withoutTaken(wanted.filter((d) => dataPaths.includes(d.path)), taken);
    for (const p of leftOut) log.info(`layout --init: ${p} is not made a data volume: it is mounted from elsewhere already`);
    const data = requests.filter((r) => make.includes(r.path));
    const plan = planLayoutInit(input, { vg: src.vg, pool: src.pool, source: src.name, nvr, data });
    await execute(plan, g);
    if (!g.dryRun) console.log(`initialised ${src.vg}: base ${nvr}, layer ${plan.layer}; boot ${plan.layer} to use it`);
    return 0;
  }, { timeoutS });
}
