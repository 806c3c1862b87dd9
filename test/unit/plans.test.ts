// The pure verb planners (core/plans/verbs) and compose's ordering rules, from /boot snapshots read off a temporary
// /boot (what the plans do to a system when applied: apply-verbs.test.ts). Every plan keeps the crash-safety order
// (README, "Crash safety"): leftovers first, removed LVs tagged and unhooked before they go, new LVs incomplete until
// they are whole and only then named by an entry, /boot flushed after each group of writes, kernel copies removed last.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { entryId } from '../../src/core/bls';
import { TAGS } from '../../src/core/inventory';
import type { Plan, PlanInput } from '../../src/core/plans/compose';
import { planBaseAdd, planBaseRemove, planBootChoice, planLayerAdd, planLayerRemove, planLayoutInit, planSync } from '../../src/core/plans/verbs';
import { describeStep, rewriteFstabRoot, touches, type KernelSource, type Step } from '../../src/core/steps';
import type { DataAddRequest } from '../../src/core/plans/data-volume';
import { useSpawner } from '../../src/adapters/exec';
import { spawnExeca } from '../../src/adapters/spawn-execa';
import { GiB, HOST, NVR, VERBS, makeFresh, makeHost, type Machine } from './helpers/host';
import { STUB_CFG, VG, kinds, layoutRecords, lv, makeBoot, planInput, syncBoot, tempDirs, type BootDir } from './helpers/plan-fixtures';

const tmp = tempDirs(afterAll);

const machines: Partial<Record<'host' | 'fresh', Machine>> = {};
let host: PlanInput;
let fresh: PlanInput;
let hostBoot: BootDir;
let kernels: Map<string, KernelSource | null>;

beforeAll(async () => {
  machines.host = await makeHost(tmp(), 'host');
  machines.fresh = await makeFresh(tmp(), 'host');
  // The rest only plans (and syncs a /boot of its own for real).
  useSpawner(spawnExeca);
  ({ input: host, boot: hostBoot, kernels } = machines.host);
  fresh = machines.fresh.input;
});

/** What each verb creates and removes (the host's leftovers included) and which kernel copies it drops. */
const SHAPE: Record<string, { creates: string[]; removes: string[]; drops: string[] }> = {
  'layout --init': { creates: [NVR, `${NVR}+1`], removes: [NVR], drops: [] },
  'base --add (empty)': { creates: ['D-4-0'], removes: ['B-2-0+2', 'C-3-0'], drops: [] },
  'base --add --from (retry)': { creates: ['C-3-0'], removes: ['B-2-0+2', 'C-3-0'], drops: [] },
  'base --remove': { creates: [], removes: ['B-2-0+2', 'C-3-0', 'A-1-0+2', 'A-1-0+1', 'A-1-0'], drops: ['imgbased/A-1-0', 'imgbased/A-1-0+2'] },
  'layer --add': { creates: ['E-5-0+1'], removes: ['B-2-0+2', 'C-3-0'], drops: [] },
  'layer --add BASE': { creates: ['A-1-0+3'], removes: ['B-2-0+2', 'C-3-0'], drops: [] },
  'layer --add LAYER': { creates: ['B-2-0+3'], removes: ['B-2-0+2', 'C-3-0'], drops: [] },
  'layer --remove': { creates: [], removes: ['B-2-0+2', 'C-3-0', 'A-1-0+2'], drops: ['imgbased/A-1-0+2'] },
  'boot --set-default': { creates: [], removes: ['B-2-0+2', 'C-3-0'], drops: [] },
  'boot --set-default latest': { creates: [], removes: ['B-2-0+2', 'C-3-0'], drops: [] },
  'boot --next': { creates: [], removes: ['B-2-0+2', 'C-3-0'], drops: [] },
  'boot --sync / check --repair': { creates: [], removes: ['B-2-0+2', 'C-3-0'], drops: [] },
  // The layer's own kernel copy replaces its base's, which no entry uses then.
  'kernel-install add': { creates: [], removes: ['B-2-0+2', 'C-3-0'], drops: ['imgbased/A-1-0'] },
  'kernel-install add (update)': {
    creates: [], removes: ['B-2-0+2', 'C-3-0'], drops: ['imgbased/A-1-0+2/initrd.img-6.8.0-1-amd64', 'imgbased/A-1-0+2/vmlinuz-6.8.0-1-amd64'],
  },
  'kernel-install remove': { creates: [], removes: ['B-2-0+2', 'C-3-0'], drops: ['imgbased/A-1-0+2'] },
};

