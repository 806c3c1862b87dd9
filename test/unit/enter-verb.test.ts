// `imgbase enter` as the CLI runs it (cli/enter), against the recording fake of the machine (helpers/fake-system),
// the chroot path (no systemd-nspawn): the layer activated, mounted read-write, the command run in it with the API
// filesystems mounted, then unmounted and deactivated; a kernel the command installed becomes the layer's own copy
// on /boot and its entry boots it.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { entryFileName } from '../../src/core/bls';
import { DEFAULT_BOOT_DIR, GRUB_D_DIR, MOUNT_DIR } from '../../src/core/paths';
import { useSpawner } from '../../src/adapters/exec';
import type { SpawnOutcome, Spawner } from '../../src/adapters/spawn';
import { spawnExeca } from '../../src/adapters/spawn-execa';
import { enterCommand } from '../../src/cli/enter';
import { FakeSystem } from './helpers/fake-system';
import { fakeTree, layoutRecords, makeBoot, STUB_CFG, tempDirs } from './helpers/plan-fixtures';

// Mount points, the lock, /boot and grub.d under temporary directories.
vi.mock('../../src/core/paths', async (importOriginal) => {
  const { mkdtempSync: mk, mkdirSync: md } = await import('node:fs');
  const { tmpdir: tmp } = await import('node:os');
  const { join: joinPath } = await import('node:path');
  const top = mk(joinPath(tmp(), 'imgbased-enter-'));
  md(joinPath(top, 'boot'));
  md(joinPath(top, 'grub.d'));
  return {
    ...(await importOriginal<typeof import('../../src/core/paths')>()),
    MOUNT_DIR: mk(joinPath(tmp(), 'imgbased-mnt-')), LOCK_DIR: joinPath(top, 'lock'),
    DEFAULT_BOOT_DIR: joinPath(top, 'boot'), GRUB_D_DIR: joinPath(top, 'grub.d'),
  };
});
vi.mock('../../src/core/enter', async (importOriginal) => ({ ...(await importOriginal<typeof import('../../src/core/enter')>()), NSPAWN: '/nonexistent/systemd-nspawn' }));

const tmp = tempDirs();
afterEach(() => {
  useSpawner(spawnExeca);
  vi.restoreAllMocks();
});
afterAll(() => {
  rmSync(MOUNT_DIR, { recursive: true, force: true });
  rmSync(dirname(DEFAULT_BOOT_DIR), { recursive: true, force: true });
});

const LAYER = 'A-1-0+1';
const NEW = '6.2.0-1-amd64';
const ok: SpawnOutcome = { stdout: '', stderr: '', exitCode: 0, notFound: false };

/** Base A-1-0 with its kernel, layer A-1-0+1 (inactive) of it; `command` plays what runs in the chroot. */
async function machine(command: (dir: string, argv: string[]) => number): Promise<{ fake: FakeSystem; boot: string; ran: string[][] }> {
  const dir = tmp();
  rmSync(DEFAULT_BOOT_DIR, { recursive: true, force: true });
  rmSync(GRUB_D_DIR, { recursive: true, force: true });
  const b = makeBoot(join(dir, 'host'), { cfg: STUB_CFG, env: {} });
  // The mocked paths name fixed directories: the fixture's /boot and grub.d are moved there.
  renameSync(b.boot, DEFAULT_BOOT_DIR);
  renameSync(b.grubDDir, GRUB_D_DIR);
  const base = fakeTree(dir, 'A-1-0');
  const records = layoutRecords(['A-1-0'], [LAYER]).map((r) => (r.name === LAYER ? { ...r, active: false, skipActivation: true } : r));
  const fake = new FakeSystem({ dir, records, trees: { 'A-1-0': base, [LAYER]: base }, boot: DEFAULT_BOOT_DIR, mountRoot: MOUNT_DIR });
  const ran: string[][] = [];
  const spawner: Spawner = async (req) => {
    const api = req.cmd === 'mount' && (req.args[0] === '-t' || req.args[0] === '--bind');
    if (api || (req.cmd === 'umount' && /\/(proc|sys|dev|run)$/.test(req.args.at(-1) ?? ''))) return ok;
    // GRUB's tools by their full path (the applier looks them up): run for real on the temporary /boot.
    if (/\/grub-(script-check|editenv)$/.test(req.cmd)) return spawnExeca(req);
    if (req.cmd === 'chroot') {
      ran.push(req.args.slice(1));
      expect(req.interactive).toBe(true);
      expect(req.env.IMGBASED_ENTER).toBe(LAYER);
      return { ...ok, exitCode: command(req.args[0]!, req.args.slice(1)) };
    }
    return fake.spawner(req);
  };
  useSpawner(spawner);
  return { fake, boot: DEFAULT_BOOT_DIR, ran };
}

