// imgbase update's plan (core/plans/update), from a temporary /boot with GRUB: the new base and its first layer,
// the carried /etc and accounts inside the layer while it is still incomplete, its entry, the arm and the default;
// and the GC plan that runs after it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { entryId } from '../../src/core/bls';
import { goodTag } from '../../src/core/boot-state';
import { ImgbasedError, UsageError } from '../../src/core/errors';
import { buildInventory, TAGS, type LvRecord } from '../../src/core/inventory';
import type { PlanInput } from '../../src/core/plans/compose';
import { planAck, planGc, planPin } from '../../src/core/plans/gc';
import { planUpdate, type UpdateRequest } from '../../src/core/plans/update';
import { renderPlan, type KernelSource } from '../../src/core/steps';
import { initrdBuild } from '../../src/core/update/initrd';
import { PIN_TAG, UNCARRIED_TAG } from '../../src/core/update/gc';
import { describeReport, parseUpdateReport } from '../../src/core/update/report';
import { STUB_CFG, kernelsOf, kinds, layoutRecords, lv, makeBoot, planInput, syncBoot, tempDirs } from './helpers/plan-fixtures';

const tmp = tempDirs(afterAll);
const NOW = new Date('2026-12-01T00:00:00Z');
const OLD = new Date('2026-11-01T00:00:00Z');

function records(extra: Record<string, string[]> = {}, bases = ['A-1-0', 'B-2-0']): LvRecord[] {
  const layers: Record<string, string[]> = { 'A-1-0+1': [goodTag(OLD)], 'B-2-0+1': [goodTag(OLD)], ...extra };
  return layoutRecords(bases, [], Object.entries(layers).map(([name, t]) => lv(name, [TAGS.layer, ...t], { origin: name.slice(0, name.lastIndexOf('+')) })));
}

let host: PlanInput;
let newKernel: KernelSource;

beforeAll(async () => {
  const dir = tmp();
  const boot = makeBoot(dir, { cfg: STUB_CFG, env: {} });
  const kernels = await kernelsOf(join(dir, 'trees'), ['A-1-0', 'B-2-0', 'C-3-0']);
  newKernel = kernels.get('C-3-0')!;
  kernels.delete('C-3-0');
  await syncBoot(boot.boot, records(), kernels, { grubDDir: boot.grubDDir });
  host = await planInput(boot.boot, records(), new Map([...kernels, ['C-3-0', newKernel]]), { grubDDir: boot.grubDDir });
});

const input = (o: { running?: string | null; recs?: LvRecord[]; env?: Record<string, string>; noKernel?: boolean } = {}): PlanInput => {
  const recs = o.recs ?? records();
  const kernels = new Map(host.kernels);
  if (o.noKernel) kernels.set('C-3-0', null);
  return {
    ...host, records: recs, inv: buildInventory(recs), running: o.running === undefined ? 'B-2-0+1' : o.running, now: NOW, kernels,
    boot: { ...host.boot, grub: { ...host.boot.grub!, env: o.env ?? {} } },
  };
};

const REQ: UpdateRequest = {
  name: 'C-3-0',
  img: { path: '/var/tmp/c.img', fsType: 'ext4', fsSizeBytes: 2 ** 31, usedBytes: 700 * 2 ** 20 },
  carry: { from: '/etc', actions: [{ kind: 'take-admin', path: 'hostname', why: 'modified' }], conflicts: 0 },
  accounts: { passwd: 'root:x:0:0::/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n' },
  report: { at: '2026-12-01T00:00:00.000Z', image: '/var/tmp/c.img', from: 'B-2-0+1', carried: [{ path: 'hostname', change: 'modified' }], conflicts: [], accounts: {} },
};

