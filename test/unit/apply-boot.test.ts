// The boot part of a write, end to end on a temporary /boot: readBootSnapshot -> planSync -> applyPlan with the real
// step functions (grub-editenv of this host, `sync -f`; grub-mkconfig and grub-script-check faked where a test says).
import { describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseBls } from '../../src/core/bls';
import { planSync } from '../../src/core/plans/verbs';
import { renderPlan, touches } from '../../src/core/steps';
import { readGrubEnv, listBootEntries } from '../../src/adapters/boot-read';
import { findKernelInTree } from '../../src/adapters/kernel';
import {
  APPLY, STUB_CFG, kernelsOf, kinds, layoutRecords, makeBoot, menuIds, planInput, requiredTool, script, syncBoot, tempDirs, treeKernel,
  type GrubFixture,
} from './helpers/plan-fixtures';

const tmp = tempDirs();
const AB = ['A-1-0', 'B-2-0'];
const FOREIGN = 'title Hand made  \t\nlinux /vmlinuz-6.1\n# a comment\noptions  root=/dev/sda1  quiet\n\n';

async function setup(grub?: GrubFixture) {
  const dir = tmp();
  const b = makeBoot(dir, grub);
  const kernels = await kernelsOf(join(dir, 'trees'), AB);
  const entries = join(b.boot, 'loader/entries');
  const notes: string[] = [];
  // grub-mkconfig stand-in: writes a grub.cfg with the current stub and counts its runs.
  const mkconfig = script(join(dir, 'grub-mkconfig'), `echo "$@" >> ${join(dir, 'mkconfig.log')}\ncat > "$2" <<'EOF'\n${STUB_CFG}EOF`);
  const mkconfigRuns = (): string[] => (existsSync(join(dir, 'mkconfig.log')) ? readFileSync(join(dir, 'mkconfig.log'), 'utf8').split('\n').filter(Boolean) : []);
  const o = { grubDDir: b.grubDDir, apply: { ...APPLY, mkconfig, note: (l: string) => notes.push(l) } };
  const input = (bases: string[], layers: string[]) => planInput(b.boot, layoutRecords(bases, layers), kernels, o);
  const sync = (bases: string[], layers: string[]) => syncBoot(b.boot, layoutRecords(bases, layers), kernels, o);
  return { ...b, dir, kernels, entries, notes, o, input, sync, mkconfigRuns };
}

