import { afterEach, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { buildInventory, type Inventory, type LvRecord } from '../../src/core/inventory';
import {
  findKernelInTree, grubMenu, listBootEntries, planBootEntries, syncBootEntries, type BootfsOptions, type KernelFiles,
} from '../../src/adapters/bootfs';
import { parseBls, renderGrubStub } from '../../src/core/bls';

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

  /** A /boot with grub/ (grub.cfg given), a grub.d holding 42_imgbased, and an exec recording the commands run. */
  function grubSetup(cfg: string | null, grubEnv = '# GRUB Environment Block\n####\n') {
    const t = setup();
    const grubd = tmp();
    writeFileSync(join(grubd, '42_imgbased'), '#!/bin/sh\n');
    mkdirSync(join(t.boot, 'grub'));
    if (cfg !== null) writeFileSync(join(t.boot, 'grub/grub.cfg'), cfg);
    writeFileSync(join(t.boot, 'grub/grubenv'), grubEnv);
    const calls: string[][] = [];
    const exec = async (cmd: string, args: string[]) => {
      calls.push([cmd, ...args]);
      if (cmd === 'grub-mkconfig') writeFileSync(args[1]!, STUB_CFG);
      return { stdout: '', stderr: '', exitCode: 0 };
    };
    const more: Partial<BootfsOptions> = { grub: 'auto', grubDDir: grubd, exec, grubScriptCheck: null };
    return { ...t, grubd, calls, more, menu: join(t.boot, 'grub/imgbased.cfg'), cfg: join(t.boot, 'grub/grub.cfg') };
  }
  const STUB_CFG = `### BEGIN /etc/grub.d/42_imgbased ###\n${renderGrubStub({ bootPrefix: '', prepare: '', grubDir: 'grub', manageDefault: true })}### END ###\n`;
  const ids = (text: string): string[] => [...text.matchAll(/--id '([^']+)'/g)].map((m) => m[1]!);

  it('stub absent from grub.cfg: writes the menu file and runs grub-mkconfig once; unsets stale grubenv pointers', async () => {
    const g = grubSetup('# grub.cfg of Debian, before 42_imgbased\n', '# GRUB Environment Block\nsaved_entry=imgbased-A-1-0_7\nnext_entry=gnulinux-simple\n####\n');
    const inv = inventory(['A-1-0'], ['A-1-0+1']);
    const plan = await planBootEntries(g.opts(inv, g.more));
    expect(plan.actions.map((a) => a.kind)).toEqual(['copy-kernel', 'write-entry', 'unset-grubenv', 'write-grub-menu', 'grub-mkconfig']);
    await syncBootEntries(g.opts(inv, g.more));
    expect(g.calls).toEqual([
      ['grub-editenv', join(g.boot, 'grub/grubenv'), 'unset', 'saved_entry'],
      ['grub-mkconfig', '-o', g.cfg],
    ]);
    expect(ids(readFileSync(g.menu, 'utf8'))).toEqual(['imgbased-A-1-0_1']);
    expect(g.out).toContain(`boot: wrote ${g.menu}`);
    // grub.cfg has the stub now (and grub-editenv, faked here, dropped saved_entry): nothing left to do.
    g.calls.length = 0;
    writeFileSync(join(g.boot, 'grub/grubenv'), '# GRUB Environment Block\nnext_entry=gnulinux-simple\n####\n');
    expect((await syncBootEntries(g.opts(inv, g.more))).actions).toEqual([]);
    expect(g.calls).toEqual([]);
  });

  it('stub present: a layer change rewrites only the menu file (newest first), never grub.cfg', async () => {
    const g = grubSetup(STUB_CFG);
    await syncBootEntries(g.opts(inventory(['A-1-0'], ['A-1-0+1']), g.more));
    const plan = await planBootEntries(g.opts(inventory(['A-1-0', 'B-2-0'], ['A-1-0+1', 'A-1-0+2', 'B-2-0+1']), g.more));
    expect(plan.actions.map((a) => a.kind)).toEqual(['copy-kernel', 'write-entry', 'write-entry', 'write-grub-menu']);
    await syncBootEntries(g.opts(inventory(['A-1-0', 'B-2-0'], ['A-1-0+1', 'A-1-0+2', 'B-2-0+1']), g.more));
    expect(ids(readFileSync(g.menu, 'utf8'))).toEqual(['imgbased-B-2-0_1', 'imgbased-A-1-0_2', 'imgbased-A-1-0_1']);
    const removal = await planBootEntries(g.opts(inventory(['A-1-0', 'B-2-0'], ['A-1-0+1', 'B-2-0+1']), g.more));
    // Known content at plan time when no kernel has to be copied first.
    const w = removal.actions.find((a) => a.kind === 'write-grub-menu');
    expect(w && w.kind === 'write-grub-menu' && ids(w.content ?? '')).toEqual(['imgbased-B-2-0_1', 'imgbased-A-1-0_1']);
    await syncBootEntries(g.opts(inventory(['A-1-0', 'B-2-0'], ['A-1-0+1', 'B-2-0+1']), g.more));
    expect(ids(readFileSync(g.menu, 'utf8'))).toEqual(['imgbased-B-2-0_1', 'imgbased-A-1-0_1']);
    expect(g.calls).toEqual([]);
    expect(readFileSync(g.cfg, 'utf8')).toBe(STUB_CFG);
  });

  it('an old-format stub gets grub-mkconfig once; blscfg or no 42_imgbased and no stub: no menu file at all', async () => {
    const old = grubSetup(STUB_CFG.replace(/imgbased-grub-stub v\d+/, 'imgbased-grub-stub v0'));
    const p = await planBootEntries(old.opts(inventory(['A-1-0'], ['A-1-0+1']), old.more));
    expect(p.actions.filter((a) => a.kind === 'grub-mkconfig')).toEqual([{ kind: 'grub-mkconfig', output: old.cfg, stub: 0 }]);
    const bls = grubSetup('insmod blscfg\nblscfg\n');
    expect((await planBootEntries(bls.opts(inventory(['A-1-0'], ['A-1-0+1']), bls.more))).actions.map((a) => a.kind)).toEqual(['copy-kernel', 'write-entry']);
    const bare = grubSetup('# no stub\n');
    rmSync(join(bare.grubd, '42_imgbased'));
    expect((await planBootEntries(bare.opts(inventory(['A-1-0'], ['A-1-0+1']), bare.more))).actions.map((a) => a.kind)).toEqual(['copy-kernel', 'write-entry']);
    // A stub without the generator (uninstalled since): the menu file is still kept, grub.cfg is not regenerated.
    const orphan = grubSetup(STUB_CFG);
    rmSync(join(orphan.grubd, '42_imgbased'));
    expect((await planBootEntries(orphan.opts(inventory(['A-1-0'], ['A-1-0+1']), orphan.more))).actions.map((a) => a.kind)).toEqual(['copy-kernel', 'write-entry', 'write-grub-menu']);
  });

  it('dry run prints the menu file write and writes nothing', async () => {
    const g = grubSetup(STUB_CFG);
    const plan = await syncBootEntries(g.opts(inventory(['A-1-0'], ['A-1-0+1']), { ...g.more, dryRun: true }));
    expect(plan.actions.map((a) => a.kind)).toContain('write-grub-menu');
    expect(g.out).toContain(`would write the GRUB menu file ${g.menu} (sourced by grub.cfg)`);
    expect(existsSync(g.menu)).toBe(false);
    expect(existsSync(join(g.boot, 'loader/entries'))).toBe(false);
  });

  it('a menu file failing grub-script-check is not installed: the old one stays, the sync fails', async () => {
    const g = grubSetup(STUB_CFG);
    await syncBootEntries(g.opts(inventory(['A-1-0'], ['A-1-0+1']), g.more));
    const before = readFileSync(g.menu, 'utf8');
    const checked: string[] = [];
    const exec = async (cmd: string, args: string[]) => {
      checked.push(readFileSync(args[0]!, 'utf8'));
      return { stdout: '', stderr: 'syntax error at line 3\n', exitCode: 1 };
    };
    await expect(syncBootEntries(g.opts(inventory(['A-1-0'], ['A-1-0+1', 'A-1-0+2']), { ...g.more, exec, grubScriptCheck: '/usr/bin/grub-script-check' })))
      .rejects.toThrow(/failed grub-script-check \(syntax error at line 3\); .*imgbased\.cfg left as it was/);
    expect(ids(checked[0]!)).toEqual(['imgbased-A-1-0_2', 'imgbased-A-1-0_1']);
    expect(readFileSync(g.menu, 'utf8')).toBe(before);
    expect(readdirSync(join(g.boot, 'grub')).sort()).toEqual(['grub.cfg', 'grubenv', 'imgbased.cfg']);
  });

  it.skipIf(!existsSync('/usr/bin/grub-script-check'))('validates the menu file with the real grub-script-check', async () => {
    const g = grubSetup(STUB_CFG);
    const exec = async (cmd: string, args: string[]) => {
      try {
        execFileSync(cmd, args, { stdio: 'pipe' });
        return { stdout: '', stderr: '', exitCode: 0 };
      } catch (e) {
        return { stdout: '', stderr: String((e as { stderr?: Buffer }).stderr ?? ''), exitCode: 1 };
      }
    };
    await syncBootEntries(g.opts(inventory(['A-1-0'], ['A-1-0+1']), { ...g.more, exec, grubScriptCheck: '/usr/bin/grub-script-check' }));
    expect(ids(readFileSync(g.menu, 'utf8'))).toEqual(['imgbased-A-1-0_1']);
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
    const s = await grubMenu(boot);
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
