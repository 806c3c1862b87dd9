// imgbase update: a new image becomes a base and the next layer, with the running layer's /etc changes and accounts
// carried (core/update, core/plans/update). Everything is read first — the image, the running layer's base (the
// pristine /etc of the old image), the live /etc — then one plan runs.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ImgbasedError, UsageError } from '../core/errors';
import { IMGBASED_CONF } from '../core/update/config';
import { findLayer } from '../core/inventory';
import { planUpdate, type UpdateRequest } from '../core/plans/update';
import { mergeAccounts, type AccountClash, type AccountFile } from '../core/update/accounts';
import { mergeEtc, type EtcMerge } from '../core/update/etc-merge';
import type { InitrdBuild } from '../core/update/initrd';
import { describeFiles, describeReport, parseUpdateReport, UPDATE_REPORT } from '../core/update/report';
import { badLayers, menuDefault } from '../core/boot-state';
import { compareLayerNames, validateBaseName } from '../core/naming';
import { listEtc, readAccountFiles } from '../adapters/etc-tree';
import { pathExists, withLvReadOnly, withMounted } from '../adapters/fs';
import { initrdNeed } from '../adapters/initrd';
import { baseNameOfTree, osReleaseOfTree, withImage, type ImageInfo } from '../adapters/image';
import { releaseDowngrade } from '../core/update/release';
import { treeKernelSource } from '../adapters/kernel';
import { withLock } from '../adapters/lock';
import { log } from '../adapters/log';
import { lockTimeout, optValue, parseVerbArgs, printJson, type GlobalOpts } from './args';
import { requireLayout } from './context';
import { imgbasedConfig, runGc } from './gc';
import { readCarry } from './update-carry';
import { execute, readSnapshots } from './plan-run';
import { inTree, realDirIn } from '../adapters/confine';
import { packageSources, readInstalled } from '../adapters/packages';
import type { Package } from '../core/dpkg/status';
import { adminPackages, describePackages, planPackages, refusalLine, type PackagePlan, type PackagePolicy } from '../core/update/packages';
import { checkChrootable } from '../adapters/chroot';

export const usage = `usage: imgbase update --from IMAGE [--name NVR] [--force] [--dry-run] [--json]
       imgbase update [--format liveimg] IMAGE ...
       imgbase update --status [--json]

IMAGE (a raw ext4 or XFS filesystem image, or a squashfs holding LiveOS/rootfs.img; a file or an unmounted block
device) becomes a new read-only base and its first layer the default boot, as a trying layer (boot counting). The
running layer's changes to /etc are carried into it: what the admin added or changed is copied (the admin wins;
where the new image changed the same file, its version is kept beside as FILE.imgnew), what the admin removed is
removed. passwd, group, shadow and gshadow are merged by name. The admin's files outside /etc (/var/lib/APP, /opt,
/srv, /root, /home, /usr/local ...) are carried by the same rules, each listed with its size, then the total; left
out: /usr (but /usr/local), /boot, /proc /sys /dev /run /tmp /var/tmp, /var/lib/dpkg, /var/lib/apt, /var/cache,
/var/lib/systemd, /var/log, data volumes (mount point and below), and every file an installed package owns.
In ${IMGBASED_CONF}: carry-limit = SIZE (default 1G): above it update refuses, nothing changed, and names the
largest paths ('imgbase data --add PATH' moves a directory to a data volume); carry = yes | warn | refuse
(default yes): refuse refuses any change outside /etc, warn updates without carrying them and gc keeps the old
layer's base until 'imgbase gc --ack LAYER'. The admin's packages (installed here, not in the old image or newer
than its: 'imgbase packages') are installed into the new layer by its own dpkg, from the .deb APT's hook kept or
one rebuilt from this host, except those the new image has at the same or a newer version. One the new image
cannot take (a dependency it lacks, a conflict) stops the update before anything is written, or is skipped with
packages = skip in the same file. Packages removed here stay in the new image (reported). Nothing changes when
any step fails.
Then old bases are removed ('imgbase gc').
  --name NVR   the new base's name (default: from the image's os-release, IMAGE_ID/ID and IMAGE_VERSION/VERSION_ID)
  --force      update although an account's id would clash with one of the new image's
  --status     what the running layer's update carried (from its record), and the layer that boots next`;

const ACCOUNT_FILES: AccountFile[] = ['passwd', 'group', 'shadow', 'gshadow'];

