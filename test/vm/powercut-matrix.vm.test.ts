// Issue 10 acceptance, the full power-cut matrix: for every write verb and every step boundary N=1..count of its plan,
// cut power right after step N, boot through the disk's GRUB, check/repair/re-run (the cycle of powercut.vm.test.ts,
// rules in powercut-lib.ts). One GRUB boot per point, so this is its own command, not part of `npm test`:
//
//   npm run test:powercut                                  # every verb
//   IMGBASED_POWERCUT_VERBS=layer-add,sync npm run test:powercut   (boot-counting: the cuts of boot-counting-cuts.vm.test.ts;
//   update: a failure injected at every step of update, update-faults.vm.test.ts)
//   IMGBASED_POWERCUT_JOBS=2   (qemu runs side by side, default 2)
//   IMGBASED_POWERCUT_POINTS=1-7,18-   (only these step boundaries: `layout --init` runs each of them; a layered
//                                       verb's chain starts at the lowest and goes on to its last step)
//
// `xfs`: the project disk laid out, /boot reformatted as XFS (old UUID, files restored, GRUB reinstalled), `layer --add`
// cut right after its last /boot flush: GRUB must show and boot the new layer (one cut, two GRUB boots).
//
// Layered-host verbs: one qemu run per verb (its points chained: each boot verifies the previous cut, re-establishes
// the verb's precondition and cuts the next point). `layout --init` needs a host without a layout for every point:
// one run (two boots) per point. Coverage (points verified / total steps) goes to the log and to
// test-output/powercut-matrix.json.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { boot, grubMenuEntries, overlay, type BootResult, type Lab } from './lab/index.js';
import { outputDir, repoRoot } from './lab/paths.js';
import { ensureLayeredHost } from './fixtures/layered.js';
import {
  GUEST_LIB, IMAGE_NAME, LAYERED_VERBS, bootCounts, describePoint, ensureImage, guestScript, parsePoints, points, runProblems, type Point,
} from './powercut-lib.js';

const ALL = ['layout-init', ...LAYERED_VERBS, 'xfs'] as const;
// 'boot-counting' names boot-counting-cuts.vm.test.ts and 'update' update-faults.vm.test.ts, which the same command runs.
const OTHER_FILES = ['boot-counting', 'update'];
const selected = (process.env.IMGBASED_POWERCUT_VERBS ?? ALL.join(',')).split(',').map((s) => s.trim()).filter((s) => s && !OTHER_FILES.includes(s));
const JOBS = Math.max(1, Number.parseInt(process.env.IMGBASED_POWERCUT_JOBS ?? '2', 10));
/** Per boot budget (GRUB boot ~60-100 s under TCG, plus the verb, check, repair and re-run). */
const PER_BOOT_S = 420;
const MAX_BOOTS = 80;

const wanted = parsePoints(process.env.IMGBASED_POWERCUT_POINTS);
const firstWanted = (): number => {
  for (let n = 1; n < 1000; n++) if (!wanted || wanted(n)) return n;
  return 1;
};

interface VerbResult {
  verb: string;
  count: number;
  points: Point[];
  runs: Array<{ name: string; seconds: number; boots: number; problems: string[] }>;
}
const results: Record<string, VerbResult> = {};

// A small pool: at most JOBS qemu runs at a time across all verbs.
let active = 0;
const waiting: Array<() => void> = [];
async function slot<T>(fn: () => Promise<T>): Promise<T> {
  if (active >= JOBS) await new Promise<void>((res) => waiting.push(res));
  active++;
  try {
    return await fn();
  } finally {
    active--;
    waiting.shift()?.();
  }
}

let lab: Lab;
let layeredDisk = '';
let files: Record<string, { text: string } | { path: string }> = {};