describe('boot sync (planSync + applyPlan) on a temporary /boot', () => {
  it('creates one entry per layer, copies each base kernel once, is idempotent', async () => {
    const t = await setup();
    const plan = await t.sync(AB, ['A-1-0+1', 'A-1-0+2', 'B-2-0+1']);
    expect(plan.steps.flatMap((s) => (s.kind === 'copy-kernel' ? [s.owner] : []))).toEqual(AB);
    expect(readdirSync(t.entries).sort()).toEqual(['imgbased-A-1-0_1.conf', 'imgbased-A-1-0_2.conf', 'imgbased-B-2-0_1.conf']);
    const e = parseBls(readFileSync(join(t.entries, 'imgbased-A-1-0_2.conf'), 'utf8'));
    expect(e.title).toBe('Test OS A-1-0 (A-1-0+2)');
    expect(e.linux).toBe('/imgbased/A-1-0/vmlinuz-6.1.0-5-amd64');
    expect(e.initrd).toEqual(['/imgbased/A-1-0/initrd.img-6.1.0-5-amd64']);
    expect(e.options).toEqual(['root=/dev/HostVG/A-1-0+2 rd.lvm.lv=HostVG/A-1-0+2 ro console=ttyS0 imgbased.layer=A-1-0+2 panic=10']);
    expect(readFileSync(join(t.boot, 'imgbased/A-1-0/vmlinuz-6.1.0-5-amd64'), 'utf8')).toBe('kernel of A-1-0');
    expect(readFileSync(join(t.boot, 'imgbased/A-1-0/initrd.img-6.1.0-5-amd64'), 'utf8')).toBe('initrd of A-1-0');
    expect(readFileSync(join(t.boot, 'imgbased/A-1-0/os-release'), 'utf8')).toContain('Test OS');
    // No temporary files or directories left behind.
    expect(readdirSync(t.entries).filter((f) => f.startsWith('.'))).toEqual([]);
    expect(readdirSync(join(t.boot, 'imgbased')).sort()).toEqual(AB);
    expect(t.notes).toContain('boot: created imgbased-A-1-0_2.conf');

    expect(planSync(await t.input(AB, ['A-1-0+1', 'A-1-0+2', 'B-2-0+1'])).steps).toEqual([]);
  });

  it('removes only our entries whose layer is gone; foreign entries survive byte for byte', async () => {
    const t = await setup();
    mkdirSync(t.entries, { recursive: true });
    writeFileSync(join(t.entries, 'debian.conf'), FOREIGN);
    // Named like ours but without our marker: not ours.
    const lookalike = 'title mine\nlinux /imgbased/A-1-0/vmlinux-x\n';
    writeFileSync(join(t.entries, 'imgbased-A-1-0_9.conf'), lookalike);
    await t.sync(['A-1-0'], ['A-1-0+1', 'A-1-0+2']);
    const plan = await t.sync(['A-1-0'], ['A-1-0+2']);
    expect(kinds(plan.steps)).toEqual(['remove-entry', 'settle-boot']);
    expect(plan.steps.flatMap(touches)).not.toContain(join(t.entries, 'imgbased-A-1-0_9.conf'));
    expect(readdirSync(t.entries).sort()).toEqual(['debian.conf', 'imgbased-A-1-0_2.conf', 'imgbased-A-1-0_9.conf']);
    expect(readFileSync(join(t.entries, 'debian.conf'), 'utf8')).toBe(FOREIGN);
    expect(readFileSync(join(t.entries, 'imgbased-A-1-0_9.conf'), 'utf8')).toBe(lookalike);
  });

  it('deletes a kernel copy only when no entry (ours or foreign) uses it', async () => {
    const t = await setup();
    await t.sync(AB, ['A-1-0+1', 'B-2-0+1']);
    // Base A keeps existing but loses its last layer: its kernel copy goes, last.
    const plan = await t.sync(AB, ['B-2-0+1']);
    expect(kinds(plan.steps)).toEqual(['remove-entry', 'settle-boot', 'remove-kernel-files', 'settle-boot']);
    expect(existsSync(join(t.boot, 'imgbased/A-1-0'))).toBe(false);
    expect(existsSync(join(t.boot, 'imgbased/B-2-0'))).toBe(true);
    // A foreign entry pointing into B's copy keeps it alive after B's layers are gone.
    writeFileSync(join(t.entries, 'rescue.conf'), 'title rescue\nlinux /imgbased/B-2-0/vmlinuz-6.1.0-5-amd64\n');
    await t.sync(['B-2-0'], []);
    expect(existsSync(join(t.boot, 'imgbased/B-2-0/vmlinuz-6.1.0-5-amd64'))).toBe(true);
    expect(readdirSync(t.entries)).toEqual(['rescue.conf']);
  });

  it('the dry-run text of a plan names every step in order; planning writes nothing', async () => {
    const t = await setup();
    const plan = planSync(await t.input(['A-1-0'], ['A-1-0+1']));
    expect(renderPlan(plan.steps)).toEqual([
      'plan: 3 step(s)',
      `  1. copy kernel 6.1.0-5-amd64 and initrd of A-1-0 to ${t.boot}/imgbased/A-1-0 (via a temporary directory renamed into place)`,
      `  2. create boot entry ${t.entries}/imgbased-A-1-0_1.conf for layer A-1-0+1`,
      `  3. flush ${t.boot} to disk (sync)`,
    ]);
    expect(readdirSync(t.boot)).toEqual([]);
  });

  it('skips the layers of a base without a kernel, and adds them once the kernel is known', async () => {
    const t = await setup();
    const records = layoutRecords(AB, ['A-1-0+1', 'B-2-0+1']);
    const noA = new Map([...t.kernels, ['A-1-0', null]]);
    const first = await syncBoot(t.boot, records, noA, t.o);
    expect(first.notes).toEqual([]);
    expect(readdirSync(t.entries)).toEqual(['imgbased-B-2-0_1.conf']);
    const plan = await t.sync(AB, ['A-1-0+1', 'B-2-0+1']);
    expect(kinds(plan.steps)).toEqual(['copy-kernel', 'write-entry', 'settle-boot']);
    expect(readdirSync(t.entries).sort()).toEqual(['imgbased-A-1-0_1.conf', 'imgbased-B-2-0_1.conf']);
  });

  it('refuses to plan kernel copies /boot cannot hold', async () => {
    const t = await setup();
    const huge = new Map([['A-1-0', { ...t.kernels.get('A-1-0')!, bytes: 15 * 2 ** 40 }]]);
    const input = await planInput(t.boot, layoutRecords(['A-1-0'], ['A-1-0+1']), huge, t.o);
    expect(() => planSync(input)).toThrow(/^not enough space on .*: kernel copies need 15728640 MiB \+ 16 MiB reserve/);
  });

  it('keeps the options a user edited into our entry, re-forcing root/rd.lvm.lv/imgbased.layer', async () => {
    const t = await setup();
    await t.sync(['A-1-0'], ['A-1-0+1']);
    const f = join(t.entries, 'imgbased-A-1-0_1.conf');
    writeFileSync(f, readFileSync(f, 'utf8').replace(/^options .*$/m, 'options root=/dev/sda9 quiet splash'));
    const plan = await t.sync(['A-1-0'], ['A-1-0+1']);
    expect(kinds(plan.steps)).toEqual(['write-entry', 'settle-boot']);
    expect(parseBls(readFileSync(f, 'utf8')).options).toEqual(['root=/dev/HostVG/A-1-0+1 rd.lvm.lv=HostVG/A-1-0+1 quiet splash imgbased.layer=A-1-0+1 panic=10']);
  });

  it("uses a layer's own kernel directory (kernel-install) over its base's copy", async () => {
    const t = await setup();
    await t.sync(['A-1-0'], ['A-1-0+1', 'A-1-0+2']);
    mkdirSync(join(t.boot, 'imgbased/A-1-0+2'));
    writeFileSync(join(t.boot, 'imgbased/A-1-0+2/vmlinuz-6.9.0-1-amd64'), 'new kernel');
    writeFileSync(join(t.boot, 'imgbased/A-1-0+2/initrd.img-6.9.0-1-amd64'), 'new initrd');
    const plan = await t.sync(['A-1-0'], ['A-1-0+1', 'A-1-0+2']);
    expect(kinds(plan.steps)).toEqual(['write-entry', 'settle-boot']);
    expect(parseBls(readFileSync(join(t.entries, 'imgbased-A-1-0_2.conf'), 'utf8')).linux).toBe('/imgbased/A-1-0+2/vmlinuz-6.9.0-1-amd64');
    expect(parseBls(readFileSync(join(t.entries, 'imgbased-A-1-0_1.conf'), 'utf8')).linux).toBe('/imgbased/A-1-0/vmlinuz-6.1.0-5-amd64');
  });

  it('removes the leftovers of an interrupted write first', async () => {
    const t = await setup({ cfg: STUB_CFG });
    await t.sync(['A-1-0'], ['A-1-0+1']);
    const left = [
      join(t.entries, '.imgbased-A-1-0_2.conf.tmp-999'), join(t.boot, 'grub/.imgbased.cfg.tmp-999'),
      join(t.boot, 'imgbased/B-2-0.tmp-999'), join(t.boot, 'imgbased/A-1-0/.vmlinuz-6.9.tmp-999'),
    ];
    for (const p of left) writeFileSync(p, 'half');
    const plan = await t.sync(['A-1-0'], ['A-1-0+1']);
    expect(kinds(plan.steps)).toEqual(left.map(() => 'remove-temp'));
    expect(plan.steps.flatMap(touches).sort()).toEqual([...left].sort());
    for (const p of left) expect(existsSync(p)).toBe(false);
  });
});

