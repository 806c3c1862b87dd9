// `imgbase boot --status [--json]`: each layer's boot state (LVM tags + grubenv, core/boot-state) and this boot's
// story: what the initramfs decided (/run/imgbased/boot-status.json, survives switch-root), whether GRUB fell back
// and what the health checks said (/run/imgbased/health.json, from boot --assess). A boot that did not go through
// imgbased has no status file, and says so.
import { readFile } from 'node:fs/promises';
import { grubFellFrom, layerStates, type LayerState } from '../core/boot-state';
import { BOOT_STATUS_PATH, formatBootStatus, NOT_IMGBASED_MESSAGE, parseBootStatus } from '../core/boot-status';
import { ImgbasedError } from '../core/errors';
import { loadInventory } from './context';
import { HEALTH_PATH } from '../core/paths';
import { DEFAULT_BOOT_DIR, findGrub, readGrubEnv } from '../adapters/boot-read';
import type { GlobalOpts } from './args';
import type { HealthRecord } from './boot-assess';

function stateText(s: LayerState): string {
  switch (s.state) {
    case 'trying': return s.left === 0 ? `trying, 0 of ${s.tries} tries left (GRUB falls back)` : `trying, ${s.left} of ${s.tries} tries left`;
    case 'bad': return `bad: ${s.reason}`;
    case 'good': return 'good';
    default: return 'new (not yet blessed)';
  }
}

async function readStates(bootDir: string): Promise<{ states: LayerState[]; grubFell: string | null }> {
  try {
    const inv = await loadInventory();
    const grub = await findGrub(bootDir);
    const env = grub ? await readGrubEnv(grub.env) : {};
    return { states: inv.vg ? layerStates(inv, env) : [], grubFell: grubFellFrom(env) };
  } catch {
    return { states: [], grubFell: null };
  }
}

export async function bootStatusCommand(argv: string[], g: GlobalOpts, path = BOOT_STATUS_PATH): Promise<number> {
  const json = g.json || argv.includes('--json');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new ImgbasedError(`cannot read ${path}: ${(e as Error).message}`);
    if (json) process.stdout.write(`${JSON.stringify({ imgbased: false, message: NOT_IMGBASED_MESSAGE }, null, 2)}\n`);
    else process.stdout.write(`${NOT_IMGBASED_MESSAGE}\n`);
    return 0;
  }
  let status;
  try {
    status = parseBootStatus(text);
  } catch (e) {
    throw new ImgbasedError(`${path}: ${(e as Error).message}`, { hint: 'the initramfs wrote a damaged status file' });
  }
  const health = JSON.parse(await readFile(HEALTH_PATH, 'utf8').catch(() => 'null')) as HealthRecord | null;
  const { states, grubFell } = await readStates(DEFAULT_BOOT_DIR);
  const grubFellBackFrom = health?.grubFellBackFrom ?? grubFell;
  if (json) {
    process.stdout.write(`${JSON.stringify({ imgbased: true, ...status, grubFellBackFrom, health, layers: states }, null, 2)}\n`);
  } else {
    process.stdout.write(formatBootStatus(status));
    if (status.lastResort) process.stdout.write(`last resort: booted ${status.lastResort} (no usable layer)\n`);
    process.stdout.write(`grub:      ${grubFellBackFrom ? `fell back: ${grubFellBackFrom} used up its tries` : 'no fallback'}\n`);
    process.stdout.write(`health:    ${health ? `${health.healthy ? 'healthy' : 'UNHEALTHY'} (${health.summary})${health.reboot ? `; rebooted into ${health.reboot}` : ''}` : 'not assessed yet'}\n`);
    if (health) for (const v of health.verdicts) process.stdout.write(`           verdict ${v}\n`);
    if (states.length > 0) {
      process.stdout.write('layers:\n');
      const w = Math.max(...states.map((s) => s.layer.length));
      for (const s of [...states].reverse()) process.stdout.write(`  ${s.layer.padEnd(w)}  ${stateText(s)}${s.since ? `  (since ${s.since})` : ''}\n`);
    }
  }
  return status.booted === null && !status.lastResort ? 1 : 0;
}
