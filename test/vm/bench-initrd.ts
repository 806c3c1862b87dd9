// Benchmark (issue 4): the initrd phase with imgbased.layer=X vs stock root=/dev/HostVG/X rd.lvm.lv=HostVG/X on the
// same disk and the same initramfs, interleaved boots; and the initramfs size with and without the module.
// Not a vitest file (not in the default run). Run:  build/run-ts test/vm/bench-initrd.ts [--rounds N] [--out FILE]
// Sizes only (host-side, seconds): build/run-ts test/vm/bench-initrd.ts --sizes-only [--defaults]
import minimist from 'minimist';
import { execa } from 'execa';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { inChroot, safeRm } from './lab/chroot.js';
import { ensureImage, unpackImage } from './lab/image.js';
import { releaseFromEnv } from './lab/release.js';
import { repoRoot } from './lab/paths.js';
import { INITRD_DRIVERS } from './lab/project.js';
import { boot, ensureLab, expectDone, expectMarker } from './lab/index.js';
import { bootTimes, MIDDLE, PROBE_SCRIPT, VG } from './initrd-fixture.js';
import { layeredOverlay } from './initrd-helpers.js';

/** The compression of an initramfs, from its first bytes. */
function compression(file: string): string {
  const head = readFileSync(file).subarray(0, 6).toString('hex');
  const magic: Array<[string, string]> = [['1f8b', 'gzip'], ['28b52ffd', 'zstd'], ['fd377a585a00', 'xz'], ['02214c18', 'lz4'], ['070701', 'none (cpio)']];
  return magic.find(([m]) => head.startsWith(m))?.[1] ?? `unknown (${head})`;
}

/**
 * Initramfs size with and without the module: the guest's own dracut in a chroot of the guest tree with the project
 * installed (build/install); --omit imgbased for the other. With `defaults`, the release's own dracut settings (the
 * lab's config files removed, a generic image: --no-hostonly), else the lab's flags for the project initramfs.
 * Host-side (seconds, not the minutes dracut takes under TCG).
 */
async function initramfsSizes(cache: string, defaults = false): Promise<{ release: string; withModule: number; withoutModule: number; compress: string }> {
  const release = releaseFromEnv();
  const img = await ensureImage(cache, release, (l) => process.stderr.write(`${l}\n`));
  const tree = path.join(repoRoot(), 'test-output', 'bench-initrd-tree');
  try {
    await unpackImage(img, tree);
    await execa('sh', [path.join(repoRoot(), 'build', 'install')], { env: { DESTDIR: tree }, cwd: repoRoot() });
    const confDir = path.join(tree, 'etc/dracut.conf.d');
    if (defaults) for (const f of readdirSync(confDir).filter((n) => n.includes('lab'))) rmSync(path.join(confDir, f));
    const base = defaults
      ? ['dracut', '-f', '--no-hostonly', '--no-early-microcode']
      : ['dracut', '-f', '--no-hostonly', '--no-early-microcode', '--drivers', INITRD_DRIVERS.join(' ')];
    await inChroot(tree, async (run) => {
      await run([...base, '/var/tmp/with.img', img.kver]);
      await run([...base, '--omit', 'imgbased', '/var/tmp/without.img', img.kver]);
    });
    return {
      release,
      withModule: statSync(path.join(tree, 'var/tmp/with.img')).size,
      withoutModule: statSync(path.join(tree, 'var/tmp/without.img')).size,
      compress: compression(path.join(tree, 'var/tmp/with.img')),
    };
  } finally {
    await safeRm(tree);
  }
}

interface Sample { mode: 'imgbased' | 'stock'; kernelS: number; initrdS: number; totalS: number; wallS: number }

