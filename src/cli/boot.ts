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
import { entryId } from '../core/bls';
import { KERNEL_SUBDIR } from '../core/boot-plan';
import { renderGrubStub } from '../core/grub-script';
import { latestLayer } from '../core/inventory';
import { planBootChoice, planKernelInstall, planSync } from '../core/plans/verbs';
import { planArm } from '../core/plans/boot-verbs';
import { badLayers, menuDefault, parseTries } from '../core/boot-state';
import { validateLayerName } from '../core/naming';
import { DEFAULT_BOOT_DIR, findGrub, listBootEntries, readGrubEnv, readKernelDir, type ListedEntry } from '../adapters/boot-read';
import { hostKernelSource } from '../adapters/kernel';
import { withLock } from '../adapters/lock';
import { log } from '../adapters/log';
import { chooseAction, lockTimeout, optValue, parseVerbArgs, printJson, type GlobalOpts } from './args';
import { loadInventory, requireLayout } from './context';
import { execute, readSnapshots } from './plan-run';

export const usage = `usage: imgbase boot --list [--json]
       imgbase boot --sync [--dry-run]
       imgbase boot --set-default LAYER|latest
       imgbase boot --next LAYER
       imgbase boot --status [--json]
       imgbase boot --tries N LAYER [--dry-run]
       imgbase boot --assess [--dry-run]

  --list             boot entries: ours (one per layer, newest first; * default, > next boot) and others
  --sync             create missing entries, update ours, remove ours whose layer is gone, drop kernel copies
                     no entry uses, rewrite the GRUB menu file if it changed; entries we did not write are never
                     touched. Runs by itself after layout/base/layer changes.
  --set-default L    boot layer L by default from now on (GRUB saved_entry=imgbased-L); 'latest' goes back to
                     the default of booting the newest layer
  --next L           boot layer L once, on the next boot only (GRUB next_entry=imgbased-L)
  --status           each layer's boot state (new / trying N left / good / bad + why) and this boot's story:
                     requested, booted, fallbacks at GRUB, initramfs and health-check level
  --tries N LAYER    (re)arm LAYER for N boots (1-9) and make it the default: it must be blessed (come up and
                     pass its required health checks) within N boots, or GRUB boots the previous good layer
  --assess           run the health checks and bless or mark bad this boot's layer (run once per boot by
                     imgbased-boot-assess.service; a second run in the same boot does nothing)
  --boot-dir DIR     $BOOT (default /boot)

The GRUB menu: /etc/grub.d/42_imgbased puts a stub in grub.cfg (once, via update-grub) that sources
/boot/grub/imgbased.cfg, which imgbase rewrites on every change (one entry per layer, id imgbased-<layer>). It
makes the default the saved entry when that is one of ours, else the newest layer, unless GRUB_DEFAULT in
/etc/default/grub names something explicit (anything other than 0 or saved).`;

export async function bootCommand(argv: string[], g: GlobalOpts): Promise<number> {
  // Internal entry points used by the grub.d script and the kernel-install plugin: argv taken as given.
  if (argv[0] === '--grub-stub') return grubStubCommand(argv.slice(1));
  if (argv[0] === '--kernel-install') return kernelInstallCommand(argv.slice(1), g);
  // --events: the name of the boot hooks' entry point before health checks existed.
  if (argv[0] === '--assess' || argv[0] === '--events') return (await import('./boot-assess')).bootAssessCommand(g);
  const args = parseVerbArgs(argv, { verb: 'boot', boolean: ['list', 'sync', 'status'], string: ['set-default', 'next', 'boot-dir', 'tries'], usage });
  const action = chooseAction(args, ['list', 'sync', 'set-default', 'next', 'status', 'tries'], 'boot');
  const bootDir = optValue(args, 'boot-dir', 'boot') ?? DEFAULT_BOOT_DIR;
  if (action === 'tries') return arm(args, bootDir, g);
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
        const input = await readSnapshots({ bootDir });
        requireLayout(input.inv);
        const plan = planSync(input);
        await execute(plan, g);
        if (!g.dryRun && plan.steps.length === 0) console.log('boot: entries are up to date');
        return 0;
      }, { timeoutS: lockTimeout(args) });
    case 'set-default':
      return setEnv('saved_entry', optValue(args, 'set-default', 'boot')!, bootDir, g, lockTimeout(args));
    case 'next':
      return setEnv('next_entry', optValue(args, 'next', 'boot')!, bootDir, g, lockTimeout(args));
    default:
      throw new UsageError('boot: choose --list, --sync, --set-default, --next, --status, --tries or --assess', { hint: "see 'imgbase boot --help'" });
  }
}