async function enter(argv: string[], dryRun = false): Promise<{ rc: number; out: string }> {
  const out: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  const rc = await enterCommand(argv, { json: false, dryRun, debug: false });
  vi.restoreAllMocks();
  return { rc, out: out.join('\n') };
}

describe('imgbase enter LAYER -- COMMAND', () => {
  it("runs the command in the layer and returns its status; the layer's new kernel becomes its entry's", async () => {
    const { fake, boot, ran } = await machine((dir) => {
      writeFileSync(join(dir, 'boot', `vmlinuz-${NEW}`), 'a new kernel');
      writeFileSync(join(dir, 'boot', `initrd.img-${NEW}`), 'its initrd');
      mkdirSync(join(dir, 'usr/lib/modules', NEW), { recursive: true });
      return 7;
    });
    const { rc, out } = await enter([LAYER, '--', 'apt-get', 'install', '-y', 'linux-image-amd64']);
    expect(rc).toBe(7);
    expect(ran).toEqual([['apt-get', 'install', '-y', 'linux-image-amd64']]);
    expect(out).toBe(`enter: ${LAYER}'s kernel or initramfs changed: its boot entry now boots kernel ${NEW}`);
    expect(readFileSync(join(boot, 'imgbased', LAYER, `vmlinuz-${NEW}`), 'utf8')).toBe('a new kernel');
    expect(readFileSync(join(boot, 'loader/entries', entryFileName(LAYER)), 'utf8')).toContain(`/imgbased/${LAYER}/vmlinuz-${NEW}`);
    const all = fake.changes();
    const cmds = all.filter((l) => /^(lvm lvchange|mount)/.test(l) && l.includes(LAYER));
    expect(cmds).toEqual([
      `lvm lvchange -ay -K HostVG/${LAYER}`,
      `mount -o rw /dev/HostVG/${LAYER} $MNT`,
      // Then the copy reads the new kernel from the layer, read-only, once the read-write mount is gone.
      `lvm lvchange -ay -K HostVG/${LAYER}`,
      `mount -o ro /dev/HostVG/${LAYER} $MNT`,
      `lvm lvchange -an HostVG/${LAYER}`,
      `lvm lvchange -an HostVG/${LAYER}`,
    ]);
    expect(all[all.indexOf(`mount -o rw /dev/HostVG/${LAYER} $MNT`) + 1]).toBe('umount $MNT');
    expect(fake.records().find((r) => r.name === LAYER)?.active).toBe(false);
  });

  it('nothing changed in the kernel: no re-sync, no note', async () => {
    const { boot, ran } = await machine(() => 0);
    const { rc, out } = await enter([LAYER, '--', 'true']);
    expect(rc).toBe(0);
    expect(ran).toEqual([['true']]);
    expect(out).toBe('');
    expect(existsSync(join(boot, 'imgbased', LAYER))).toBe(false);
  });

  it('--dry-run: says what it would do, runs nothing', async () => {
    const { ran, fake } = await machine(() => 0);
    const { rc, out } = await enter([LAYER], true);
    expect(rc).toBe(0);
    expect(ran).toEqual([]);
    expect(out.split('\n')[0]).toBe(`would activate HostVG/${LAYER}`);
    expect(fake.changes().filter((l) => !l.startsWith('lvm lvs'))).toEqual([]);
  });
});
