import { afterEach, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { buildInventory, type Inventory, type LvRecord } from '../../src/core/inventory';
import {
  findKernelInTree, grubScript, listBootEntries, planBootEntries, syncBootEntries, type BootfsOptions, type KernelFiles,
} from '../../src/adapters/bootfs';
import { parseBls } from '../../src/core/bls';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'bootfs-'));
  dirs.push(d);
  return d;
}

function lv(name: string, tags: string[], extra: Partial<LvRecord> = {}): LvRecord {
  return {
    vg: 'HostVG', name, attr: 'Vwi-a-tz--', sizeBytes: 1 << 30, pool: 'pool', origin: '', tags, vgTags: ['imgbased:vg'],
    dataPercent: 1, metadataPercent: null, path: `/dev/HostVG/${name}`, segtype: 'thin', skipActivation: false,
    active: true, readOnly: tags.includes('imgbased:base'), uuid: name, ...extra,
  };
}
function inventory(bases: string[], layers: string[]): Inventory {
  const recs = [
    lv('pool', ['imgbased:pool'], { segtype: 'thin-pool', pool: '' }),
    lv('root', []),
    ...bases.map((b) => lv(b, ['imgbased:base'])),
    ...layers.map((l) => lv(l, ['imgbased:layer'], { origin: l.slice(0, l.lastIndexOf('+')) })),
  ];
  return buildInventory(recs);
}

/** A fake base root tree per base, with a kernel whose version depends on the base. */
function fakeKernels(root: string) {
  const calls: string[] = [];
  return {
    calls,
    withBaseKernel: async <T>(base: { name: string }, _inv: Inventory, _boot: string, fn: (k: KernelFiles | null) => Promise<T>): Promise<T> => {
      calls.push(base.name);
      const tree = join(root, base.name);
      const ver = `6.1.0-${base.name.length}-amd64`;
      mkdirSync(join(tree, 'boot'), { recursive: true });
      mkdirSync(join(tree, 'usr/lib/modules', ver), { recursive: true });
      mkdirSync(join(tree, 'etc'), { recursive: true });
      writeFileSync(join(tree, 'boot', `vmlinuz-${ver}`), `kernel of ${base.name}`);
      writeFileSync(join(tree, 'boot', `initrd.img-${ver}`), `initrd of ${base.name}`);
      writeFileSync(join(tree, 'etc/os-release'), `PRETTY_NAME="Test OS ${base.name}"\n`);
      return fn(await findKernelInTree(tree, null));
    },
  };
}

function setup() {
  const boot = tmp();
  const trees = tmp();
  const fk = fakeKernels(trees);
  const out: string[] = [];
  const opts = (inv: Inventory, more: Partial<BootfsOptions> = {}): BootfsOptions => ({
    inventory: inv, bootDir: boot, bootPrefix: '', grub: false, withBaseKernel: fk.withBaseKernel,
    cmdlineTemplate: 'BOOT_IMAGE=/vmlinuz root=/dev/mapper/HostVG-root ro console=ttyS0', print: (l) => out.push(l), ...more,
  });
  return { boot, fk, out, opts };
}

const FOREIGN = 'title Hand made  \t\nlinux /vmlinuz-6.1\n# a comment\noptions  root=/dev/sda1  quiet\n\n';

