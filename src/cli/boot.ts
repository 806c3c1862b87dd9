// imgbase boot: boot entries per layer. A thin shell over adapters/bootfs: BLS entries in /boot/loader/entries
// (read by GRUB's blscfg and systemd-boot), for GRUBs without blscfg (Debian/Ubuntu) a menu file next to grub.cfg
// that the stub /etc/grub.d/42_imgbased put in grub.cfg sources, and the default / one-shot choice kept in GRUB's
// environment block.
//
// Default layer: GRUB's `saved_entry` when it names one of our entries (`imgbase boot --set-default LAYER`), else
// the newest layer. One-shot: `next_entry` (`imgbase boot --next LAYER`), which Debian's 00_header consumes and
// clears on the next boot. Both name menu entries by their id `imgbased-<layer>`, which is also the BLS entry id
// (file name without .conf), so the same grubenv works with blscfg. --set-default/--next first sync the entries
// and the menu file, so the id they write always exists in the menu.
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ImgbasedError, NotFoundError, UsageError } from '../core/errors';
import { entryId, renderGrubStub } from '../core/bls';
import { latestLayer, type Inventory } from '../core/inventory';
import {
  DEFAULT_BOOT_DIR, KERNEL_SUBDIR, findGrub, grubMenuIds, installLayerKernel, listBootEntries, readGrubEnv,
  removeLayerKernel, syncBootEntries, type GrubPaths, type ListedEntry,
} from '../adapters/bootfs';
import { run } from '../adapters/exec';
import { withLock } from '../adapters/lock';
import { log } from '../adapters/log';
import { chooseAction, lockTimeout, optValue, parseVerbArgs, printJson, type GlobalOpts } from './args';
import { loadInventory, requireLayer, requireLayout, runningLayer } from './context';

export const usage = `usage: imgbase boot --list [--json]
       imgbase boot --sync [--dry-run]
       imgbase boot --set-default LAYER|latest
       imgbase boot --next LAYER
       imgbase boot --status [--json]

  --list             boot entries: ours (one per layer, newest first; * default, > next boot) and others
  --sync             create missing entries, update ours, remove ours whose layer is gone, drop kernel copies
                     no entry uses, rewrite the GRUB menu file if it changed; entries we did not write are never
                     touched. Runs by itself after layout/base/layer changes.
  --set-default L    boot layer L by default from now on (GRUB saved_entry=imgbased-L); 'latest' goes back to
                     the default of booting the newest layer
  --next L           boot layer L once, on the next boot only (GRUB next_entry=imgbased-L)
  --status           which layer this boot chose and why (from the initramfs)
  --boot-dir DIR     $BOOT (default /boot)

The GRUB menu: /etc/grub.d/42_imgbased puts a stub in grub.cfg (once, via update-grub) that sources
/boot/grub/imgbased.cfg, which imgbase rewrites on every change (one entry per layer, id imgbased-<layer>). It
makes the default the saved entry when that is one of ours, else the newest layer, unless GRUB_DEFAULT in
/etc/default/grub names something explicit (anything other than 0 or saved).`;

export async function bootCommand(argv: string[], g: GlobalOpts): Promise<number> {
  // Internal entry points used by the grub.d script and the kernel-install plugin: argv taken as given.
  if (argv[0] === '--grub-stub') return grubStubCommand(argv.slice(1));
  if (argv[0] === '--kernel-install') return kernelInstallCommand(argv.slice(1), g);
  const args = parseVerbArgs(argv, { verb: 'boot', boolean: ['list', 'sync', 'status'], string: ['set-default', 'next', 'boot-dir'], usage });
  const action = chooseAction(args, ['list', 'sync', 'set-default', 'next', 'status'], 'boot');
  const bootDir = optValue(args, 'boot-dir', 'boot') ?? DEFAULT_BOOT_DIR;
  if (args._.length > 0) throw new UsageError(`boot: unexpected argument ${args._[0]}`, { hint: "see 'imgbase boot --help'" });
  switch (action) {
    case 'status': {
      const { bootStatusCommand } = await import('./boot-status');
      return bootStatusCommand(argv.filter((a) => a !== '--status'), g);
    }
    case 'list':
      return list(bootDir, g);
    case 'sync':
      return withLock(async () => {
        const inventory = await loadInventory();
        requireLayout(inventory);
        const plan = await syncBootEntries({ inventory, dryRun: g.dryRun, bootDir });
        if (!g.dryRun && plan.actions.length === 0) console.log('boot: entries are up to date');
        return 0;
      }, { timeoutS: lockTimeout(args) });
    case 'set-default':
      return setEnv('saved_entry', optValue(args, 'set-default', 'boot')!, bootDir, g, lockTimeout(args));
    case 'next':
      return setEnv('next_entry', optValue(args, 'next', 'boot')!, bootDir, g, lockTimeout(args));
    default:
      throw new UsageError('boot: choose --list, --sync, --set-default, --next or --status', { hint: "see 'imgbase boot --help'" });
  }
}