const BOOT_WRITES = new Set<Step['kind']>(['write-entry', 'remove-entry', 'write-menu', 'grub-mkconfig', 'grubenv-set', 'grubenv-unset', 'remove-kernel-files']);
const at = (steps: Step[], pred: (s: Step) => boolean): number[] => steps.flatMap((s, i) => (pred(s) ? [i] : []));
const quoted = (layer: string): string => `'${entryId(layer)}'`;
/** A step that makes /boot name `layer` (an entry for it, a menu entry, a grubenv pointer). */
const names = (s: Step, layer: string): boolean =>
  (s.kind === 'write-entry' && s.layer === layer) || (s.kind === 'write-menu' && s.content.includes(quoted(layer)))
  || (s.kind === 'grubenv-set' && s.value === entryId(layer));
/** A step that stops /boot naming `layer`. */
const unhooks = (s: Step, layer: string): boolean =>
  (s.kind === 'remove-entry' && s.layer === layer) || (s.kind === 'grubenv-unset' && s.previous === entryId(layer))
  || (s.kind === 'write-menu' && (s.previous ?? '').includes(quoted(layer)) && !s.content.includes(quoted(layer)));

describe.each(VERBS)('$name', (v) => {
  let memo: { input: PlanInput; plan: Plan } | null = null;
  const get = (): { input: PlanInput; plan: Plan; steps: Step[] } => {
    const m = machines[v.on]!;
    memo ??= { input: m.input, plan: v.plan(m) };
    return { ...memo, steps: memo.plan.steps };
  };
  const shape = SHAPE[v.name]!;

  it('leftover temporary files are removed first', () => {
    const { input, steps } = get();
    expect(input.boot.temps.length).toBeGreaterThan(0);
    const n = input.boot.temps.length;
    expect(steps.slice(0, n)).toEqual(input.boot.temps.map((path) => ({ kind: 'remove-temp', path })));
    expect(at(steps.slice(n), (s) => s.kind === 'remove-temp')).toEqual([]);
  });

  it('LVs tagged incomplete in the snapshot are removed (repair)', () => {
    const { input, steps } = get();
    const left = input.records.filter((r) => r.tags.includes(TAGS.incomplete)).map((r) => r.name);
    expect(left.length).toBeGreaterThan(0);
    for (const name of left) expect(at(steps, (s) => s.kind === 'remove-lv' && s.lv === name)).toHaveLength(1);
  });

  it('a new LV keeps imgbased:incomplete until after its last creation step and every kernel copy; no entry names it before', () => {
    const { steps } = get();
    // The verbs that make no LV (removals, boot choices, kernel-install) must not make one.
    expect(steps.flatMap((s) => (s.kind === 'snapshot' || s.kind === 'thin-lv' ? [s.name] : []))).toEqual(shape.creates);
    for (const [i, c] of steps.entries()) {
      if (c.kind !== 'snapshot' && c.kind !== 'thin-lv') continue;
      expect(c.tags).toContain(TAGS.incomplete);
      const untag = at(steps, (s) => s.kind === 'lv-untag' && s.lv === c.name && s.tag === TAGS.incomplete);
      expect(untag).toHaveLength(1);
      const u = untag[0]!;
      const work = at(steps, (s) => s.kind !== 'lv-untag' && touches(s).includes(`${VG}/${c.name}`)).filter((j) => j >= i);
      expect(Math.max(...work)).toBeLessThan(u);
      for (const j of at(steps, (s) => s.kind === 'copy-kernel')) expect(j).toBeLessThan(u);
      for (const j of at(steps, (s) => names(s, c.name))) expect(j).toBeGreaterThan(u);
    }
  });

  it('an LV that goes is tagged incomplete, then unhooked (entries, menu, grubenv) and /boot flushed, then removed', () => {
    const { input, steps } = get();
    const wasIncomplete = new Set(input.records.filter((r) => r.tags.includes(TAGS.incomplete)).map((r) => r.name));
    const env = input.boot.grub?.env ?? {};
    expect(steps.flatMap((s) => (s.kind === 'remove-lv' ? [s.lv] : []))).toEqual(shape.removes);
    for (const [r, s] of steps.entries()) {
      if (s.kind !== 'remove-lv') continue;
      const tag = wasIncomplete.has(s.lv) ? -1 : at(steps, (x) => x.kind === 'lv-tag' && x.lv === s.lv && x.tag === TAGS.incomplete)[0];
      expect(tag).toBeDefined();
      const unhook = at(steps, (x) => unhooks(x, s.lv));
      for (const j of unhook) {
        expect(j).toBeGreaterThan(tag!);
        expect(j).toBeLessThan(r);
      }
      // Everything on /boot that named it is covered.
      if (input.boot.entries.some((e) => e.layer === s.lv)) expect(unhook.some((j) => steps[j]!.kind === 'remove-entry')).toBe(true);
      if (input.boot.grub?.menu?.includes(quoted(s.lv))) expect(unhook.some((j) => steps[j]!.kind === 'write-menu')).toBe(true);
      for (const key of ['saved_entry', 'next_entry']) {
        if (env[key] === entryId(s.lv)) expect(unhook.some((j) => steps[j]!.kind === 'grubenv-unset')).toBe(true);
      }
      if (unhook.length > 0) expect(kinds(steps.slice(Math.max(...unhook), r))).toContain('settle-boot');
      for (const later of steps.slice(r + 1)) expect(names(later, s.lv)).toBe(false);
    }
  });

  it('kernel copies: exactly those no entry uses any more are removed, after every entry and menu write', () => {
    const { steps } = get();
    const gc = at(steps, (s) => s.kind === 'remove-kernel-files');
    // Only removals and kernel-install leave a kernel copy unused; the other verbs must remove none.
    expect(gc.flatMap((i) => touches(steps[i]!)).map((p) => p.replace(`${hostBoot.boot}/`, ''))).toEqual(shape.drops);
    const writes = at(steps, (s) => s.kind === 'write-entry' || s.kind === 'write-menu');
    expect(writes.length).toBeGreaterThan(0);
    if (gc.length > 0) expect(Math.min(...gc)).toBeGreaterThan(Math.max(...writes));
  });

  it('a settle-boot follows each group of /boot writes, and only those', () => {
    const { steps } = get();
    for (const [i, s] of steps.entries()) {
      if (BOOT_WRITES.has(s.kind) && !BOOT_WRITES.has(steps[i + 1]?.kind ?? 'settle-boot')) expect(steps[i + 1]?.kind).toBe('settle-boot');
      if (s.kind === 'copy-kernel') expect(kinds(steps.slice(i))).toContain('settle-boot');
      if (s.kind === 'settle-boot') expect(BOOT_WRITES.has(steps[i - 1]!.kind)).toBe(true);
    }
  });

  it('every step says what it does and what it touches', () => {
    for (const s of get().steps) {
      expect(describeStep(s)).toMatch(/\w/);
      expect(touches(s).length).toBeGreaterThan(0);
    }
  });
});

