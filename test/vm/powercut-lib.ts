// Power-cut acceptance (issue 10): the guest side (a bash state machine that runs at every boot of one chained qemu
// run, see `reboots` in lab/README.md) and the host side (reading its markers back and judging each cut point).
//
// One point = one write verb cut with the injected fault powercut@N (sysrq b right after step N: no sync, no unmount).
// The boot after the cut goes through the disk's own GRUB; the script then records:
//   root (findmnt) and whether it is a usable layer or the host's root · `imgbase check` rc + output · `check
//   --repair` rc · `check` rc · grub-script-check of the menu file · bootctl list "No such file" lines · LVs tagged
//   imgbased:incomplete · kernel-copy dirs under /boot/imgbased no entry names · whether the verb's target exists ·
//   the re-run of the same verb rc · `check` rc after it.
// Progress lives in $LAB_SHARE/state (9p: written straight to the host, so it survives the cut).
import { execa } from 'execa';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stripEscapes, type BootResult, type Lab } from './lab/index.js';

/** Verbs on the layered host (fixtures/layered.ts), in the order the sample chains them (preconditions hold in it). */
export const LAYERED_VERBS = ['set-default', 'layer-add', 'layer-remove', 'base-add', 'base-remove', 'sync', 'next'] as const;
/** Verbs on the plain project disk. */
export const PLAIN_VERBS = ['layout-init'] as const;
export type Verb = (typeof LAYERED_VERBS)[number] | (typeof PLAIN_VERBS)[number] | 'xfs-layer-add';

/** The image `base --add --from` copies: a small ext4 made on the host (kernel + initramfs + os-release). */
export const IMAGE_NAME = 'pc-image.raw';

/** The guest side: a bash library put into the share as powercut.sh. */
export const GUEST_LIB = readFileSync(fileURLToPath(new URL('./powercut-guest.sh', import.meta.url)), 'utf8');;

/**
 * script.sh for one chained run. mode: 'mid' = one cut per verb, in the middle of its plan; 'all' = every step
 * boundary N=opts.from (default 1)..count of each verb in turn; 'at' = only N=opts.at of each verb.
 */
export function guestScript(
  verbs: readonly string[], mode: 'mid' | 'all' | 'at',
  opts: { maxBoots: number; prelude?: string; at?: number; from?: number; preludeReboot?: boolean },
): string {
  return [
    '#!/bin/bash',
    `VERBS=(${verbs.join(' ')})`,
    `MODE=${mode}`,
    `AT_N=${opts.at ?? 0}`,
    `FROM_N=${opts.from ?? 1}`,
    `MAX_BOOTS=${opts.maxBoots}`,
    opts.prelude ? `prelude() {\n${opts.prelude}\n}\nPRELUDE_REBOOT=${opts.preludeReboot === false ? 0 : 1}` : '',
    '. "$LAB_SHARE/powercut.sh"',
    'pc_main',
    '',
  ].join('\n');
}

/**
 * The image for `base --add --from`: ext4 with the project kernel + initramfs in /boot and an os-release, made on the
 * host with mkfs.ext4 -d (well under a second; no TCG time spent).
 */
export async function ensureImage(lab: Lab, outDir: string): Promise<string> {
  const file = path.join(outDir, IMAGE_NAME);
  mkdirSync(outDir, { recursive: true });
  const tree = path.join(outDir, 'pc-image-tree');
  rmSync(tree, { recursive: true, force: true });
  for (const d of ['boot', 'etc', 'usr/lib', `usr/lib/modules/${lab.kver}`, 'sbin']) mkdirSync(path.join(tree, d), { recursive: true });
  copyFileSync(lab.projectKernel, path.join(tree, 'boot', `vmlinuz-${lab.kver}`));
  copyFileSync(lab.projectInitrd, path.join(tree, 'boot', `initrd.img-${lab.kver}`));
  const osRelease = 'PRETTY_NAME="Debian GNU/Linux 12 (image 3)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n';
  writeFileSync(path.join(tree, 'usr/lib/os-release'), osRelease);
  writeFileSync(path.join(tree, 'etc/os-release'), osRelease);
  writeFileSync(path.join(tree, 'etc/fstab'), '# power-cut test image\n');
  const tmp = `${file}.tmp`;
  rmSync(tmp, { force: true });
  await execa('mkfs.ext4', ['-q', '-F', '-L', 'pcimage', '-d', tree, tmp, '160M']);
  rmSync(tree, { recursive: true, force: true });
  await execa('mv', [tmp, file]);
  return file;
}

/** A step as `--dry-run --json` prints it. */
export interface PlanStep {
  n: number;
  kind: string;
  text: string;
  /** The LVs ("VG/LV"), files and directories it changes. */
  touches: string[];
}

export interface Point {
  verb: string;
  n: number;
  fields: Record<string, string>;
  /** Steps of the plan at this point (from --dry-run --json). */
  steps: PlanStep[];
  problems: string[];
}

/** Step kinds that write nothing that a later boot could see half-done (after them the cut loses nothing new). */
const NO_WRITE_KINDS = new Set(['settle-boot', 'activate', 'deactivate']);
const INCOMPLETE = 'imgbased:incomplete';