interface BootChoice {
  saved: string | null;
  next: string | null;
  /** Our layer GRUB boots by default (saved_entry if ours, else the newest), null when the default is not ours. */
  defaultLayer: string | null;
  nextLayer: string | null;
}

async function currentChoice(bootDir: string, ours: ListedEntry[]): Promise<BootChoice> {
  const grub = await findGrub(bootDir);
  const env = grub ? await readGrubEnv(grub.env) : new Map<string, string>();
  const saved = env.get('saved_entry') || null;
  const next = env.get('next_entry') || null;
  const layerOf = (id: string | null): string | null => ours.find((e) => id !== null && entryId(e.layer!) === id)?.layer ?? null;
  const defaultLayer = saved === null ? ours[0]?.layer ?? null : layerOf(saved);
  return { saved, next, defaultLayer, nextLayer: layerOf(next) };
}

async function list(bootDir: string, g: GlobalOpts): Promise<number> {
  const all = await listBootEntries(bootDir);
  const ours = all.filter((e) => e.ours);
  const choice = await currentChoice(bootDir, ours);
  if (g.json) {
    printJson({
      bootDir,
      default: choice.defaultLayer, next: choice.nextLayer, savedEntry: choice.saved, nextEntry: choice.next,
      entries: all.map((e) => ({ ...e, id: e.ours ? entryId(e.layer!) : e.file.replace(/\.conf$/, ''), default: e.ours && e.layer === choice.defaultLayer, next: e.ours && e.layer === choice.nextLayer })),
    });
    return 0;
  }
  if (all.length === 0) {
    console.log(`no boot entries in ${join(bootDir, 'loader/entries')}; run 'imgbase boot --sync'`);
    return 0;
  }
  const rows = all.map((e) => [
    `${e.ours && e.layer === choice.defaultLayer ? '*' : ' '}${e.ours && e.layer === choice.nextLayer ? '>' : ' '}`,
    e.ours ? e.layer! : `(${e.file})`,
    e.title ?? '',
    (e.linux ?? '') + (e.missing.length ? `  MISSING: ${e.missing.join(', ')}` : ''),
  ]);
  const w = [0, 1].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  const wt = Math.min(60, Math.max(...rows.map((r) => r[2]!.length)));
  for (const r of rows) console.log(`${r[0]!.padEnd(w[0]!)} ${r[1]!.padEnd(w[1]!)}  ${r[2]!.padEnd(wt)}  ${r[3]}`);
  if (choice.saved && !choice.defaultLayer) console.log(`default: ${choice.saved} (not an imgbased entry)`);
  if (choice.next && !choice.nextLayer) console.log(`next boot: ${choice.next} (not an imgbased entry)`);
  return 0;
}

async function setEnv(key: 'saved_entry' | 'next_entry', name: string, bootDir: string, g: GlobalOpts, timeoutS: number): Promise<number> {
  return withLock(async () => {
    const inventory = await loadInventory();
    requireLayout(inventory);
    const grub = await findGrub(bootDir);
    if (!grub) throw new NotFoundError(`no GRUB directory in ${bootDir}`, { hint: 'the default and one-shot boot are kept in GRUB\'s environment block' });
    if (key === 'saved_entry' && name === 'latest') {
      if (g.dryRun) {
        console.log(`would unset saved_entry in ${grub.env} (boot the newest layer by default)`);
        return 0;
      }
      await run(grub.editenv, [grub.env, 'unset', 'saved_entry']);
      console.log(`boot: default is the newest layer (${latestLayer(inventory)?.name ?? 'none yet'})`);
      return 0;
    }
    const layer = requireLayer(inventory, name);
    // The id must exist in grub.cfg before GRUB is told to boot it.
    await syncBootEntries({ inventory, dryRun: g.dryRun, bootDir });
    await ensureMenuHas(grub, entryId(layer.name), g.dryRun);
    const value = entryId(layer.name);
    if (g.dryRun) {
      console.log(`would run ${grub.editenv} ${grub.env} set ${key}=${value}`);
      return 0;
    }
    await run(grub.editenv, [grub.env, 'set', `${key}=${value}`]);
    await warnIfGrubDefaultPinned();
    console.log(key === 'saved_entry' ? `boot: default layer is ${layer.name}` : `boot: next boot (once) is ${layer.name}`);
    return 0;
  }, { timeoutS });
}