async function arm(args: Parameters<typeof optValue>[0], bootDir: string, g: GlobalOpts): Promise<number> {
  let tries: number;
  try {
    tries = parseTries(optValue(args, 'tries', 'boot')!, 'boot --tries');
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (args._.length !== 1) throw new UsageError('boot --tries: expected one LAYER', { hint: 'imgbase boot --tries N LAYER' });
  const layer = String(args._[0]);
  const bad = validateLayerName(layer);
  if (bad) throw new UsageError(`boot --tries: ${bad}`);
  return withLock(async () => {
    const input = await readSnapshots({ bootDir });
    requireLayout(input.inv);
    await execute(planArm(input, layer, tries), g);
    if (g.dryRun) return 0;
    if (g.json) printJson({ layer, tries, default: true });
    else console.log(`boot: ${layer} is the default, armed for ${tries} ${tries === 1 ? 'try' : 'tries'}`);
    return 0;
  }, { timeoutS: lockTimeout(args) });
}

interface BootChoice {
  saved: string | null;
  next: string | null;
  /** Our layer GRUB boots by default (saved_entry if ours, else the newest), null when the default is not ours. */
  defaultLayer: string | null;
  nextLayer: string | null;
}

/** Layers marked bad (the menu file never makes them the default). None when LVM cannot be read: a /boot alone. */
async function badNow(): Promise<Set<string>> {
  try {
    return badLayers(await loadInventory());
  } catch (e) {
    log.debug(`boot --list: no layer states (${(e as Error).message})`);
    return new Set();
  }
}

async function currentChoice(bootDir: string, ours: ListedEntry[]): Promise<BootChoice> {
  const grub = await findGrub(bootDir);
  const env = grub ? await readGrubEnv(grub.env) : {};
  const saved = env.saved_entry || null;
  const next = env.next_entry || null;
  const layerOf = (id: string | null): string | null => ours.find((e) => id !== null && entryId(e.layer!) === id)?.layer ?? null;
  const defaultLayer = menuDefault(ours.map((e) => e.layer!), saved, await badNow());
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
    const input = await readSnapshots({ bootDir });
    requireLayout(input.inv);
    await execute(planBootChoice(input, key, name), g);
    if (g.dryRun) return 0;
    if (key === 'saved_entry' && name === 'latest') {
      console.log(`boot: default is the newest layer (${latestLayer(input.inv)?.name ?? 'none yet'})`);
      return 0;
    }
    await warnIfGrubDefaultPinned();
    console.log(key === 'saved_entry' ? `boot: default layer is ${name}` : `boot: next boot (once) is ${name}`);
    return 0;
  }, { timeoutS });
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
  const bootDir = DEFAULT_BOOT_DIR;
  return withLock(async () => {
    const input = await readSnapshots({ bootDir });
    const layer = input.running;
    if (!layer || !input.inv.vg) {
      log.info('kernel-install: not running on an imgbased layer; boot entries unchanged');
      return 0;
    }
    let plan;
    if (cmd === 'add') {
      if (!image) throw new UsageError('boot --kernel-install add: missing kernel image');
      const initrd = initrds.find((p) => /initr/.test(p)) ?? (await firstReadable([
        join(bootDir, `initrd.img-${version}`), join(bootDir, `initramfs-${version}.img`),
        ...(process.env.KERNEL_INSTALL_STAGING_AREA ? [join(process.env.KERNEL_INSTALL_STAGING_AREA, 'initrd')] : []),
      ]));
      const osRelease = (await readFile('/etc/os-release', 'utf8').catch(() => null)) ?? (await readFile('/usr/lib/os-release', 'utf8').catch(() => null));
      plan = planKernelInstall(input, layer, await hostKernelSource(input.inv.vg, layer, { version, kernel: image, initrd, osRelease }));
      log.info(`kernel-install: layer ${layer} boots kernel ${version} (${join(bootDir, KERNEL_SUBDIR, layer)})`);
    } else {
      // Only the kernel this layer boots from its own copy goes; it then boots its base's kernel again.
      const own = await readKernelDir(join(bootDir, KERNEL_SUBDIR, layer), layer);
      plan = own?.version === version ? planKernelInstall(input, layer, null) : planSync(input);
    }
    await execute(plan, g);
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