/** The LVs a plan cut right after step `n` left tagged imgbased:incomplete: made or tagged so, not yet untagged or removed. */
export function leftIncomplete(steps: readonly PlanStep[], n: number): string[] {
  const left = new Set<string>();
  for (const s of steps.filter((x) => x.n <= n)) {
    const lv = s.touches[0]?.split('/').pop() ?? '';
    if (((s.kind === 'snapshot' || s.kind === 'thin-lv') && s.text.includes(INCOMPLETE)) || (s.kind === 'lv-tag' && s.text.endsWith(` with ${INCOMPLETE}`))) left.add(lv);
    else if (s.kind === 'remove-lv' || (s.kind === 'lv-untag' && s.text.startsWith(`remove tag ${INCOMPLETE} `))) left.delete(lv);
  }
  return [...left];
}

/**
 * Problems with `imgbase check`'s output (exit 1) after a cut right after step n. Its FAIL lines must name every LV
 * the plan left incomplete as such ("NAME was left by an interrupted command"), and at least one must name what the
 * interrupted command was changing: such an LV, or an LV, file or directory one of its writing steps touches (repair
 * may finish a step or undo it, so what is named may come before the cut as well as after it).
 */
export function checkNamesCut(output: string, steps: readonly PlanStep[], n: number): string[] {
  const fails = output.split('\n').filter((l) => l.startsWith('FAIL '));
  const incomplete = leftIncomplete(steps, n);
  const problems = incomplete.filter((lv) => !fails.some((l) => l.startsWith(`FAIL ${lv} was left by an interrupted command`)))
    .map((lv) => `check did not name ${lv} as left by an interrupted command`);
  const touched = steps.filter((s) => !NO_WRITE_KINDS.has(s.kind)).flatMap((s) => s.touches);
  // A path, and the directory it is in (check names a kernel copy's files by their directory); an LV as VG/LV or LV.
  const names = new Set([...incomplete, ...touched.flatMap((t) => (t.startsWith('/') ? [t, path.dirname(t)] : [t, t.split('/').pop()!]))]);
  const esc = (x: string): string => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const mentionsAny = (l: string): boolean => [...names].some((x) => new RegExp(`(^|[^\\w.+/-])${esc(x)}($|[^\\w.+/-])`).test(l));
  if (!fails.some(mentionsAny)) problems.push(`check's FAIL lines name nothing the interrupted command was changing: ${fails.join(' | ') || 'none'}`);
  return problems;
}

function readOut(r: BootResult, name: string): string | null {
  const p = path.join(r.outDir, name);
  return existsSync(p) ? readFileSync(p, 'utf8') : null;
}

/** Every point of a run with its recorded fields, judged (problems empty = the point passes). */
export function points(r: BootResult): Point[] {
  const byKey = new Map<string, Point>();
  for (const [key, vals] of Object.entries(r.markers)) {
    const m = /^pc\.([a-z-]+)\.(\d+)\.([a-z0-9-]+)$/.exec(key);
    if (!m) continue;
    const id = `${m[1]}.${m[2]}`;
    let p = byKey.get(id);
    if (!p) {
      p = { verb: m[1]!, n: Number(m[2]), fields: {}, steps: [], problems: [] };
      byKey.set(id, p);
    }
    p.fields[m[3]!] = vals[vals.length - 1]!;
  }
  const out = [...byKey.values()].sort((a, b) => (a.verb === b.verb ? a.n - b.n : 0));
  for (const p of out) {
    const plan = readOut(r, `pc.${p.verb}.${p.n}.plan.json`);
    if (plan) {
      try {
        p.steps = (JSON.parse(plan) as { steps: Point['steps'] }).steps;
      } catch {
        p.problems.push('plan JSON unreadable');
      }
    }
    judge(r, p);
  }
  return out;
}