describe('planUpdate', () => {
  it('base, then its layer with the carried /etc and accounts before it is complete, then entry, arm, default', () => {
    const { steps, layer } = planUpdate(input(), REQ);
    expect(layer).toBe('C-3-0+1');
    const k = kinds(steps);
    const create = k.slice(0, k.indexOf('copy-kernel'));
    expect(create).toEqual([
      'thin-lv', 'activate', 'copy-image', 'new-fs-uuid', 'deactivate', 'read-only',
      'snapshot', 'activate', 'new-fs-uuid', 'carry-etc', 'write-accounts', 'fstab-root', 'deactivate',
    ]);
    // Complete (untagged) only after everything inside it and its kernel copy; the entry after that.
    const untag = k.lastIndexOf('lv-untag');
    expect(k.indexOf('copy-kernel')).toBeLessThan(k.indexOf('lv-untag'));
    expect(k.indexOf('write-entry')).toBeGreaterThan(untag);
    const env = steps.filter((s) => s.kind === 'grubenv-set' || s.kind === 'grubenv-unset').map((s) => (s.kind === 'grubenv-set' ? `${s.key}=${s.value}` : `-${s.key}`));
    expect(env).toEqual([
      'imgbased_try=C-3-0+1', `imgbased_try_id=${entryId('C-3-0+1')}`, 'imgbased_tries=3', expect.stringMatching(/^imgbased_arm=/),
      `imgbased_fallback=${entryId('B-2-0+1')}`,
    ]);
    // A pin elsewhere goes: the new layer is the newest, so the unpinned default.
    const pinned = planUpdate(input({ env: { saved_entry: entryId('A-1-0+1') } }), REQ).steps;
    expect(pinned).toContainEqual(expect.objectContaining({ kind: 'grubenv-unset', key: 'saved_entry' }));
    expect(steps.filter((s) => s.kind === 'hook')).toEqual([]);
    // The layer records its making: base and layer filled in by the plan.
    const carry = steps.find((s) => s.kind === 'carry-etc') as Extract<typeof steps[number], { kind: 'carry-etc' }>;
    expect(parseUpdateReport(carry.report)).toEqual({ ...REQ.report, base: 'C-3-0', layer: 'C-3-0+1' });
    expect(describeReport(parseUpdateReport(carry.report)!)).toEqual([
      "C-3-0+1 was made by 'imgbase update' at 2026-12-01T00:00:00.000Z from /var/tmp/c.img (base C-3-0), carrying the state of B-2-0+1:",
      '  /etc: 0 added, 1 changed, 0 removed here, carried; 0 conflict(s)',
    ]);
  });

  it('the carry outside /etc runs after the /etc carry, inside the incomplete layer; its record lists each path', () => {
    const files = { actions: [{ kind: 'take-admin' as const, path: 'srv/www', why: 'added' as const }], conflicts: 0, bytes: 5000 };
    const report = { ...REQ.report, files: { carried: [{ path: '/srv/www', change: 'added' as const, bytes: 5000, entries: 2 }], conflicts: [], bytes: 5000 } };
    const { steps } = planUpdate(input(), { ...REQ, files, report });
    const k = kinds(steps);
    expect(k.slice(k.indexOf('carry-etc'), k.indexOf('carry-etc') + 3)).toEqual(['carry-etc', 'carry-files', 'write-accounts']);
    expect(steps).toContainEqual({ kind: 'carry-files', vg: 'HostVG', lv: 'C-3-0+1', from: '/', ...files });
    expect(renderPlan(steps).join('\n')).toContain('carry 1 change(s) of / outside /etc into HostVG/C-3-0+1 (4.88KiB)');
    const carry = steps.find((s) => s.kind === 'carry-etc') as Extract<typeof steps[number], { kind: 'carry-etc' }>;
    expect(describeReport(parseUpdateReport(carry.report)!).slice(2)).toEqual([
      '  /srv/www: added here, carried (4.88KiB, 2 entries below)',
      '  outside /etc: 1 path(s), 4.88KiB in all',
    ]);
    // Nothing to carry: no step.
    expect(kinds(planUpdate(input(), { ...REQ, files: { actions: [], conflicts: 0, bytes: 0 } }).steps)).not.toContain('carry-files');
  });

  it('carry = warn: no carry, the running layer tagged so that gc keeps its base; the record says what stayed behind', () => {
    const report = { ...REQ.report, files: { carried: [{ path: '/root/notes', change: 'added' as const, bytes: 10 }], conflicts: [], bytes: 10, left: true as const } };
    const { steps } = planUpdate(input(), { ...REQ, files: { left: true }, report });
    expect(kinds(steps)).not.toContain('carry-files');
    expect(steps).toContainEqual({ kind: 'lv-tag', vg: 'HostVG', lv: 'B-2-0+1', tag: UNCARRIED_TAG });
    const carry = steps.find((s) => s.kind === 'carry-etc') as Extract<typeof steps[number], { kind: 'carry-etc' }>;
    expect(describeReport(parseUpdateReport(carry.report)!).slice(2)).toEqual([
      "  outside /etc: 1 path(s), 10B in all, not carried (carry = warn): still on B-2-0+1, whose base gc keeps until 'imgbase gc --ack B-2-0+1'",
      '  /root/notes: added here, not carried',
    ]);
    // Already tagged (an earlier update left it so): no second tag.
    const tagged = records({ 'B-2-0+1': [goodTag(OLD), UNCARRIED_TAG] });
    expect(planUpdate(input({ recs: tagged }), { ...REQ, files: { left: true } }).steps.filter((s) => s.kind === 'lv-tag' && s.tag === UNCARRIED_TAG)).toEqual([]);
  });

  it('gc --ack: the tag goes; nothing to do for an untagged layer; an unknown layer is not found', () => {
    const tagged = records({ 'B-2-0+1': [goodTag(OLD), UNCARRIED_TAG] });
    expect(planAck(input({ recs: tagged }), 'B-2-0+1').steps).toEqual([expect.objectContaining({ kind: 'lv-untag', lv: 'B-2-0+1', tag: UNCARRIED_TAG })]);
    expect(planAck(input(), 'B-2-0+1').steps).toEqual([]);
    expect(() => planAck(input(), 'Q-1-0+1')).toThrow(/layer Q-1-0\+1 not found/);
  });

  it("an image whose initramfs lacks our module: the layer's dracut builds one inside it, and /boot gets that one", () => {
    const build = initrdBuild(newKernel.version, ['/usr/sbin/imgbase']);
    const { steps, notes } = planUpdate(input(), { ...REQ, initrd: build });
    const k = kinds(steps);
    expect(k.slice(k.indexOf('fstab-root'), k.indexOf('fstab-root') + 3)).toEqual(['fstab-root', 'build-initrd', 'deactivate']);
    expect(steps).toContainEqual({ kind: 'build-initrd', vg: 'HostVG', lv: 'C-3-0+1', version: newKernel.version, out: `boot/initrd.img-${newKernel.version}`, install: ['/usr/sbin/imgbase'] });
    const copy = steps.find((s) => s.kind === 'copy-kernel' && s.owner === 'C-3-0') as Extract<typeof steps[number], { kind: 'copy-kernel' }>;
    expect(copy.source).toMatchObject({ lv: 'C-3-0+1', initrd: { in: 'lv', path: build.out }, kernel: newKernel.kernel });
    expect(k.indexOf('build-initrd')).toBeLessThan(k.indexOf('copy-kernel'));
    expect(notes).toContain("the image's initramfs lacks imgbased's dracut module: C-3-0+1's own dracut builds one (in a chroot)");
    expect(renderPlan(steps).join('\n')).toContain(`build the initramfs of kernel ${newKernel.version} into HostVG/C-3-0+1:/boot/initrd.img-${newKernel.version} with the layer's own dracut in a chroot (copied in first: /usr/sbin/imgbase)`);
  });

  it("the admin's packages: installed into the layer after its /etc and accounts, before its fstab and initramfs", () => {
    const packages = { debs: ['/var/lib/imgbased/debs/htop_3.2.2-2_amd64.deb'], rebuild: ['vendor-agent:all'], policy: 'stop' as const };
    const { steps } = planUpdate(input(), { ...REQ, packages, initrd: initrdBuild(newKernel.version, []) });
    const k = kinds(steps);
    expect(k.slice(k.indexOf('carry-etc'), k.indexOf('carry-etc') + 5)).toEqual(['carry-etc', 'write-accounts', 'install-debs', 'fstab-root', 'build-initrd']);
    expect(steps).toContainEqual({ kind: 'install-debs', vg: 'HostVG', lv: 'C-3-0+1', ...packages });
    expect(renderPlan(steps).join('\n')).toContain('install 2 package(s) into HostVG/C-3-0+1 with its own dpkg in a chroot (1 kept .deb(s); rebuilt from this host: vendor-agent:all; refused ones: stop)');
    expect(kinds(planUpdate(input(), { ...REQ, packages: { debs: [], rebuild: [], policy: 'stop' } }).steps)).not.toContain('install-debs');
  });

  it('a new image that sorts before the newest layer is pinned as the default', () => {
    const i = input();
    const req = { ...REQ, name: 'A-0.5-0' };
    const { steps } = planUpdate({ ...i, kernels: new Map([...i.kernels, ['A-0.5-0', { ...newKernel, lv: 'A-0.5-0' }]]) }, req);
    expect(steps).toContainEqual(expect.objectContaining({ kind: 'grubenv-set', key: 'saved_entry', value: entryId('A-0.5-0+1') }));
  });

  it('refused before any step: a taken name, no running layer, an image without a kernel', () => {
    expect(() => planUpdate(input({ recs: records({}, ['A-1-0', 'B-2-0', 'C-3-0']) }), REQ)).toThrow(UsageError);
    expect(() => planUpdate(input({ recs: records({}, ['A-1-0', 'B-2-0', 'C-3-0']) }), REQ)).toThrow(/a base named C-3-0 already exists/);
    expect(() => planUpdate(input({ running: null }), REQ)).toThrow(ImgbasedError);
    expect(() => planUpdate(input({ running: null }), REQ)).toThrow(/not an imgbased layer/);
    expect(() => planUpdate(input({ noKernel: true }), REQ)).toThrow(/holds no kernel/);
  });

  it('an interrupted update (base left incomplete) is removed first, then made again', () => {
    const recs = [...records(), lv('C-3-0', [TAGS.base, TAGS.incomplete])];
    const k = kinds(planUpdate(input({ recs }), REQ).steps);
    expect(k.indexOf('remove-lv')).toBeLessThan(k.indexOf('thin-lv'));
  });
});