describe('boot sync with a GRUB without blscfg (the menu file grub.cfg sources)', () => {
  it('stub absent from grub.cfg: writes the menu file and runs grub-mkconfig once; unsets stale grubenv pointers', async () => {
    const t = await setup({ cfg: '# grub.cfg of Debian, before 42_imgbased\n', env: { saved_entry: 'imgbased-A-1-0_7', next_entry: 'gnulinux-simple' } });
    const plan = await t.sync(['A-1-0'], ['A-1-0+1']);
    expect(kinds(plan.steps)).toEqual(['grubenv-unset', 'settle-boot', 'copy-kernel', 'write-entry', 'write-menu', 'grub-mkconfig', 'settle-boot']);
    expect(t.mkconfigRuns()).toEqual([`-o ${t.cfg}`]);
    expect(await readGrubEnv(t.env)).toEqual({ next_entry: 'gnulinux-simple' });
    expect(menuIds(readFileSync(t.menu, 'utf8'))).toEqual(['imgbased-A-1-0_1']);
    expect(t.notes).toContain(`boot: wrote ${t.menu}`);
    // grub.cfg has the stub now: nothing left to do.
    expect((await t.sync(['A-1-0'], ['A-1-0+1'])).steps).toEqual([]);
    expect(t.mkconfigRuns()).toHaveLength(1);
  });

  it('stub present: a layer change rewrites only the menu file (newest first), never grub.cfg', async () => {
    const t = await setup({ cfg: STUB_CFG });
    await t.sync(['A-1-0'], ['A-1-0+1']);
    const plan = await t.sync(AB, ['A-1-0+1', 'A-1-0+2', 'B-2-0+1']);
    expect(kinds(plan.steps)).toEqual(['copy-kernel', 'write-entry', 'write-entry', 'write-menu', 'settle-boot']);
    expect(menuIds(readFileSync(t.menu, 'utf8'))).toEqual(['imgbased-B-2-0_1', 'imgbased-A-1-0_2', 'imgbased-A-1-0_1']);
    const removal = planSync(await t.input(AB, ['A-1-0+1', 'B-2-0+1']));
    // The menu's content is in the plan: what --dry-run shows is what is written.
    const w = removal.steps.find((s) => s.kind === 'write-menu');
    expect(w?.kind === 'write-menu' && menuIds(w.content)).toEqual(['imgbased-B-2-0_1', 'imgbased-A-1-0_1']);
    await t.sync(AB, ['A-1-0+1', 'B-2-0+1']);
    expect(readFileSync(t.menu, 'utf8')).toBe(w?.kind === 'write-menu' ? w.content : '');
    expect(t.mkconfigRuns()).toEqual([]);
    expect(readFileSync(t.cfg, 'utf8')).toBe(STUB_CFG);
  });

  it('an old-format stub gets grub-mkconfig once; blscfg, or no 42_imgbased and no stub: no menu file at all', async () => {
    const plan = async (g: GrubFixture) => planSync(await (await setup(g)).input(['A-1-0'], ['A-1-0+1'])).steps;
    const old = await plan({ cfg: STUB_CFG.replace(/imgbased-grub-stub v\d+/, 'imgbased-grub-stub v0') });
    expect(old.filter((s) => s.kind === 'grub-mkconfig')).toEqual([
      { kind: 'grub-mkconfig', output: expect.stringMatching(/\/grub\/grub\.cfg$/), why: 'its imgbased stub is v0, this imgbase writes v1' },
    ]);
    expect(kinds(await plan({ cfg: 'insmod blscfg\nblscfg\n' }))).toEqual(['copy-kernel', 'write-entry', 'settle-boot']);
    expect(kinds(await plan({ cfg: '# no stub\n', generator: false }))).toEqual(['copy-kernel', 'write-entry', 'settle-boot']);
    // A stub without the generator (uninstalled since): the menu file is still kept, grub.cfg is not regenerated.
    expect(kinds(await plan({ cfg: STUB_CFG, generator: false }))).toEqual(['copy-kernel', 'write-entry', 'write-menu', 'settle-boot']);
  });

  it('a menu file failing grub-script-check is not installed: the old one stays, the entry written before it is undone', async () => {
    const t = await setup({ cfg: STUB_CFG });
    await t.sync(['A-1-0'], ['A-1-0+1']);
    const before = readFileSync(t.menu, 'utf8');
    const seen = join(t.dir, 'checked.cfg');
    const check = script(join(t.dir, 'grub-script-check'), `cp "$1" ${seen}\necho 'syntax error at line 3' >&2\nexit 1`);
    const records = layoutRecords(['A-1-0'], ['A-1-0+1', 'A-1-0+2']);
    await expect(syncBoot(t.boot, records, t.kernels, { ...t.o, apply: { ...t.o.apply, grubScriptCheck: check } }))
      .rejects.toThrow(/failed grub-script-check \(syntax error at line 3\); .*imgbased\.cfg left as it was/);
    expect(menuIds(readFileSync(seen, 'utf8'))).toEqual(['imgbased-A-1-0_2', 'imgbased-A-1-0_1']);
    expect(readFileSync(t.menu, 'utf8')).toBe(before);
    expect(readdirSync(join(t.boot, 'grub')).sort()).toEqual(['grub.cfg', 'grubenv', 'imgbased.cfg']);
    expect(readdirSync(t.entries)).toEqual(['imgbased-A-1-0_1.conf']);
  });

  it('a first sync (no menu file yet) passes the real grub-script-check', async () => {
    const t = await setup({ cfg: STUB_CFG });
    await syncBoot(t.boot, layoutRecords(AB, ['A-1-0+1', 'B-2-0+1']), t.kernels, { ...t.o, apply: { ...t.o.apply, grubScriptCheck: requiredTool('grub-script-check') } });
    expect(menuIds(readFileSync(t.menu, 'utf8'))).toEqual(['imgbased-B-2-0_1', 'imgbased-A-1-0_1']);
  });
});