describe('plans in detail', () => {
  it('base --remove: tag, unhook, flush, remove (interrupted LVs too), kernel copies last', () => {
    const { steps } = planBaseRemove(host, 'A-1-0');
    const e = (l: string): string => `remove-entry $BOOT/loader/entries/${entryId(l)}.conf`;
    expect(steps.map((s) => `${s.kind} ${touches(s).join(' ')}`.replace(hostBoot.boot, '$BOOT'))).toEqual([
      'remove-temp $BOOT/imgbased/E-5-0.tmp-999', 'remove-temp $BOOT/loader/entries/.imgbased-B-2-0_3.conf.tmp-999',
      'lv-tag HostVG/A-1-0+2', 'lv-tag HostVG/A-1-0+1', 'lv-tag HostVG/A-1-0',
      e('A-1-0+1'), e('A-1-0+2'), e('B-2-0+2'),
      'write-menu $BOOT/grub/imgbased.cfg', 'grubenv-unset $BOOT/grub/grubenv', 'grubenv-unset $BOOT/grub/grubenv', 'settle-boot $BOOT',
      'remove-lv HostVG/B-2-0+2', 'remove-lv HostVG/C-3-0', 'remove-lv HostVG/A-1-0+2', 'remove-lv HostVG/A-1-0+1', 'remove-lv HostVG/A-1-0',
      'remove-kernel-files $BOOT/imgbased/A-1-0', 'remove-kernel-files $BOOT/imgbased/A-1-0+2', 'settle-boot $BOOT',
    ]);
  });

  it('layer --add: the kernel copy and the LV are complete before the entry and the menu name the layer', () => {
    const plan = planLayerAdd(host, undefined);
    expect(plan.name).toBe('E-5-0+1');
    expect(plan.origin).toBe('E-5-0');
    const k = kinds(plan.steps).filter((x) => x !== 'remove-temp' && x !== 'remove-entry' && x !== 'grubenv-unset');
    expect(k).toEqual([
      'write-menu', 'settle-boot', 'remove-lv', 'remove-lv',
      'snapshot', 'activate', 'new-fs-uuid', 'fstab-root', 'deactivate', 'copy-kernel', 'lv-untag',
      'write-entry', 'write-menu', 'settle-boot',
    ]);
    expect(plan.notes).toEqual([]);
  });

  it('layer --add: the new layer mounts /boot and the ESP as the running system does (a base from another image)', () => {
    const mounts = ['UUID=1111-aaaa /boot ext4 defaults 0 2', 'UUID=AB12-CD34 /boot/efi vfat umask=0077 0 1'];
    const step = planLayerAdd({ ...host, bootMounts: mounts }, undefined).steps.find((s) => s.kind === 'fstab-root')!;
    expect(step).toEqual({ kind: 'fstab-root', vg: 'HostVG', lv: 'E-5-0+1', mounts });
    expect(describeStep(step)).toBe('point / in HostVG/E-5-0+1:/etc/fstab at /dev/HostVG/E-5-0+1, mount /boot and /boot/efi as this system does');
    expect(planLayerAdd(host, undefined).steps.find((s) => s.kind === 'fstab-root')).toMatchObject({ mounts: [] });
  });

  it('base --add after a kill -9: the incomplete LV of that name is removed and created again', () => {
    const { steps } = planBaseAdd(host, 'C-3-0', 4 * GiB, machines.host!.image);
    const rm = at(steps, (s) => s.kind === 'remove-lv' && s.lv === 'C-3-0');
    const mk = at(steps, (s) => s.kind === 'thin-lv' && s.name === 'C-3-0');
    expect(rm[0]).toBeLessThan(mk[0]!);
    expect(kinds(steps.slice(mk[0]))).toEqual(['thin-lv', 'activate', 'copy-image', 'grow-fs', 'new-fs-uuid', 'deactivate', 'read-only', 'lv-untag']);
    const complete = HOST.map((r) => (r.name === 'C-3-0' ? { ...r, tags: [TAGS.base] } : r));
    expect(() => planBaseAdd({ ...host, records: complete }, 'C-3-0', 4 * GiB, null)).toThrow(/^base --add: an LV named C-3-0 already exists/);
  });

  it('layout --init after a kill -9: tags first, the half-made base removed, one menu write and grub-mkconfig once', () => {
    const plan = planLayoutInit(fresh, { vg: VG, pool: 'pool', source: 'root', nvr: NVR });
    expect(plan.layer).toBe(`${NVR}+1`);
    expect(kinds(plan.steps)).toEqual([
      'remove-temp', 'vg-tag', 'lv-tag', 'lv-tag', 'remove-lv',
      'snapshot', 'activate', 'new-fs-uuid', 'deactivate', 'read-only', 'snapshot', 'activate', 'new-fs-uuid', 'fstab-root', 'deactivate',
      'copy-kernel', 'lv-untag', 'lv-untag', 'write-entry', 'write-menu', 'grub-mkconfig', 'settle-boot',
    ]);
  });

  it('layout --init --data: the volume made and filled first, its line in the base, completed before base and layer', () => {
    const req = (path: string, o: Partial<DataAddRequest> = {}): DataAddRequest => ({
      path, sizeBytes: 8 * GiB, fsType: 'ext4', current: { usedBytes: 4096 }, mountedFrom: null, fstab: { file: '/etc/fstab', text: 'UUID=x / ext4 defaults 0 1\n' }, ...o,
    });
    const plan = planLayoutInit(fresh, { vg: VG, pool: 'pool', source: 'root', nvr: NVR, data: [req('/home')] });
    const k = kinds(plan.steps);
    expect(k.slice(k.indexOf('remove-lv') + 1, k.indexOf('read-only') + 1)).toEqual([
      'thin-lv', 'activate', 'mkfs', 'copy-dir', 'snapshot', 'activate', 'new-fs-uuid', 'fstab-line', 'deactivate', 'read-only',
    ]);
    expect(plan.steps).toContainEqual({ kind: 'fstab-line', vg: VG, lv: NVR, line: `/dev/${VG}/data-home /home ext4 defaults 0 2` });
    const untags = plan.steps.filter((s) => s.kind === 'lv-untag').map((s) => (s as { lv: string }).lv);
    expect(untags).toEqual(['data-home', NVR, `${NVR}+1`]);
    // Refused before any step, like data --add: an image-owned path, a path given twice, a mount point, an fstab line.
    const refused = (data: DataAddRequest[]): unknown => planLayoutInit(fresh, { vg: VG, pool: 'pool', source: 'root', nvr: NVR, data });
    expect(() => refused([req('/var')])).toThrow(/^layout --init --data: \/var holds the image's package database/);
    expect(() => refused([req('/home'), req('/home')])).toThrow(/\/home given twice/);
    expect(() => refused([req('/home', { mountedFrom: '/dev/vdb1' })])).toThrow(/already a mount point/);
    expect(() => refused([req('/home', { fstab: { file: '/etc/fstab', text: '/dev/vdb1 /home ext4 defaults 0 2\n' } })])).toThrow(/already mounts \/dev\/vdb1 on \/home/);
    // A run cut after the volume was completed: the re-run uses it as it is.
    const left = { ...fresh, records: [...fresh.records, lv('data-home', [TAGS.data])] };
    const again = planLayoutInit(left, { vg: VG, pool: 'pool', source: 'root', nvr: NVR, data: [req('/home')] });
    expect(again.steps.some((s) => s.kind === 'thin-lv')).toBe(false);
    expect(again.steps).toContainEqual(expect.objectContaining({ kind: 'fstab-line', line: `/dev/${VG}/data-home /home ext4 defaults 0 2` }));
  });

  it('a foreign file named imgbased-<layer>.conf is never touched and is reported', async () => {
    const b = makeBoot(tmp(), { cfg: STUB_CFG, env: {} });
    await syncBoot(b.boot, layoutRecords(['A-1-0'], ['A-1-0+1']), kernels, { grubDDir: b.grubDDir });
    const foreign = join(b.boot, 'loader/entries', 'imgbased-A-1-0_2.conf');
    writeFileSync(foreign, 'title hand made\nlinux /vmlinuz\n');
    const input = await planInput(b.boot, layoutRecords(['A-1-0'], ['A-1-0+1', 'A-1-0+2']), kernels, { grubDDir: b.grubDDir });
    const note = `layer A-1-0+2 has no boot entry: imgbased-A-1-0_2.conf in ${join(b.boot, 'loader/entries')} was not written by imgbase and is left alone`;
    for (const plan of [planSync(input), planLayerRemove(input, 'A-1-0+2'), planLayerAdd(input, 'A-1-0'), planBootChoice(input, 'saved_entry', 'A-1-0+1')]) {
      expect(plan.steps.flatMap(touches)).not.toContain(foreign);
      expect(plan.steps.some((s) => names(s, 'A-1-0+2'))).toBe(false);
    }
    expect(planSync(input).notes).toEqual([note]);
    expect(planLayerAdd(input, 'A-1-0').notes).toEqual([note]);
    expect(() => planBootChoice(input, 'next_entry', 'A-1-0+2')).toThrow(/^layer A-1-0\+2 has no boot entry \(layer A-1-0\+2 has no boot entry: imgbased-A-1-0_2\.conf/);
  });

  it('/boot too small for the kernel copy: layer --add refuses before planning any step', () => {
    const need = kernels.get('E-5-0')!.bytes;
    const full = { ...host, boot: { ...host.boot, freeBytes: 16 * 2 ** 20 + need - 1 } };
    expect(() => planLayerAdd(full, 'E-5-0')).toThrow(/^not enough space on /);
    const enough = { ...host, boot: { ...host.boot, freeBytes: 16 * 2 ** 20 + need } };
    expect(kinds(planLayerAdd(enough, 'E-5-0').steps)).toContain('copy-kernel');
  });

  it('a layer of a base without a filesystem is a plain thin snapshot without an entry, with one note', () => {
    const empty = { ...host, kernels: new Map([...kernels, ['E-5-0', null]]), fsTypes: new Map([['E-5-0', '']]) };
    const plan = planLayerAdd(empty, 'E-5-0');
    const made = plan.steps.filter((s) => touches(s).includes(`${VG}/E-5-0+1`));
    expect(made).toEqual([
      { kind: 'snapshot', vg: VG, origin: 'E-5-0', name: 'E-5-0+1', tags: [TAGS.layer, TAGS.incomplete] },
      { kind: 'lv-untag', vg: VG, lv: 'E-5-0+1', tag: TAGS.incomplete },
    ]);
    expect(plan.steps.some((s) => s.kind === 'copy-kernel' || names(s, 'E-5-0+1'))).toBe(false);
    expect(plan.notes).toEqual(['base E-5-0 holds no filesystem: layer E-5-0+1 is a plain thin snapshot and gets no boot entry']);
    // A filesystem without a kernel: a full layer, still no entry, and the note says why.
    const noKernel = planLayerAdd({ ...empty, fsTypes: new Map([['E-5-0', 'ext4']]) }, 'E-5-0');
    expect(kinds(noKernel.steps.filter((s) => touches(s).includes(`${VG}/E-5-0+1`)))).toEqual(['snapshot', 'activate', 'new-fs-uuid', 'fstab-root', 'deactivate', 'lv-untag']);
    expect(noKernel.notes).toEqual(['base E-5-0 holds no kernel: layer E-5-0+1 gets no boot entry']);
  });

  it('the running layer and its base are refused', () => {
    const running = { ...host, running: 'A-1-0+1' };
    expect(() => planLayerRemove(running, 'A-1-0+1')).toThrow(/running layer/);
    expect(() => planBaseRemove(running, 'A-1-0')).toThrow(/has the running layer A-1-0\+1/);
  });
});

describe('rewriteFstabRoot', () => {
  it('replaces only the device of the / line', () => {
    const before = '# comment /\nUUID=abc / ext4 errors=remount-ro 0 1\nUUID=def /boot ext4 defaults 0 2\n';
    expect(rewriteFstabRoot(before, '/dev/HostVG/X-1-0+2')).toBe(
      '# comment /\n/dev/HostVG/X-1-0+2 / ext4 errors=remount-ro 0 1\nUUID=def /boot ext4 defaults 0 2\n',
    );
  });
  it('keeps a file without a / line byte for byte', () => {
    const t = 'proc /proc proc defaults 0 0\n\n';
    expect(rewriteFstabRoot(t, '/dev/x')).toBe(t);
  });
});

describe('repair of a layout --init cut right after the VG tag', () => {
  it("tags the VG's only thin pool, as the plan's first step", async () => {
    const b = makeBoot(tmp(), { cfg: STUB_CFG, env: {} });
    const records = [lv('pool', [], { segtype: 'thin-pool', pool: '', sizeBytes: 64 * GiB }), lv('root', [])];
    const input = await planInput(b.boot, records, new Map(), { grubDDir: b.grubDDir });
    expect(input.inv.pool?.name).toBe('pool');
    const tags = (p: Plan): Step[] => p.steps.filter((s) => s.kind === 'lv-tag' && s.lv === 'pool');
    expect(tags(planSync(input))).toEqual([{ kind: 'lv-tag', vg: VG, lv: 'pool', tag: TAGS.pool }]);
    expect(planSync(input).steps[0]).toEqual({ kind: 'lv-tag', vg: VG, lv: 'pool', tag: TAGS.pool });
  });
});
