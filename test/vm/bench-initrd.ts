// Benchmark (issue 4): the initrd phase with imgbased.layer=X vs stock root=/dev/HostVG/X rd.lvm.lv=HostVG/X on the
// same disk and the same initramfs, interleaved boots; and the initramfs size with and without the module.
// Not a vitest file (not in the default run). Run:  build/run-ts test/vm/bench-initrd.ts [--rounds N] [--out FILE]
import minimist from 'minimist';
import { writeFileSync } from 'node:fs';
import { boot, ensureLab, expectDone, expectMarker } from './lab/index.js';
import { bootTimes, MIDDLE, PROBE_SCRIPT, VG } from './initrd-fixture.js';
import { layeredOverlay } from './initrd-helpers.js';

const SIZE_SCRIPT = String.raw`set -euxo pipefail
kver=$(uname -r)
mark with-module "$(stat -c %s /boot/initrd.img-$kver)"
dracut -q -f --omit imgbased /var/tmp/without.img "$kver"
mark without-module "$(stat -c %s /var/tmp/without.img)"
mark binary "$(stat -c %s /usr/sbin/imgbase)"
mark compress "$(grep -h '^compress' /etc/dracut.conf.d/*.conf /usr/lib/dracut/dracut.conf.d/*.conf 2>/dev/null | tail -n1)"
`;

interface Sample { mode: 'imgbased' | 'stock'; kernelS: number; initrdS: number; totalS: number; wallS: number }

async function main(): Promise<void> {
  const argv = minimist(process.argv.slice(2), { string: ['out'], default: { rounds: 3 } });
  const rounds = Number(argv.rounds);
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
  const sizeRun = await boot({
    name: 'bench-initrd-size', disk, kernel: lab.projectKernel, initrd: lab.projectInitrd, append: lab.hostAppend,
    timeoutS: 900, smp: 2, script: SIZE_SCRIPT,
  });
  expectDone(sizeRun);
  const withB = Number(expectMarker(sizeRun, 'with-module'));
  const withoutB = Number(expectMarker(sizeRun, 'without-module'));

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
    initramfsBytes: { withModule: withB, withoutModule: withoutB, compress: expectMarker(sizeRun, 'compress') },
    binaryBytes: Number(expectMarker(sizeRun, 'binary')),
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