describe('listing and kernels in trees', () => {
  it('lists ours newest first with missing files, then foreign; the menu file holds only ours, newest first', async () => {
    const t = await setup({ cfg: STUB_CFG });
    await t.sync(['A-1-0'], ['A-1-0+1', 'A-1-0+2', 'A-1-0+10']);
    writeFileSync(join(t.entries, 'debian.conf'), FOREIGN);
    const l = await listBootEntries(t.boot);
    expect(l.map((e) => e.file)).toEqual(['imgbased-A-1-0_10.conf', 'imgbased-A-1-0_2.conf', 'imgbased-A-1-0_1.conf', 'debian.conf']);
    expect(l[0]!.missing).toEqual([]);
    expect(l[3]!.missing).toEqual(['/vmlinuz-6.1']);
    const menu = readFileSync(t.menu, 'utf8');
    expect(menuIds(menu)).toEqual(['imgbased-A-1-0_10', 'imgbased-A-1-0_2', 'imgbased-A-1-0_1']);
    expect(menu).not.toContain('Hand made');
  });

  it('finds kernels in /usr/lib/modules and in the live /boot', async () => {
    const root = tmp();
    const live = tmp();
    mkdirSync(join(root, 'usr/lib/modules/6.1.0-9-amd64'), { recursive: true });
    mkdirSync(join(root, 'usr/lib/modules/6.1.0-10-amd64'), { recursive: true });
    writeFileSync(join(root, 'usr/lib/modules/6.1.0-9-amd64/vmlinuz'), 'k9');
    expect((await findKernelInTree(root, null))?.version).toBe('6.1.0-9-amd64');
    writeFileSync(join(live, 'vmlinuz-6.1.0-10-amd64'), 'k10');
    writeFileSync(join(live, 'initrd.img-6.1.0-10-amd64'), 'i10');
    const k = await findKernelInTree(root, live);
    expect(k).toEqual({ version: '6.1.0-10-amd64', kernel: join(live, 'vmlinuz-6.1.0-10-amd64'), initrd: join(live, 'initrd.img-6.1.0-10-amd64'), osRelease: null });
    // Recorded for a plan: the files on the host, their total size for the /boot check.
    expect(await treeKernel(root, 'A-1-0')).toMatchObject({
      version: '6.1.0-9-amd64', kernel: { in: 'host', path: join(root, 'usr/lib/modules/6.1.0-9-amd64/vmlinuz') }, initrd: null, bytes: 2,
    });
  });
});
