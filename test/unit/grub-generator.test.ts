// The grub.d generator end to end on this machine: grub/42_imgbased (POSIX sh) -> `imgbase boot --grub-stub`
// (the CLI bundled with esbuild, run by node) -> grub-script-check; the stub together with the menu file the sync
// wrote. Also `imgbase boot --list --json`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { GRUB_STUB_VERSION } from '../../src/core/grub-script';
import { fakeTree, layoutRecords, makeBoot, requiredTool, syncBoot, treeKernel } from './helpers/plan-fixtures';

const root = resolve(__dirname, '../..');
let dir = '';
let wrapper = '';
/** grub-mkconfig's shell library, which 42_imgbased sources (grub-common, like grub-script-check). */
const MKCONFIG_LIB = '/usr/share/grub/grub-mkconfig_lib';

beforeAll(async () => {
  if (!existsSync(MKCONFIG_LIB)) throw new Error(`${MKCONFIG_LIB} is missing: these tests need grub-common (build/lab-deps installs it)`);
  dir = mkdtempSync(join(tmpdir(), 'grubgen-'));
  await build({
    entryPoints: [join(root, 'src/main.ts')], outfile: join(dir, 'imgbase.cjs'), bundle: true, platform: 'node',
    format: 'cjs', target: 'node20', logLevel: 'error', supported: { 'dynamic-import': false },
  });
  wrapper = join(dir, 'imgbase');
  writeFileSync(wrapper, `#!/bin/sh\nexec "${process.execPath}" "${join(dir, 'imgbase.cjs')}" "$@"\n`);
  chmodSync(wrapper, 0o755);
  // A title with every character GRUB script treats specially.
  const tree = fakeTree(dir, 'tree', `PRETTY_NAME="Bob's \\"OS\\" \\$HOME \\\\x ; { }"\n`);
  const kernel = await treeKernel(tree, 'A-1-0');
  // A grub.cfg that already has the stub: the sync writes the menu file (checked by grub-script-check).
  const { boot } = makeBoot(dir, { cfg: `# imgbased-grub-stub v${GRUB_STUB_VERSION}\n`, env: null });
  await syncBoot(boot, layoutRecords(['A-1-0', 'B-2-0'], ['A-1-0+1', 'B-2-0+1', 'B-2-0+2']),
    new Map([['A-1-0', kernel], ['B-2-0', { ...kernel, lv: 'B-2-0' }]]),
    { grubDDir: join(root, 'grub'), cmdlineTemplate: 'ro console=ttyS0,115200 quiet', apply: { grubScriptCheck: requiredTool('grub-script-check') } });
  mkdirSync(join(boot, 'loader/entries'), { recursive: true });
  writeFileSync(join(boot, 'loader/entries/other.conf'), 'title Other\nlinux /vmlinuz\n');
}, 60_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function runGenerator(env: Record<string, string>): { stdout: string; stderr: string; status: number | null } {
  const r = spawnSync('sh', [join(root, 'grub/42_imgbased')], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', pkgdatadir: '/usr/share/grub', IMGBASE: wrapper, IMGBASED_BOOT_DIR: join(dir, 'boot'), GRUB_DEVICE_BOOT: '/dev/null', ...env },
  });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

describe('grub/42_imgbased', () => {
  it('emits only the stub: prepare function, boot prefix, source of the menu file; passes grub-script-check', () => {
    const r = runGenerator({});
    expect(r.status).toBe(0);
    expect(r.stdout.startsWith(`# imgbased-grub-stub v${GRUB_STUB_VERSION}: `)).toBe(true);
    expect(r.stdout).not.toContain('menuentry');
    // /boot here is a plain directory, so GRUB paths carry its path inside its filesystem.
    expect(r.stdout).toMatch(/^set imgbased_boot='\S*\/boot'$/m);
    expect(r.stdout).toContain('\tsource "${imgbased_boot}/grub/imgbased.cfg"\n');
    expect(r.stdout).toContain('set imgbased_manage_default=1\n');
    const f = join(dir, 'out.cfg');
    writeFileSync(f, r.stdout);
    execFileSync('grub-script-check', [f]);
  });

  it('the menu file the sync wrote: our layers newest first, stable ids, escaped titles, passing grub-script-check', () => {
    const menu = readFileSync(join(dir, 'boot/grub/imgbased.cfg'), 'utf8');
    const ids = [...menu.matchAll(/--id '([^']+)'/g)].map((m) => m[1]);
    expect(ids).toEqual(['imgbased-B-2-0_2', 'imgbased-B-2-0_1', 'imgbased-A-1-0_1']);
    expect(menu).toContain(`menuentry 'Bob'\\''s "OS" $HOME \\x ; { } (B-2-0+2)'`);
    expect(menu).toMatch(/\tlinux "\$\{imgbased_boot\}"\/imgbased\/B-2-0\/vmlinuz-6.1.0-4-amd64 root=\/dev\/HostVG\/B-2-0\+2 rd.lvm.lv=HostVG\/B-2-0\+2 ro console=ttyS0,115200 quiet imgbased.layer=B-2-0\+2 panic=10\n/);
    expect(menu).toContain("set imgbased_default='imgbased-B-2-0_2'");
    expect(menu).not.toContain('Other');
    execFileSync('grub-script-check', [join(dir, 'boot/grub/imgbased.cfg')]);
  });

  it('leaves the default alone when GRUB_DEFAULT names something explicit', () => {
    expect(runGenerator({ GRUB_DEFAULT: 'saved' }).stdout).toContain('set imgbased_manage_default=1\n');
    expect(runGenerator({ GRUB_DEFAULT: '2' }).stdout).toContain('set imgbased_manage_default=0\n');
  });

  /** An executable standing in for imgbase in the generator. */
  function fakeImgbase(name: string, script: string): string {
    const f = join(dir, name);
    writeFileSync(f, `#!/bin/sh\n${script}\n`);
    chmodSync(f, 0o755);
    return f;
  }

  it('prints nothing under blscfg, and only a comment when imgbase fails or its stub fails grub-script-check', () => {
    expect(runGenerator({ GRUB_ENABLE_BLSCFG: 'true' }).stdout).toBe('');
    const failed = runGenerator({ IMGBASE: fakeImgbase('false', 'exit 1') });
    expect(failed.status).toBe(0);
    expect(failed.stdout).toBe('# imgbased: entries omitted (imgbase boot --grub-stub failed)\n');
    const broken = runGenerator({ IMGBASE: fakeImgbase('broken', `echo "menuentry 'x' {"`) });
    expect(broken.status).toBe(0);
    expect(broken.stdout).toBe('# imgbased: entries omitted (grub-script-check failed)\n');
  });
});

describe('imgbase boot --list --json', () => {
  it('lists ours newest first with the default, then foreign entries', () => {
    const out = execFileSync(wrapper, ['boot', '--list', '--json', '--boot-dir', join(dir, 'boot')], { encoding: 'utf8' });
    const j = JSON.parse(out) as { default: string; entries: Array<{ file: string; ours: boolean; default: boolean; missing: string[] }> };
    expect(j.entries.map((e) => e.file)).toEqual(['imgbased-B-2-0_2.conf', 'imgbased-B-2-0_1.conf', 'imgbased-A-1-0_1.conf', 'other.conf']);
    expect(j.default).toBe('B-2-0+2');
    expect(j.entries[0]!.default).toBe(true);
    expect(j.entries[3]!.ours).toBe(false);
    expect(j.entries[3]!.missing).toEqual(['/vmlinuz']);
    const text = execFileSync(wrapper, ['boot', '--list', '--boot-dir', join(dir, 'boot')], { encoding: 'utf8' });
    expect(text.split('\n')[0]).toMatch(/^\*\s+B-2-0\+2\s+Bob's/);
  });
});