function record(verb: string, r: BootResult): Point[] {
  const v = (results[verb] ??= { verb, count: 0, points: [], runs: [] });
  const ps = points(r).filter((p) => p.verb === verb);
  for (const p of ps) {
    v.count = Math.max(v.count, Number(p.fields.count ?? 0));
    v.points.push(p);
    console.log(`  ${describePoint(p)}`);
  }
  const c = bootCounts(r);
  v.runs.push({ name: r.name, seconds: Math.round(r.durationS), boots: c.boots, problems: runProblems(r) });
  console.log(`${r.name}: ${r.durationS.toFixed(0)} s, ${c.boots} boot(s) (${(r.durationS / Math.max(c.boots - 1, 1)).toFixed(0)} s per cut point)`);
  return ps;
}

async function layeredVerb(verb: string): Promise<void> {
  const name = `powercut-matrix-${verb}`;
  const disk = await overlay(layeredDisk, name);
  // Pin the default for the verbs that do not change it, so every boot after a cut lands on the same layer.
  const prelude = verb === 'set-default' || verb === 'next' ? undefined : 'imgbase boot --set-default Image-1.0-0+2';
  const r = await slot(() =>
    boot({ name, disk, reboots: true, files, timeoutS: PER_BOOT_S * MAX_BOOTS, script: guestScript([verb], 'all', { maxBoots: MAX_BOOTS, prelude, from: firstWanted() }) }),
  );
  record(verb, r);
}

async function layoutInit(): Promise<void> {
  const one = async (n: number): Promise<Point[]> => {
    const name = `powercut-matrix-layout-init-${n}`;
    const disk = await overlay(lab.projectDisk, name);
    const r = await slot(() =>
      boot({ name, disk, reboots: true, files, timeoutS: PER_BOOT_S * 3, script: guestScript(['layout-init'], 'at', { maxBoots: 3, at: n }) }),
    );
    return record('layout-init', r);
  };
  // The first run also tells the plan's length.
  const n0 = firstWanted();
  const first = await one(n0);
  const count = Number(first[0]?.fields.count ?? 0);
  const rest = [];
  for (let n = n0 + 1; n <= count; n++) if (!wanted || wanted(n)) rest.push(one(n));
  await Promise.all(rest);
}

let xfsRun: BootResult | undefined;
async function xfs(): Promise<void> {
  const name = 'powercut-matrix-xfs';
  const disk = await overlay(lab.projectDisk, name);
  xfsRun = await slot(() =>
    boot({
      name, disk, reboots: true, files, timeoutS: PER_BOOT_S * 4,
      script: guestScript(['xfs-layer-add'], 'mid', { maxBoots: 4, prelude: 'imgbase layout --init Image-1.0-0 --from / --no-data', preludeReboot: false }),
    }),
  );
  record('xfs-layer-add', xfsRun);
}

function summary(): { covered: number; passed: number; total: number } {
  let covered = 0;
  let passed = 0;
  let total = 0;
  const out: Record<string, unknown> = {};
  for (const verb of selected) {
    const v = results[verb];
    if (!v) continue;
    const verified = v.points.filter((p) => p.fields.root !== undefined);
    covered += new Set(verified.map((p) => p.n)).size;
    passed += new Set(v.points.filter((p) => p.problems.length === 0).map((p) => p.n)).size;
    total += v.count;
    const seconds = v.runs.reduce((a, r) => a + r.seconds, 0);
    out[verb] = {
      steps: v.count,
      verified: verified.length,
      passed: v.points.filter((p) => p.problems.length === 0).length,
      seconds,
      secondsPerPoint: verified.length ? Math.round(seconds / verified.length) : null,
      runs: v.runs,
      points: v.points.map((p) => ({ n: p.n, cutAfter: p.steps[p.n - 1]?.kind, fields: p.fields, problems: p.problems })),
    };
  }
  const s = { covered, passed, total };
  writeFileSync(path.join(repoRoot(), 'test-output', 'powercut-matrix.json'), JSON.stringify({ ...s, verbs: out, at: new Date().toISOString() }, null, 1) + '\n');
  return s;
}