/** What the image's tree says: its name, kernel and /etc (read while it is mounted). */
async function readImage(vg: string, dir: string, name: string | undefined): Promise<{
  name: string; etc: Awaited<ReturnType<typeof listEtc>>; accounts: Record<AccountFile, string>;
  kernel: Awaited<ReturnType<typeof treeKernelSource>>; initrd: InitrdBuild | undefined; installed: Map<string, Package>;
}> {
  const downgrade = releaseDowngrade(await osReleaseOfTree('/'), await osReleaseOfTree(dir));
  if (downgrade) throw new ImgbasedError(downgrade, { hint: "to run the older release, keep its layer, or make a clean one: 'imgbase base --add NVR --from IMAGE', then 'imgbase layer --add NVR'" });
  const base = await baseNameOfTree(dir, name, 'update');
  const kernel = await treeKernelSource(vg, base, dir);
  const etc = await realDirIn(dir, 'etc', 'update: the image');
  const initrd = kernel ? await initrdNeed('update', dir, kernel) : undefined;
  // The image's own dracut then runs in a chroot of the new layer: its API mount points must be its own.
  if (initrd) await checkChrootable(dir, 'update: the image');
  return { name: base, etc: await listEtc(etc), accounts: await readAccountFiles(etc), kernel, initrd, installed: await readInstalled(dir) };
}

/** The old image's /etc: the running layer's base, mounted read-only (activated for the read when it was not). */
async function readBaseEtc(vg: string, base: string, active: boolean): Promise<{ etc: Awaited<ReturnType<typeof listEtc>>; accounts: Record<AccountFile, string>; installed: Map<string, Package> }> {
  return withLvReadOnly(vg, base, active, async (dir) => {
    const etc = await realDirIn(dir, 'etc', `update: base ${base}`);
    return { etc: await listEtc(etc), accounts: await readAccountFiles(etc), installed: await readInstalled(dir) };
  });
}

function report(merge: EtcMerge, clashes: AccountClash[], accounts: Record<string, { kept: string[]; added: string[]; removed: string[] }>): string[] {
  const lines = merge.carried.map((c) => `  /etc/${c.path}: ${c.change} here, carried`);
  for (const c of merge.conflicts) lines.push(`  /etc/${c.path}: ${c.detail}`);
  for (const [f, a] of Object.entries(accounts)) {
    if (a.kept.length) lines.push(`  ${f}: kept from this host: ${a.kept.join(', ')}`);
    if (a.added.length) lines.push(`  ${f}: new in the image: ${a.added.join(', ')}`);
  }
  for (const c of clashes) lines.push(`  ${c.file}: CLASH ${c.detail}`);
  return lines;
}

/** The install-debs request, once the new image is known to have the dpkg and API directories it runs with. */
async function packageInstall(dir: string, p: PackagePlan, kept: ReadonlyMap<string, string>, policy: PackagePolicy): Promise<UpdateRequest['packages']> {
  if (!p.install.length) return undefined;
  if (!(await pathExists(await inTree(dir, 'usr/bin/dpkg')))) {
    throw new ImgbasedError(`update: the image holds no dpkg to install this host's ${p.install.length} package(s) with; nothing changed`, { hint: `set packages = skip in ${IMGBASED_CONF} to update without them` });
  }
  await checkChrootable(dir, 'update: the image');
  const key = (x: { name: string; arch: string }): string => `${x.name}:${x.arch}`;
  return {
    debs: p.install.filter((x) => x.source === 'kept').map((x) => kept.get(key(x))!),
    rebuild: p.install.filter((x) => x.source === 'rebuilt').map(key),
    policy,
  };
}

/** update --status: the running layer's own record of its update, and what GRUB boots next if not this layer. */
async function status(g: GlobalOpts): Promise<number> {
  const input = await readSnapshots();
  requireLayout(input.inv);
  const text = await readFile(`/${UPDATE_REPORT}`, 'utf8').catch(() => null);
  const report = text === null ? null : parseUpdateReport(text);
  const ours = input.boot.entries.map((e) => e.layer).filter((l): l is string => l !== null);
  const newestFirst = [...new Set(ours)].sort((a, b) => -compareLayerNames(a, b));
  const next = menuDefault(newestFirst, input.boot.grub?.env.saved_entry || null, badLayers(input.inv));
  const pending = next !== null && next !== input.running ? next : null;
  if (g.json) {
    printJson({ running: input.running, report: report?.layer === input.running ? report : null, pending });
    return 0;
  }
  if (report && report.layer === input.running) for (const l of describeReport(report)) console.log(l);
  else console.log(`${input.running ?? '/'}: not made by 'imgbase update'`);
  console.log(pending ? `pending: ${pending} boots next` : 'pending: nothing (the running layer boots next)');
  return 0;
}