describe('syncBootEntries', () => {
  it('creates one entry per layer, copies each base kernel once, is idempotent', async () => {
    const { boot, fk, opts } = setup();
    const inv = inventory(['A-1-0', 'B-2-0'], ['A-1-0+1', 'A-1-0+2', 'B-2-0+1']);
    await syncBootEntries(opts(inv));
    const files = readdirSync(join(boot, 'loader/entries')).sort();
    expect(files).toEqual(['imgbased-A-1-0_1.conf', 'imgbased-A-1-0_2.conf', 'imgbased-B-2-0_1.conf']);
    expect(fk.calls).toEqual(['A-1-0', 'B-2-0']);
    const e = parseBls(readFileSync(join(boot, 'loader/entries/imgbased-A-1-0_2.conf'), 'utf8'));
    expect(e.title).toBe('Test OS A-1-0 (A-1-0+2)');
    expect(e.linux).toBe('/imgbased/A-1-0/vmlinuz-6.1.0-5-amd64');
    expect(e.initrd).toEqual(['/imgbased/A-1-0/initrd.img-6.1.0-5-amd64']);
    expect(e.options).toEqual(['root=/dev/HostVG/A-1-0+2 rd.lvm.lv=HostVG/A-1-0+2 ro console=ttyS0 imgbased.layer=A-1-0+2']);
    expect(readFileSync(join(boot, 'imgbased/A-1-0/vmlinuz-6.1.0-5-amd64'), 'utf8')).toBe('kernel of A-1-0');
    expect(readFileSync(join(boot, 'imgbased/A-1-0/os-release'), 'utf8')).toContain('Test OS');
    // No temp files left behind.
    expect(readdirSync(join(boot, 'loader/entries')).filter((f) => f.startsWith('.'))).toEqual([]);
    expect(readdirSync(join(boot, 'imgbased')).sort()).toEqual(['A-1-0', 'B-2-0']);

    const again = await planBootEntries(opts(inv));
    expect(again.actions).toEqual([]);
    const second = await syncBootEntries(opts(inv));
    expect(second.actions).toEqual([]);
    expect(fk.calls).toEqual(['A-1-0', 'B-2-0']);
  });

  it('removes only our entries whose layer is gone; foreign entries survive byte for byte', async () => {
    const { boot, opts } = setup();
    mkdirSync(join(boot, 'loader/entries'), { recursive: true });
    writeFileSync(join(boot, 'loader/entries/debian.conf'), FOREIGN);
    // Named like ours but without our marker: not ours.
    writeFileSync(join(boot, 'loader/entries/imgbased-A-1-0_9.conf'), 'title mine\nlinux /imgbased/A-1-0/vmlinuz-x\n');
    await syncBootEntries(opts(inventory(['A-1-0'], ['A-1-0+1', 'A-1-0+2'])));
    const plan = await syncBootEntries(opts(inventory(['A-1-0'], ['A-1-0+2'])));
    expect(plan.actions.map((a) => a.kind)).toEqual(['remove-entry']);
    const files = readdirSync(join(boot, 'loader/entries')).sort();
    expect(files).toEqual(['debian.conf', 'imgbased-A-1-0_2.conf', 'imgbased-A-1-0_9.conf']);
    expect(readFileSync(join(boot, 'loader/entries/debian.conf'), 'utf8')).toBe(FOREIGN);
  });

  it('deletes a kernel copy only when no entry (ours or foreign) uses it', async () => {
    const { boot, opts } = setup();
    await syncBootEntries(opts(inventory(['A-1-0', 'B-2-0'], ['A-1-0+1', 'B-2-0+1'])));
    // Base A keeps existing but loses its last layer: its kernel copy goes.
    await syncBootEntries(opts(inventory(['A-1-0', 'B-2-0'], ['B-2-0+1'])));
    expect(existsSync(join(boot, 'imgbased/A-1-0'))).toBe(false);
    expect(existsSync(join(boot, 'imgbased/B-2-0'))).toBe(true);
    // A foreign entry pointing into B's copy keeps it alive after B's layers are gone.
    writeFileSync(join(boot, 'loader/entries/rescue.conf'), 'title rescue\nlinux /imgbased/B-2-0/vmlinuz-6.1.0-5-amd64\n');
    await syncBootEntries(opts(inventory(['B-2-0'], [])));
    expect(existsSync(join(boot, 'imgbased/B-2-0'))).toBe(true);
    expect(readdirSync(join(boot, 'loader/entries'))).toEqual(['rescue.conf']);
  });

  it('dry run prints the plan and writes nothing', async () => {
    const { boot, out, fk, opts } = setup();
    const plan = await syncBootEntries(opts(inventory(['A-1-0'], ['A-1-0+1']), { dryRun: true }));
    expect(plan.actions.map((a) => a.kind)).toEqual(['copy-kernel', 'write-entry']);
    expect(out).toEqual([
      `would copy the kernel and initrd of A-1-0 to ${boot}/imgbased/A-1-0`,
      `would create boot entry ${boot}/loader/entries/imgbased-A-1-0_1.conf for layer A-1-0+1`,
    ]);
    expect(existsSync(join(boot, 'loader'))).toBe(false);
    expect(fk.calls).toEqual([]);
  });

  it('skips (with a warning) the layers of a base without a kernel, and retries on the next sync', async () => {
    const { boot, fk, opts } = setup();
    const some = async <T>(b: { name: string }, i: Inventory, d: string, fn: (k: KernelFiles | null) => Promise<T>) =>
      b.name === 'A-1-0' ? fn(null) : fk.withBaseKernel(b, i, d, fn);
    const inv = inventory(['A-1-0', 'B-2-0'], ['A-1-0+1', 'B-2-0+1']);
    await syncBootEntries(opts(inv, { withBaseKernel: some }));
    expect(readdirSync(join(boot, 'loader/entries'))).toEqual(['imgbased-B-2-0_1.conf']);
    const plan = await planBootEntries(opts(inv));
    expect(plan.actions.map((a) => a.kind)).toEqual(['copy-kernel', 'write-entry']);
    await syncBootEntries(opts(inv));
    expect(readdirSync(join(boot, 'loader/entries')).sort()).toEqual(['imgbased-A-1-0_1.conf', 'imgbased-B-2-0_1.conf']);
  });

  it('refuses to copy when /boot lacks space, writing nothing', async () => {
    const { boot, opts } = setup();
    const huge = async <T>(_b: unknown, _i: unknown, _d: string, fn: (k: KernelFiles | null) => Promise<T>) => {
      const f = join(boot, '..', `sparse-${Date.now()}`);
      execFileSync('truncate', ['-s', '15T', f]);
      dirs.push(f);
      return fn({ version: '1', kernel: f, initrd: null, osRelease: null });
    };
    await expect(syncBootEntries(opts(inventory(['A-1-0'], ['A-1-0+1']), { withBaseKernel: huge }))).rejects.toThrow(/not enough space/);
    expect(existsSync(join(boot, 'loader/entries'))).toBe(false);
  });

  it('keeps the options a user edited into our entry, re-forcing root/rd.lvm.lv/imgbased.layer', async () => {
    const { boot, opts } = setup();
    const inv = inventory(['A-1-0'], ['A-1-0+1']);
    await syncBootEntries(opts(inv));
    const f = join(boot, 'loader/entries/imgbased-A-1-0_1.conf');
    writeFileSync(f, readFileSync(f, 'utf8').replace(/^options .*$/m, 'options root=/dev/sda9 quiet splash'));
    await syncBootEntries(opts(inv));
    expect(parseBls(readFileSync(f, 'utf8')).options).toEqual(['root=/dev/HostVG/A-1-0+1 rd.lvm.lv=HostVG/A-1-0+1 quiet splash imgbased.layer=A-1-0+1']);
  });

  it('uses a layer-own kernel dir (kernel-install) over the base copy', async () => {
    const { boot, opts } = setup();
    const inv = inventory(['A-1-0'], ['A-1-0+1', 'A-1-0+2']);
    await syncBootEntries(opts(inv));
    mkdirSync(join(boot, 'imgbased/A-1-0+2'));
    writeFileSync(join(boot, 'imgbased/A-1-0+2/vmlinuz-6.9.0-1-amd64'), 'new kernel');
    writeFileSync(join(boot, 'imgbased/A-1-0+2/initrd.img-6.9.0-1-amd64'), 'new initrd');
    const plan = await syncBootEntries(opts(inv));
    expect(plan.actions.map((a) => a.kind)).toEqual(['write-entry']);
    const e = parseBls(readFileSync(join(boot, 'loader/entries/imgbased-A-1-0_2.conf'), 'utf8'));
    expect(e.linux).toBe('/imgbased/A-1-0+2/vmlinuz-6.9.0-1-amd64');
    expect(parseBls(readFileSync(join(boot, 'loader/entries/imgbased-A-1-0_1.conf'), 'utf8')).linux).toBe('/imgbased/A-1-0/vmlinuz-6.1.0-5-amd64');
  });

  it('regenerates the GRUB menu only when our entries or menu ids change, and unsets stale grubenv pointers', async () => {
    const { boot, opts } = setup();
    const grubd = tmp();
    writeFileSync(join(grubd, '42_imgbased'), '#!/bin/sh\n');
    mkdirSync(join(boot, 'grub'));
    writeFileSync(join(boot, 'grub/grub.cfg'), '# empty\n');
    writeFileSync(join(boot, 'grub/grubenv'), '# GRUB Environment Block\nsaved_entry=imgbased-A-1-0_7\nnext_entry=gnulinux-simple\n####\n');
    const calls: string[][] = [];
    const exec = async (cmd: string, args: string[]) => {
      calls.push([cmd, ...args]);
      if (cmd === 'grub-mkconfig') writeFileSync(args[1]!, "menuentry 'x' --id 'imgbased-A-1-0_1' {\n}\n");
      return { stdout: '', stderr: '', exitCode: 0 };
    };
    const more = { grub: 'auto' as const, grubDDir: grubd, exec };
    await syncBootEntries(opts(inventory(['A-1-0'], ['A-1-0+1']), more));
    expect(calls).toEqual([
      ['grub-editenv', join(boot, 'grub/grubenv'), 'unset', 'saved_entry'],
      ['grub-mkconfig', '-o', join(boot, 'grub/grub.cfg')],
    ]);
    calls.length = 0;
    writeFileSync(join(boot, 'grub/grubenv'), '# GRUB Environment Block\n####\n');
    await syncBootEntries(opts(inventory(['A-1-0'], ['A-1-0+1']), more));
    expect(calls).toEqual([]);
  });
});

describe('listing and grub script', () => {
  it('lists ours newest first with missing files, then foreign', async () => {
    const { boot, opts } = setup();
    await syncBootEntries(opts(inventory(['A-1-0'], ['A-1-0+1', 'A-1-0+2', 'A-1-0+10'])));
    writeFileSync(join(boot, 'loader/entries/debian.conf'), FOREIGN);
    const l = await listBootEntries(boot);
    expect(l.map((e) => e.file)).toEqual(['imgbased-A-1-0_10.conf', 'imgbased-A-1-0_2.conf', 'imgbased-A-1-0_1.conf', 'debian.conf']);
    expect(l[0]!.missing).toEqual([]);
    expect(l[3]!.missing).toEqual(['/vmlinuz-6.1']);
    const s = await grubScript({ bootDir: boot, bootPrefix: '', prepare: '', manageDefault: true });
    expect([...s.matchAll(/--id '([^']+)'/g)].map((m) => m[1])).toEqual(['imgbased-A-1-0_10', 'imgbased-A-1-0_2', 'imgbased-A-1-0_1']);
    expect(s).not.toContain('Hand made');
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
  });
});