describe.runIf(process.env.IMGBASED_POWERCUT === 'all' && selected.length > 0)('power-cut matrix: every step of every write verb', () => {
  beforeAll(async () => {
    lab = inject('lab');
    layeredDisk = (await ensureLayeredHost(lab)).disk;
    files = { 'powercut.sh': { text: GUEST_LIB }, [IMAGE_NAME]: { path: await ensureImage(lab, outputDir('powercut-matrix-image')) } };
    const unknown = selected.filter((v) => !(ALL as readonly string[]).includes(v));
    if (unknown.length) throw new Error(`IMGBASED_POWERCUT_VERBS: unknown verb(s) ${unknown.join(', ')}; known: ${ALL.join(', ')}`);
    const t0 = Date.now();
    await Promise.all(selected.map((v) => (v === 'layout-init' ? layoutInit() : v === 'xfs' ? xfs() : layeredVerb(v))));
    const s = summary();
    // The XFS case is one cut of its own, not a step boundary of the 61: reported beside them.
    const x = results['xfs-layer-add']?.points[0];
    const xfsVerdict = !selected.includes('xfs') ? '' : `; XFS /boot case: ${!x ? 'no cut recorded' : x.problems.length ? 'failed' : 'passed'}`;
    console.log(`power-cut matrix: ${s.covered}/${s.total} write-verb points verified, ${s.passed} passed${xfsVerdict}, in ${((Date.now() - t0) / 1000).toFixed(0)} s (${selected.join(', ')})`);
  }, 24 * 3600_000);

  for (const verb of selected.filter((v) => v !== 'xfs')) {
    it(`${verb}: every step boundary cut, booted, repaired, re-run`, () => {
      const v = results[verb];
      expect(v, `${verb} did not run`).toBeDefined();
      expect(v!.runs.flatMap((r) => r.problems)).toEqual([]);
      expect(v!.count).toBeGreaterThan(0);
      // The verb's setup keeps its plan the same at every point (else the points are not one matrix).
      expect(new Set(v!.points.map((p) => p.fields.count)).size, 'plan length varied between points').toBe(1);
      // Every selected N of 1..count cut and verified exactly once (a layered verb's chain runs on to the end).
      const expected = Array.from({ length: v!.count }, (_, i) => i + 1).filter((n) => n >= firstWanted() && (verb !== 'layout-init' || !wanted || wanted(n)));
      expect(v!.points.map((p) => p.n).sort((a, b) => a - b)).toEqual(expected);
      const bad = v!.points.filter((p) => p.problems.length > 0).map(describePoint);
      expect(bad).toEqual([]);
    });
  }
  it.runIf(selected.includes('xfs'))('XFS /boot: a cut right after the entry + menu writes and the flush; GRUB shows and boots the new layer', () => {
    const r = xfsRun!;
    expect(r, 'the XFS run did not happen').toBeDefined();
    expect(runProblems(r), r.logFile).toEqual([]);
    expect(r.markers['pc.xfs.converted']?.[0] ?? '', 'the guest reformatted /boot as XFS').toMatch(/ xfs /);
    const p = results['xfs-layer-add']?.points[0];
    expect(p, 'no cut point recorded for the XFS layer --add').toBeDefined();
    expect(p!.steps[p!.n - 1]?.kind, 'cut right after a settle-boot step').toBe('settle-boot');
    expect(p!.steps.slice(0, p!.n).map((s) => s.kind), 'the entry and menu are written before the cut').toEqual(
      expect.arrayContaining(['write-entry', 'write-menu']),
    );
    expect(r.markers['pc.xfs.fstype']?.[0]).toBe('xfs');
    const layer = r.markers['pc.xfs.new-layer']?.[0] ?? 'none';
    expect(layer, 'the new layer is complete after the cut').not.toBe('none');
    // The last boot is the one after the cut: the last menu GRUB drew, and what it booted.
    expect(grubMenuEntries(r.log).some((t) => t.endsWith(`(${layer})`)), grubMenuEntries(r.log).join(' | ')).toBe(true);
    const titles = bootCounts(r).titles;
    expect(titles[titles.length - 1], 'GRUB booted the new layer (the newest)').toMatch(new RegExp(`\\(${layer.replace(/[.+]/g, '\\$&')}\\)$`));
    expect(p!.fields.usable).toBe(`layer:${layer}`);
    expect(p!.problems, describePoint(p!)).toEqual([]);
  });
});