function judge(r: BootResult, p: Point): void {
  const f = p.fields;
  const bad = (s: string) => p.problems.push(s);
  const rcIs = (k: string, want: number) => {
    if (f[k] === undefined) bad(`${k}: not recorded`);
    else if (Number(f[k]) !== want) bad(`${k}: rc ${f[k]}, expected ${want}`);
  };
  if (f.nocut !== undefined) bad(`no power cut happened (the verb returned rc ${f.nocut})`);
  if (f['assess-unsettled'] !== undefined) bad(`the boot's health assessment was still queued when the cut was armed: ${f['assess-unsettled']}`);
  if (f.root === undefined) {
    bad('never verified after the cut (no boot reached the script)');
    return;
  }
  if (!/^(root|layer:)/.test(f.usable ?? '')) bad(`booted ${f.root}: not a usable layer or the host root (${f.usable})`);
  // check before repair: 1, naming what the interrupted command was changing; 0 only when no step after the cut writes.
  const after = p.steps.filter((s) => s.n > p.n);
  const nothingLeft = after.every((s) => NO_WRITE_KINDS.has(s.kind));
  if (f.check1 === '1') {
    for (const x of checkNamesCut(readOut(r, `pc.${p.verb}.${p.n}.check1.out`) ?? '', p.steps, p.n)) bad(x);
  } else if (!(f.check1 === '0' && nothingLeft)) {
    bad(`check before repair: rc ${f.check1}, expected 1${nothingLeft ? ' (or 0)' : ` (steps after the cut: ${after.map((s) => s.kind).join(',')})`}`);
  }
  rcIs('repair', 0);
  rcIs('check2', 0);
  if (!(f.gsc === '0' || (f.gsc === 'absent' && f.layers === '0'))) bad(`grub-script-check of the menu file: ${f.gsc === 'absent' ? `absent with ${f.layers} layer(s)` : `rc ${f.gsc}`}`);
  if (f['bootctl-missing'] !== '0') bad(`bootctl list: ${f['bootctl-missing']} "No such file" line(s)`);
  if (f.incomplete !== 'none') bad(`LVs tagged imgbased:incomplete after repair: ${f.incomplete}`);
  if (f.orphans !== 'none') bad(`kernel copies no entry names: ${f.orphans}`);
  // Re-running: adds run again when repair undid them, and are refused with "already exists" (exit 2) when the
  // interrupted command had completed its LV; removals finish (0) or, when repair already finished them, report the
  // documented not-found exit 3.
  const want = expectedRerun(p.verb, f.present);
  if (!want.includes(Number(f.rerun))) bad(`re-run: rc ${f.rerun}, expected ${want.join(' or ')} (target present after repair: ${f.present ?? '-'})`);
  rcIs('check3', 0);
}

export function expectedRerun(verb: string, present: string | undefined): number[] {
  switch (verb) {
    case 'layout-init': case 'base-add':
      return present === 'yes' ? [2] : [0];
    case 'layer-remove': case 'base-remove':
      return present === 'yes' ? [0] : [3];
    default:
      return [0];
  }
}

/** Problems of the run as a whole: errors the script marked, verbs it could not set up or plan, no finish. */
export function runProblems(r: BootResult): string[] {
  const out: string[] = [];
  for (const [key, vals] of Object.entries(r.markers)) {
    if (key === 'pc.error') out.push(`script error: ${vals.join(', ')}`);
    const m = /^pc\.([a-z-]+)\.(setup-failed|plan-failed|pick-failed)$/.exec(key);
    if (m) out.push(`${m[1]}: ${m[2]} (${vals.join(', ')})`);
  }
  if (!r.markers['pc.finished']) out.push(r.timedOut ? `run timed out after ${r.durationS.toFixed(0)} s` : `the script never finished (rc ${r.rc})`);
  else if (r.rc !== 0) out.push(`script rc ${r.rc}`);
  return out;
}

/** One line per point for the test log. */
export function describePoint(p: Point): string {
  const f = p.fields;
  const kinds = p.steps.map((s) => s.kind);
  return `${p.verb} @${p.n}/${f.count ?? '?'} [cut after ${kinds[p.n - 1] ?? '?'}] root=${f.usable ?? '-'} check=${f.check1 ?? '-'} repair=${f.repair ?? '-'} check=${f.check2 ?? '-'} gsc=${f.gsc ?? '-'} bootctl-missing=${f['bootctl-missing'] ?? '-'} incomplete=${f.incomplete ?? '-'} orphans=${f.orphans ?? '-'} present=${f.present ?? '-'} rerun=${f.rerun ?? '-'} check=${f.check3 ?? '-'}${p.problems.length ? `  PROBLEMS: ${p.problems.join('; ')}` : '  ok'}`;
}

/** Boots in the run and how many of them GRUB started ("Booting `TITLE'"): every boot must be a GRUB boot. */
export function bootCounts(r: BootResult): { boots: number; grubBoots: number; titles: string[] } {
  const titles = [...stripEscapes(r.log).matchAll(/Booting `([^\n]*)'/g)].map((m) => m[1]!);
  return { boots: (r.markers['agent-start'] ?? []).length, grubBoots: titles.length, titles };
}

/** A check's output file for the report. */
export function checkOutput(r: BootResult, p: Point, which: 'check1' | 'repair' | 'rerun' | 'cut.err'): string {
  const name = which === 'cut.err' ? `pc.${p.verb}.${p.n}.cut.err` : `pc.${p.verb}.${p.n}.${which}.out`;
  return (readOut(r, name) ?? '').trim();
}

/** IMGBASED_POWERCUT_POINTS: "1-7,18-,12" (an open range runs to the plan's end); null = every point. */
export function parsePoints(spec: string | undefined): ((n: number) => boolean) | null {
  if (!spec?.trim()) return null;
  const ranges = spec.split(',').map((part) => {
    const m = /^\s*(\d+)\s*(?:(-)\s*(\d*))?\s*$/.exec(part);
    if (!m) throw new Error(`IMGBASED_POWERCUT_POINTS: "${part}" is not N, N-M or N-`);
    const lo = Number(m[1]);
    return [lo, m[2] ? (m[3] ? Number(m[3]) : Infinity) : lo] as const;
  });
  return (n) => ranges.some(([lo, hi]) => n >= lo && n <= hi);
}