async function main(): Promise<void> {
  const argv = minimist(process.argv.slice(2), { string: ['out'], default: { rounds: 3 } });
  const rounds = Number(argv.rounds);
  if (argv['sizes-only']) {
    // --defaults: what the release's own dracut makes with the module (README's supported-releases table).
    process.stdout.write(`${JSON.stringify(await initramfsSizes((await import('./lab/paths.js')).cacheDir(), Boolean(argv.defaults)), null, 2)}\n`);
    return;
  }
  const lab = await ensureLab();
  const disk = await layeredOverlay(lab, 'bench-initrd');

  const samples: Sample[] = [];
  const appends = {
    imgbased: `imgbased.layer=${MIDDLE} rw`,
    stock: `root=/dev/${VG}/${MIDDLE} rd.lvm.lv=${VG}/${MIDDLE} rw`,
  };
  for (let i = 0; i < rounds; i++) {
    // Alternate which goes first so drift on the host does not favour one side.
    const order: Array<keyof typeof appends> = i % 2 === 0 ? ['imgbased', 'stock'] : ['stock', 'imgbased'];
    for (const mode of order) {
      const r = await boot({
        name: `bench-initrd-${mode}-${i}`, disk, kernel: lab.projectKernel, initrd: lab.projectInitrd,
        append: appends[mode], timeoutS: 900, script: PROBE_SCRIPT,
      });
      expectDone(r);
      expectMarker(r, 'root-dm', `${VG}-${MIDDLE.replace(/-/g, '--')}`);
      const t = bootTimes(expectMarker(r, 'times'));
      if (!t) throw new Error(`bench: no boot times in ${r.logFile}`);
      const s = { mode, ...t, totalS: t.kernelS + t.initrdS, wallS: r.durationS };
      samples.push(s);
      process.stderr.write(`bench: ${mode} round ${i + 1}: kernel ${t.kernelS.toFixed(2)} s, initrd ${t.initrdS.toFixed(2)} s\n`);
    }
  }
  const sizes = await initramfsSizes(lab.cacheDir);
  const withB = sizes.withModule;
  const withoutB = sizes.withoutModule;

  const stats = (mode: Sample['mode'], k: 'initrdS' | 'kernelS' | 'totalS') => {
    const v = samples.filter((s) => s.mode === mode).map((s) => s[k]).sort((a, b) => a - b);
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    return { mean, median: v[Math.floor(v.length / 2)]!, min: v[0]!, max: v[v.length - 1]!, values: v };
  };
  const result = {
    rounds,
    initrd: { imgbased: stats('imgbased', 'initrdS'), stock: stats('stock', 'initrdS') },
    kernel: { imgbased: stats('imgbased', 'kernelS'), stock: stats('stock', 'kernelS') },
    kernelPlusInitrd: { imgbased: stats('imgbased', 'totalS'), stock: stats('stock', 'totalS') },
    initramfsBytes: sizes,
    binaryBytes: statSync(path.join(repoRoot(), 'dist', 'imgbase')).size,
    samples,
  };
  const pct = (a: number, b: number) => `${(((a - b) / b) * 100).toFixed(1)} %`;
  const i = result.initrd;
  const lines = [
    `initrd phase (systemd-analyze: userspace - initrd timestamps), ${rounds} interleaved boots each, TCG:`,
    `  imgbased.layer=${MIDDLE}: mean ${i.imgbased.mean.toFixed(2)} s (median ${i.imgbased.median.toFixed(2)}, ${i.imgbased.min.toFixed(2)}-${i.imgbased.max.toFixed(2)})`,
    `  stock root= rd.lvm.lv=:   mean ${i.stock.mean.toFixed(2)} s (median ${i.stock.median.toFixed(2)}, ${i.stock.min.toFixed(2)}-${i.stock.max.toFixed(2)})`,
    `  difference: ${(i.imgbased.mean - i.stock.mean).toFixed(2)} s (${pct(i.imgbased.mean, i.stock.mean)})`,
    `kernel + initrd: imgbased ${result.kernelPlusInitrd.imgbased.mean.toFixed(2)} s vs stock ${result.kernelPlusInitrd.stock.mean.toFixed(2)} s (${pct(result.kernelPlusInitrd.imgbased.mean, result.kernelPlusInitrd.stock.mean)})`,
    `initramfs (${result.initramfsBytes.compress}): with module ${(withB / 1e6).toFixed(1)} MB, without ${(withoutB / 1e6).toFixed(1)} MB (+${((withB - withoutB) / 1e6).toFixed(1)} MB)`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  if (argv.out) writeFileSync(String(argv.out), `${JSON.stringify(result, null, 2)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