async function ensureMenuHas(grub: GrubPaths, id: string, dryRun: boolean): Promise<void> {
  const menu = await grubMenuIds(grub);
  if (menu === null) return; // no grub.cfg (systemd-boot): the BLS entry is enough
  if (menu.ids.includes(id) || menu.blscfg) return;
  if (dryRun) return;
  throw new ImgbasedError(`the GRUB menu (${grub.cfg}, ${grub.menu}) has no entry ${id}`, {
    hint: `is /etc/grub.d/42_imgbased installed and executable? then run update-grub (or ${grub.mkconfig} -o ${grub.cfg})`,
  });
}

async function warnIfGrubDefaultPinned(): Promise<void> {
  const text = await readFile('/etc/default/grub', 'utf8').catch(() => '');
  const m = /^\s*GRUB_DEFAULT=["']?([^"'\n]*)["']?\s*$/m.exec(text);
  if (m && m[1] !== '0' && m[1] !== 'saved' && m[1] !== '') {
    log.warn(`/etc/default/grub sets GRUB_DEFAULT=${m[1]}: GRUB will keep booting that by default; set GRUB_DEFAULT=saved (or 0) and run update-grub`);
  }
}

/**
 * For /etc/grub.d/42_imgbased: print the stub that sources the menu file. Args: --boot-prefix P --prepare TEXT
 * --grub-default VALUE [--boot-dir DIR]. Reads no entries and never touches LVM, so grub-mkconfig works in a chroot.
 */
async function grubStubCommand(argv: string[]): Promise<number> {
  const opt = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] ?? '' : undefined;
  };
  const gd = opt('grub-default') ?? '';
  const grub = await findGrub(opt('boot-dir') ?? DEFAULT_BOOT_DIR);
  process.stdout.write(renderGrubStub({
    bootPrefix: opt('boot-prefix') ?? '',
    prepare: opt('prepare') ?? '',
    // Where imgbase writes the menu file: the same directory lookup as the sync.
    grubDir: grub?.dir ?? 'grub',
    manageDefault: gd === '' || gd === '0' || gd === 'saved' || gd === '${saved_entry}',
  }));
  return 0;
}

/**
 * For /etc/kernel/install.d/90-imgbased.install: `add VERSION ENTRY_DIR IMAGE [INITRD...]` copies the kernel into
 * the running layer's own kernel dir and re-syncs (that layer's entry now boots it); `remove VERSION ...` drops it
 * again (the layer falls back to its base's kernel). Outside an imgbased layer: nothing to do.
 */
async function kernelInstallCommand(argv: string[], g: GlobalOpts): Promise<number> {
  const [cmd, version, , image, ...initrds] = argv;
  if ((cmd !== 'add' && cmd !== 'remove') || !version) {
    throw new UsageError('boot --kernel-install: expected add VERSION ENTRY_DIR IMAGE [INITRD...] or remove VERSION');
  }
  const bootDir = process.env.IMGBASED_BOOT_DIR ?? DEFAULT_BOOT_DIR;
  return withLock(async () => {
    const inventory: Inventory = await loadInventory();
    const layer = await runningLayer(inventory);
    if (!layer) {
      log.info('kernel-install: not running on an imgbased layer; boot entries unchanged');
      return 0;
    }
    if (cmd === 'add') {
      if (!image) throw new UsageError('boot --kernel-install add: missing kernel image');
      const initrd = initrds.find((p) => /initr/.test(p)) ?? (await firstReadable([
        join(bootDir, `initrd.img-${version}`), join(bootDir, `initramfs-${version}.img`),
        ...(process.env.KERNEL_INSTALL_STAGING_AREA ? [join(process.env.KERNEL_INSTALL_STAGING_AREA, 'initrd')] : []),
      ]));
      const osRelease = (await readFile('/etc/os-release', 'utf8').catch(() => null)) ?? (await readFile('/usr/lib/os-release', 'utf8').catch(() => null));
      if (!g.dryRun) await installLayerKernel(bootDir, layer.name, { version, kernel: image, initrd, osRelease });
      log.info(`kernel-install: layer ${layer.name} boots kernel ${version} (${join(bootDir, KERNEL_SUBDIR, layer.name)})`);
    } else if (!g.dryRun) {
      await removeLayerKernel(bootDir, layer.name, version);
    }
    await syncBootEntries({ inventory, dryRun: g.dryRun, bootDir });
    return 0;
  }, {});
}

async function firstReadable(paths: string[]): Promise<string | null> {
  for (const p of paths) {
    try {
      await access(p);
      return p;
    } catch {
      // next
    }
  }
  return null;
}
