// imgbase packages: the admin's packages (installed here, not in the running layer's base or newer than its) with
// where update gets each one's .deb; --keep is APT's Pre-Install-Pkgs hook that keeps the .debs APT installs.
import { readFileSync } from 'node:fs';
import { ImgbasedError } from '../core/errors';
import { BOOT_STATUS_PATH } from '../core/paths';
import { adminPackages, APT_HOOK_FILE, KEPT_DEBS_DIR } from '../core/update/packages';
import { pathExists, withLvReadOnly } from '../adapters/fs';
import { withLock } from '../adapters/lock';
import { log } from '../adapters/log';
import { dirBytes, keepDebs, packageSources, readInstalled } from '../adapters/packages';
import { lockTimeout, parseVerbArgs, printJson, type GlobalOpts } from './args';
import { loadInventory, noPositional, requireLayout, runningLayer } from './context';

export const usage = `usage: imgbase packages [--json]
       imgbase packages --keep < DEB-PATHS

Lists the packages the admin installed on the running layer (not in its base, or newer than the base's) with the
source 'imgbase update' re-installs each from: "kept" (the .deb APT installed, kept in ${KEPT_DEBS_DIR}),
"rebuilt" (made from the installed files, as dpkg-repack does: for 'dpkg -i' of a .deb not kept) or "missing";
and the base's packages removed here (update does not remove them from a new image). Ends with the room the kept
.debs take.
  --keep   APT's Pre-Install-Pkgs hook (${APT_HOOK_FILE}): copies each .deb named on stdin (one path a line) into
           ${KEPT_DEBS_DIR} as NAME_VERSION_ARCH.deb, older versions of the package removed. Does nothing on a
           host not booted as an imgbased layer; never fails APT's run (a failure is a warning).`;

const MiB = 1024 * 1024;
const room = (bytes: number): string => `${(bytes / MiB).toFixed(1)} MiB`;

async function keep(): Promise<number> {
  // An image being built (no layer booted) installs its own packages: those are the base's, not the admin's.
  if (!(await pathExists(BOOT_STATUS_PATH))) return 0;
  try {
    const stdin = readFileSync(0, 'utf8');
    const kept = await keepDebs(stdin.split('\n').map((l) => l.trim()).filter(Boolean));
    if (kept.length) log.info(`packages: kept ${kept.join(', ')} in ${KEPT_DEBS_DIR} (${room(await dirBytes(KEPT_DEBS_DIR))} in all)`);
  } catch (e) {
    log.warn(`packages: could not keep the .debs for a later update: ${(e as Error).message}`);
  }
  return 0;
}

export async function packagesCommand(argv: string[], g: GlobalOpts): Promise<number> {
  const args = parseVerbArgs(argv, { verb: 'packages', boolean: ['keep'], usage });
  noPositional(args, 'packages');
  if (args.keep) return keep();
  return withLock(async () => {
    const inv = await loadInventory();
    const { vg } = requireLayout(inv);
    const running = await runningLayer(inv);
    if (!running) throw new ImgbasedError('packages: / is not an imgbased layer, so it has no base to compare with', { hint: "boot a layer first ('imgbase boot --list')" });
    const base = inv.bases.find((b) => b.name === running.base)!;
    const baseInstalled = await withLvReadOnly(vg, base.name, base.lv.active, (dir) => readInstalled(dir));
    const admin = adminPackages(baseInstalled, await readInstalled('/'));
    const { sources } = await packageSources(admin.added);
    const bytes = await dirBytes(KEPT_DEBS_DIR);
    const added = admin.added.map((p) => ({ name: p.name, version: p.version, arch: p.arch, base: baseInstalled.get(p.key)?.version ?? null, source: sources.get(p.key)! }));
    const removed = admin.removed.map((p) => ({ name: p.name, version: p.version, arch: p.arch }));
    if (g.json) {
      printJson({ layer: running.name, base: base.name, added, removed, kept: { dir: KEPT_DEBS_DIR, bytes } });
      return 0;
    }
    if (!added.length && !removed.length) console.log(`${running.name}: no packages added or removed against base ${base.name}`);
    for (const p of added) console.log(`${p.name} ${p.version} ${p.arch}: ${p.base ? `upgraded here (base ${p.base})` : 'added here'}, ${p.source}`);
    for (const p of removed) console.log(`${p.name} ${p.version} ${p.arch}: removed here`);
    console.log(`kept .debs: ${room(bytes)} in ${KEPT_DEBS_DIR}`);
    return 0;
  }, { timeoutS: lockTimeout(args) });
}
