// imgbase motd: the login message (/etc/update-motd.d/85-imgbased runs it). It reads only what is cheap — the
// initramfs's and the assessment's records in /run, one lvs, grubenv and the entry files — and never takes the
// lock: a login must not wait for a writer. It must never fail a login either: anything unreadable is left out, and
// any error prints nothing and exits 0.
import { readFile } from 'node:fs/promises';
import { parseBootStatus, type BootStatus } from '../core/boot-status';
import { badLayers, grubFellFrom, layerStates, nextDefault } from '../core/boot-state';
import { DEFAULT_THRESHOLD, healthFindings } from '../core/health';
import { motdFacts, motdLines, type MotdFacts } from '../core/motd';
import { BOOT_STATUS_PATH, DEFAULT_BOOT_DIR, HEALTH_PATH } from '../core/paths';
import { findGrub, readEntries, readGrubEnv } from '../adapters/boot-read';
import { log } from '../adapters/log';
import { parseVerbArgs, printJson, type GlobalOpts } from './args';
import type { HealthRecord } from './boot-assess';
import { loadInventory, noPositional, runningLayer } from './context';

export const usage = `usage: imgbase motd [--json]

A few lines for the login message, only when something needs the admin; nothing (exit 0) when all is well:
  imgbased: this boot fell back from layer L: WHY; running R; see 'imgbase boot --status'
  imgbased: thin pool data 85.00 % used (threshold ${DEFAULT_THRESHOLD} %); see 'imgbase check'
  imgbased: check degraded: WHAT (and N more); see 'imgbase check'
  imgbased: layer L is staged and boots next (not booted yet); see 'imgbase update --status'
"check degraded" covers what 'imgbase check' finds from LVM alone (tags, half-made LVs); /boot is not compared
here. /etc/update-motd.d/85-imgbased runs it at each login; it takes no lock, and any error prints nothing.
  --json   the facts: {"running", "fallback": {"from", "why"} | null, "pool": [...], "degraded": [...], "pending"}`;

async function readJson<T>(path: string, parse: (text: string) => T): Promise<T | null> {
  try {
    return parse(await readFile(path, 'utf8'));
  } catch {
    return null;
  }
}

async function facts(): Promise<MotdFacts | null> {
  const inv = await loadInventory();
  // Not an imgbased host (or LVM unreadable, e.g. not root): nothing to say.
  if (!inv.vg) return null;
  const status = await readJson<BootStatus>(BOOT_STATUS_PATH, parseBootStatus);
  const health = await readJson(HEALTH_PATH, (t) => JSON.parse(t) as HealthRecord | null);
  const grub = await findGrub(DEFAULT_BOOT_DIR).catch(() => null);
  const env: Record<string, string> = grub ? await readGrubEnv(grub.env).catch(() => ({})) : {};
  const entryLayers = (await readEntries(DEFAULT_BOOT_DIR).catch(() => [])).map((e) => e.layer).filter((l): l is string => l !== null);
  return motdFacts({
    status,
    grubFellBackFrom: health?.grubFellBackFrom ?? grubFellFrom(env),
    states: layerStates(inv, env),
    running: (await runningLayer(inv))?.name ?? null,
    findings: healthFindings(inv, DEFAULT_THRESHOLD),
    nextDefault: nextDefault(entryLayers, env.saved_entry || null, badLayers(inv)),
  });
}

export async function motdCommand(argv: string[], g: GlobalOpts): Promise<number> {
  const args = parseVerbArgs(argv, { verb: 'motd', usage });
  noPositional(args, 'motd');
  let f: MotdFacts | null;
  try {
    f = await facts();
  } catch (e) {
    log.debug(`motd: ${(e as Error).message}`);
    return 0;
  }
  if (!f) return 0;
  if (g.json) printJson(f);
  else for (const l of motdLines(f)) console.log(l);
  return 0;
}
