// imgbase: one binary, two halves. `imgbase <verb>` is the userland tool; `imgbase initrd <step>` runs inside
// the initramfs. This file only dispatches and owns the single top-level catch.
import { EXIT, exitCodeOf, formatError, UsageError } from './core/errors';
import { log, setDebug } from './adapters/log';
import type { GlobalOpts } from './cli/args';
import { splitGlobalArgs } from './cli/global-args';

declare const IMGBASED_VERSION: string;
const VERSION = typeof IMGBASED_VERSION === 'string' ? IMGBASED_VERSION : 'dev';

type Verb = { usage: () => Promise<string>; run: (argv: string[], g: GlobalOpts) => Promise<number> };

// Verbs are loaded lazily so `imgbase initrd` and `--version` don't pay for the rest (the bundle is one file,
// but module bodies still run on import).
const VERBS: Record<string, Verb> = {
  layout: { usage: async () => (await import('./cli/layout')).usage, run: async (a, g) => (await import('./cli/layout')).layoutCommand(a, g) },
  base: { usage: async () => (await import('./cli/base')).usage, run: async (a, g) => (await import('./cli/base')).baseCommand(a, g) },
  layer: { usage: async () => (await import('./cli/layer')).usage, run: async (a, g) => (await import('./cli/layer')).layerCommand(a, g) },
  w: { usage: async () => (await import('./cli/w')).usage, run: async (a, g) => (await import('./cli/w')).wCommand(a, g) },
  diff: { usage: async () => (await import('./cli/diff')).usage, run: async (a, g) => (await import('./cli/diff')).diffCommand(a, g) },
  check: { usage: async () => (await import('./cli/check')).usage, run: async (a, g) => (await import('./cli/check')).checkCommand(a, g) },
  boot: { usage: async () => (await import('./cli/boot')).usage, run: async (a, g) => (await import('./cli/boot')).bootCommand(a, g) },
  update: { usage: async () => (await import('./cli/update')).usage, run: async (a, g) => (await import('./cli/update')).updateCommand(a, g) },
  data: { usage: async () => (await import('./cli/data')).usage, run: async (a, g) => (await import('./cli/data')).dataCommand(a, g) },
  gc: { usage: async () => (await import('./cli/gc')).usage, run: async (a, g) => (await import('./cli/gc')).gcCommand(a, g) },
  rollback: { usage: async () => (await import('./cli/rollback')).usage, run: async (a, g) => (await import('./cli/rollback')).rollbackCommand(a, g) },
  install: { usage: async () => (await import('./cli/install')).usage, run: async (a, g) => (await import('./cli/install')).installCommand(a, g) },
  packages: { usage: async () => (await import('./cli/packages')).usage, run: async (a, g) => (await import('./cli/packages')).packagesCommand(a, g) },
  enter: { usage: async () => (await import('./cli/enter')).usage, run: async (a, g) => (await import('./cli/enter')).enterCommand(a, g) },
  motd: { usage: async () => (await import('./cli/motd')).usage, run: async (a, g) => (await import('./cli/motd')).motdCommand(a, g) },
  hooks: { usage: async () => (await import('./cli/hooks')).usage, run: async (a, g) => (await import('./cli/hooks')).hooksCommand(a, g) },
};

const USAGE = `usage: imgbase [--debug] [--json] [--dry-run] [--lock-timeout S] <verb> [options]

Image-based hosts on LVM thin: read-only bases, bootable writable layers.

verbs:
  layout   show bases and layers; --init a host
  base     add, remove and list bases
  layer    add, remove and list layers
  w        which layer is running
  enter    a shell or command inside a layer that is not running (then its boot entry follows its kernel)
  diff     what a layer changed against its base (or another base or layer): paths added, removed, modified
  check    health of the thin pool and the layout (exit 1 when degraded)
  motd     a few lines for the login message when something needs the admin (else nothing)
  boot     boot entries per layer: --list, --sync, --set-default, --next, --status, --tries, --assess
  rollback make the previous good layer the default again
  update   a new image becomes the next layer, this host's /etc, accounts, services and packages carried
  packages the admin's packages (update re-installs them) and where each .deb comes from; --keep: APT's hook
  gc       remove old bases (keep-bases in /etc/imgbased/imgbased.conf, pinned ones kept)
  data     data volumes: paths every layer shares (--add PATH)
  hooks    lifecycle hooks: --list what runs for each event
  install  make a blank disk an image-based host from an image (BIOS or UEFI)

'imgbase <verb> --help' describes a verb. Exit status: 0 ok, 1 failed (or check: degraded), 2 usage error,
3 not found, 4 busy (lock held or in use), 5 done but a post- hook failed.`;

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'initrd') {
    const { runInitrd } = await import('./initrd/index');
    return runInitrd(argv.slice(1));
  }
  // Words after `--` are a command's own (enter LAYER -- COMMAND): no option of ours is read from them.
  const cut = argv.indexOf('--');
  const own = cut < 0 ? argv : argv.slice(0, cut);
  const g: GlobalOpts = { json: own.includes('--json'), dryRun: own.includes('--dry-run'), debug: own.includes('--debug') };
  setDebug(g.debug);
  const words = [...own.filter((a) => a !== '--debug'), ...(cut < 0 ? [] : argv.slice(cut))];
  if (own.includes('--version')) {
    console.log(`imgbase ${VERSION}`);
    return EXIT.ok;
  }
  const { verb: name, verbArgv: rest } = splitGlobalArgs(words);
  if (name === undefined) {
    if (own.includes('--help') || own.includes('-h') || words.length === 0) {
      console.log(USAGE);
      return words.length === 0 ? EXIT.usage : EXIT.ok;
    }
    throw new UsageError(`missing verb`, { hint: "see 'imgbase --help'" });
  }
  const verb = VERBS[name];
  if (!verb) throw new UsageError(`unknown verb "${name}"`, { hint: "see 'imgbase --help'" });
  const verbOwn = rest.includes('--') ? rest.slice(0, rest.indexOf('--')) : rest;
  if (verbOwn.includes('--help') || verbOwn.includes('-h')) {
    console.log(await verb.usage());
    return EXIT.ok;
  }
  log.debug(`imgbase ${VERSION}: ${name} ${rest.join(' ')}`);
  return verb.run(rest, g);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`${formatError(e)}\n`);
    if (e instanceof Error && e.stack) log.debug(e.stack);
    process.exitCode = exitCodeOf(e);
  },
);