export async function updateCommand(argv: string[], g: GlobalOpts): Promise<number> {
  const args = parseVerbArgs(argv, { verb: 'update', boolean: ['force', 'status'], string: ['from', 'name', 'format'], usage });
  if (args.status) {
    if (args._.length || args.from !== undefined || args.name !== undefined) throw new UsageError('update: --status takes no image or name');
    return status(g);
  }
  const format = optValue(args, 'format', 'update');
  if (format !== undefined && format !== 'liveimg') throw new UsageError(`update: --format ${format} is not known (only liveimg)`);
  const positional = args._.map(String);
  const fromOpt = optValue(args, 'from', 'update');
  if (positional.length > 1 || (fromOpt && positional.length > 0)) throw new UsageError('update: give one image (--from IMAGE or IMAGE)');
  const from = fromOpt ?? positional[0];
  if (!from) throw new UsageError('update needs an image: imgbase update --from IMAGE');
  const name = optValue(args, 'name', 'update');
  if (name !== undefined) {
    const bad = validateBaseName(name);
    if (bad) throw new UsageError(`update: --name ${bad}`);
  }
  const cfg = await imgbasedConfig();
  const keep = cfg.keepBases;
  return withLock(async () => {
    const first = await readSnapshots();
    const { vg } = requireLayout(first.inv);
    const running = first.running ? findLayer(first.inv, first.running) : undefined;
    if (!running) throw new ImgbasedError('update: / is not an imgbased layer, so there is no state to carry', { hint: "boot a layer first ('imgbase boot --list')" });
    const base = first.inv.bases.find((b) => b.name === running.base)!;
    const old = await readBaseEtc(vg, base.name, base.lv.active);
    const admin = { etc: await listEtc('/etc'), accounts: await readAccountFiles('/etc'), packages: adminPackages(old.installed, await readInstalled('/')) };
    const sources = await packageSources(admin.packages.added);
    const policy = cfg.packages;
    return withImage(from, async (img: ImageInfo) => withMounted(img.path, async (dir) => {
      const next = await readImage(vg, dir, name);
      const merge = mergeEtc(old.etc, admin.etc, next.etc);
      const accounts: Partial<Record<AccountFile, string>> = {};
      const clashes: AccountClash[] = [];
      const summary: Record<string, { kept: string[]; added: string[]; removed: string[] }> = {};
      for (const f of ACCOUNT_FILES) {
        const m = mergeAccounts(f, old.accounts[f], admin.accounts[f], next.accounts[f]);
        if (m.text !== next.accounts[f]) accounts[f] = m.text;
        clashes.push(...m.clashes);
        summary[f] = { kept: m.kept, added: m.added, removed: m.removed };
      }
      if (clashes.length && !args.force) {
        throw new UsageError(`update: ${clashes.length} account id clash(es), nothing changed: ${clashes.map((c) => c.detail).join('; ')}`, { hint: 'fix the ids on this host, or --force to update anyway' });
      }
      const packages = planPackages(admin.packages, next.installed, sources.sources);
      if (packages.refused.length && policy === 'stop') {
        throw new ImgbasedError(`${refusalLine(packages.refused)}; nothing changed`, { hint: `remove them here, or set packages = skip in ${IMGBASED_CONF}` });
      }
      const install = await packageInstall(dir, packages, sources.kept, policy);
      const files = await readCarry(vg, first.records, { name: base.name, active: base.lv.active }, running.name, dir, cfg);
      // The snapshots read first still hold (the lock is ours); only the new image's kernel and type are added.
      const input = {
        ...first,
        kernels: new Map([...first.kernels, [next.name, next.kernel]]),
        fsTypes: new Map([...first.fsTypes, [next.name, img.fsType]]),
      };
      const plan = planUpdate(input, {
        name: next.name, img,
        carry: { from: '/etc', actions: merge.actions, conflicts: merge.conflicts.length }, files: files.files,
        accounts,
        initrd: next.initrd,
        ...(install ? { packages: install } : {}),
        report: { at: new Date().toISOString(), image: from, from: running.name, carried: merge.carried, conflicts: merge.conflicts, accounts: summary, files: files.report, packages },
      });
      const lines = [...report(merge, clashes, summary), ...(files.report.carried.length ? describeFiles(files.report, running.name) : []), ...describePackages(packages)];
      await execute(plan, g);
      if (g.dryRun) {
        if (!g.json) console.log(lines.length ? `what it carries:\n${lines.join('\n')}` : 'what it carries: nothing (no changes to /etc here)');
        return 0;
      }
      if (!g.json) {
        console.log(`updated: base ${next.name}, layer ${plan.layer} boots next`);
        for (const l of lines) console.log(l);
      }
      // The update stands on its own: a GC that fails afterwards is reported, the update is not undone.
      // GC only removes bases beyond the newest `keep`: with no more than that (the new one counted), skip it.
      const removed = first.inv.bases.length + 1 <= keep ? [] : await runGc(keep, g).catch((e: unknown) => {
        log.warn(`gc after the update failed: ${(e as Error).message}; run 'imgbase gc'`);
        return [];
      });
      if (g.json) printJson({ base: next.name, layer: plan.layer, carried: merge.carried, conflicts: merge.conflicts, accounts: summary, clashes, files: files.report, packages, removed });
      else for (const r of removed) console.log(`gc: removed base ${r.base}${r.layers.length ? ` and ${r.layers.length} layer(s)` : ''}`);
      return 0;
    }, { readOnly: true, loop: true }));
  }, { timeoutS: lockTimeout(args) });
}
