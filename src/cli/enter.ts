// imgbase enter: a shell (or a command) inside a layer that is not running, e.g. to install a package into a staged
// update before its first boot. core/enter decides; this file mounts, runs and re-syncs the boot entry.
import { constants as fsc } from 'node:fs';
import { access } from 'node:fs/promises';
import { defaultCommand, describeEnter, ENTER_ENV, enterableLayer, enterArgv, kernelChanged, layerArg, NSPAWN, splitCommand, type Runner } from '../core/enter';
import { MOUNT_DIR } from '../core/paths';
import { planKernelInstall } from '../core/plans/verbs';
import { checkChrootable, withApiMounts } from '../adapters/chroot';
import { inTree } from '../adapters/confine';
import { runInteractive } from '../adapters/exec';
import { pathExists, withMounted } from '../adapters/fs';
import { treeKernelSource, treeKernelStamp } from '../adapters/kernel';
import { withLock } from '../adapters/lock';
import { activateLv, deactivateLv, lvPath } from '../adapters/lvm';
import { lockTimeout, parseVerbArgs, type GlobalOpts } from './args';
import { loadInventory, requireLayout, runningLayer } from './context';
import { execute, readSnapshots } from './plan-run';

export const usage = `usage: imgbase enter LAYER [-- COMMAND [ARG...]] [--dry-run]

A shell, or COMMAND, inside LAYER while it is not running: e.g. to install a package into a staged update before
its first boot. LAYER's LV is activated if it is not, mounted read-write under ${MOUNT_DIR}, and the command
runs in it with systemd-nspawn (when /usr/bin/systemd-nspawn is installed) or chroot (with /proc, /sys, /dev and
a new /run mounted in it). stdin, stdout and stderr are the terminal's. Default command: /bin/bash -l (the layer's
/bin/sh -l without bash). The command sees ${ENTER_ENV}=LAYER in its environment.
Afterwards LAYER is unmounted (and deactivated if it was not active); when its kernel or initramfs changed (another
version, or the files rewritten), LAYER's boot entry is re-synced to boot them, as kernel-install does in a running
layer, and a line says so.
Refused: the running layer (exit 4: change it directly), a base (exit 2: read-only), an unknown name (exit 3).
It holds the imgbased lock while the command runs, so no other imgbase command removes the layer meanwhile
(--lock-timeout S, default 60, to wait for one that holds it).
Exit status: the command's (128 + N when signal N ended it).`;

async function executable(p: string): Promise<boolean> {
  return access(p, fsc.X_OK).then(() => true, () => false);
}

export async function enterCommand(argv: string[], g: GlobalOpts): Promise<number> {
  const { own, command } = splitCommand(argv);
  const args = parseVerbArgs(own, { verb: 'enter', usage });
  const name = layerArg(args._.map(String));
  return withLock(async () => {
    const inv = await loadInventory();
    const { vg } = requireLayout(inv);
    const layer = enterableLayer(inv, name, (await runningLayer(inv))?.name ?? null);
    const runner: Runner = (await pathExists(NSPAWN)) ? 'nspawn' : 'chroot';
    const active = layer.lv.active;
    if (g.dryRun) {
      for (const l of describeEnter({ vg, layer: name, active, runner, command })) console.log(l);
      return 0;
    }
    if (!active) await activateLv(vg, name, { ignoreSkip: true });
    try {
      const r = await withMounted(lvPath(vg, name), async (dir) => {
        // The layer's own /proc ... would be mounted on: a symlink there could aim the mount at this host's files.
        if (runner === 'chroot') await checkChrootable(dir, `enter ${name}`);
        const before = await treeKernelStamp(dir);
        const cmd = command ?? defaultCommand(await executable(await inTree(dir, 'bin/bash')));
        const { cmd: prog, args: progArgs } = enterArgv(runner, dir, name, cmd, process.stdin.isTTY === true);
        const env = { [ENTER_ENV]: name };
        const code = runner === 'nspawn'
          ? await runInteractive(prog, progArgs, env)
          : await withApiMounts(dir, () => runInteractive(prog, progArgs, env));
        const changed = kernelChanged(before, await treeKernelStamp(dir));
        // Read while mounted; the copy step mounts the layer again (read-only) once this mount is gone.
        return { code, changed, source: changed ? await treeKernelSource(vg, name, dir) : null };
      });
      if (r.changed) {
        const plan = planKernelInstall(await readSnapshots(), name, r.source);
        await execute(plan, g);
        console.log(r.source
          ? `enter: ${name}'s kernel or initramfs changed: its boot entry now boots kernel ${r.source.version}`
          : `enter: ${name} holds no kernel any more: its boot entry boots its base's kernel`);
      }
      return r.code;
    } finally {
      if (!active) await deactivateLv(vg, name).catch(() => undefined);
    }
  }, { timeoutS: lockTimeout(args) });
}