describe('planGc', () => {
  it('keeps the newest 2 bases, the pinned one, and the running / default / last good layer\'s base', () => {
    const recs = records({ 'C-3-0+1': [] }, ['A-1-0', 'B-2-0', 'C-3-0']);
    const none = planGc(input({ recs, running: 'C-3-0+1' }), 2);
    expect(none.decision.remove.map((r) => r.base)).toEqual(['A-1-0']);
    expect(kinds(none.steps)).toContain('remove-lv');
    expect(none.steps.filter((s) => s.kind === 'remove-lv').map((s) => (s as { lv: string }).lv)).toEqual(['A-1-0+1', 'A-1-0']);
    const pinned = planGc(input({ recs: recs.map((r) => (r.name === 'A-1-0' ? { ...r, tags: [...r.tags, PIN_TAG] } : r)), running: 'C-3-0+1' }), 2);
    expect(pinned.decision.remove).toEqual([]);
    const keep1 = planGc(input({ recs, running: 'C-3-0+1', env: { saved_entry: entryId('A-1-0+1') } }), 1);
    expect(keep1.decision.keep.map((k) => [k.base, k.why])).toEqual([
      ['A-1-0', ['the default layer A-1-0+1']],
      ['B-2-0', ['the last good layer B-2-0+1']],
      ['C-3-0', ['one of the newest 1', 'the running layer C-3-0+1']],
    ]);
  });
});

describe('planPin', () => {
  it('tags the base (untags for --unpin); nothing to do when it already is; an unknown base is not found', () => {
    expect(planPin(input(), 'A-1-0', true).steps).toEqual([{ kind: 'lv-tag', vg: 'HostVG', lv: 'A-1-0', tag: PIN_TAG }]);
    expect(planPin(input(), 'A-1-0', false).steps).toEqual([]);
    const pinned = records().map((r) => (r.name === 'A-1-0' ? { ...r, tags: [...r.tags, PIN_TAG] } : r));
    expect(planPin(input({ recs: pinned }), 'A-1-0', false).steps).toEqual([{ kind: 'lv-untag', vg: 'HostVG', lv: 'A-1-0', tag: PIN_TAG }]);
    expect(() => planPin(input(), 'Q-1-0', true)).toThrow(/base Q-1-0 not found/);
  });
});

describe('parseUpdateReport', () => {
  it('null for what is not a report (a hand-edited or truncated file)', () => {
    expect(parseUpdateReport('{')).toBeNull();
    expect(parseUpdateReport('{"layer": 3}')).toBeNull();
    expect(parseUpdateReport('null')).toBeNull();
  });
});
