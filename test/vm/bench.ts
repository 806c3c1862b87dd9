// npm run bench: issue 3's figures, from one guest run on real LVM thin (QEMU TCG; compare ratios, not seconds).
//   1. `imgbase layout --json` vs a bare `lvs --reportformat json`, with 200 LVs in the VG
//   2. `base --add --from` a 2 GiB ext4 image holding ~30 % data vs `dd conv=sparse` (time, pool usage vs data)
//   3. `layer --add` on a 1 GiB vs an 8 GiB base (should be flat)
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { boot, ensureLab, expectDone, outFile, overlay } from './lab/index.js';
import { BENCH_SH } from './guest-sh.js';
import { summarize } from './bench-lib.js';

const SCRIPT = String.raw`set -euo pipefail
${BENCH_SH}mkdir -p /mnt/imgs && mount -o ro /dev/vdb /mnt/imgs
imgbase layout --init Bench-1.0-0 --from / --no-data >/dev/null

# 3. layer --add on a 1 GiB and an 8 GiB base, interleaved
imgbase base --add Small-1.0-0 --from /mnt/imgs/fs1g.ext4 >/dev/null
imgbase base --add Large-1.0-0 --from /mnt/imgs/fs8g.ext4 >/dev/null
for i in 1 2 3; do
  timed layer-add-1g imgbase layer --add Small-1.0-0
  timed layer-add-8g imgbase layer --add Large-1.0-0
done

# 2. a 2 GiB image with ~30 % data: imgbase (e2image, used blocks only) vs dd conv=sparse into a thin LV
echo "image-used $(dumpe2fs -h /mnt/imgs/data2g.ext4 2>/dev/null | awk -F: '/^Block count/ { c = $2 } /^Free blocks/ { f = $2 } /^Block size/ { b = $2 } END { printf "%d", (c - f) * b }')" >>"$LAB_OUT/times"
before=$(pooldata)
timed base-add-2g imgbase base --add Data-1.0-0 --from /mnt/imgs/data2g.ext4
echo "base-add-2g-pool $(( $(pooldata) - before ))" >>"$LAB_OUT/times"
echo "base-add-2g-lv $(mapped Data-1.0-0)" >>"$LAB_OUT/times"
lvcreate -q -V 2G -T HostVG/pool -n ddcopy >/dev/null
# Without the device node dd would write a plain file into /dev.
udevadm settle
test -b /dev/HostVG/ddcopy
before=$(pooldata)
timed dd-sparse-2g dd if=/mnt/imgs/data2g.ext4 of=/dev/HostVG/ddcopy bs=1M conv=sparse,fsync status=none
echo "dd-sparse-2g-pool $(( $(pooldata) - before ))" >>"$LAB_OUT/times"
echo "dd-sparse-2g-lv $(mapped ddcopy)" >>"$LAB_OUT/times"

# 1. 200 LVs in the VG, then the inventory read
n=$(lvs --noheadings HostVG | wc -l)
for i in $(seq 1 $((200 - n))); do lvcreate -q -an -V 64M -T HostVG/pool -n "foreign$i" >/dev/null 2>&1 || lvcreate -q -V 64M -T HostVG/pool -n "foreign$i" >/dev/null; done
echo "lv-count $(lvs --noheadings HostVG | wc -l)" >>"$LAB_OUT/times"
for i in 1 2 3 4 5; do
  timed lvs-json lvs --reportformat json
  timed layout-json imgbase layout --json
done
cat "$LAB_OUT/times"
`;

function makeImages(dir: string): string {
  const imgs = path.join(dir, 'imgs');
  mkdirSync(imgs);
  const tree = path.join(dir, 'tree');
  mkdirSync(tree);
  for (let i = 0; i < 6; i++) {
    execFileSync('dd', ['if=/dev/urandom', `of=${path.join(tree, `data${i}.bin`)}`, 'bs=1M', 'count=100', 'status=none']);
  }
  writeFileSync(path.join(tree, 'README'), 'bench image\n');
  execFileSync('mkfs.ext4', ['-q', '-F', '-d', tree, path.join(imgs, 'data2g.ext4'), '2G']);
  execFileSync('mkfs.ext4', ['-q', '-F', path.join(imgs, 'fs1g.ext4'), '1G']);
  execFileSync('mkfs.ext4', ['-q', '-F', path.join(imgs, 'fs8g.ext4'), '8G']);
  const container = path.join(dir, 'imgs.ext4');
  execFileSync('mkfs.ext4', ['-q', '-F', '-d', imgs, container, '14G']);
  return container;
}

async function main(): Promise<void> {
  const lab = await ensureLab();
  const dir = mkdtempSync(path.join(lab.cacheDir, 'bench-'));
  try {
    process.stdout.write('bench: making images on the host\n');
    const container = makeImages(dir);
    const disk = await overlay(lab.projectDisk, 'bench');
    process.stdout.write('bench: one guest run (QEMU TCG, ~10 min)\n');
    const r = await boot({
      name: 'bench',
      disk,
      kernel: lab.projectKernel,
      initrd: lab.projectInitrd,
      append: lab.hostAppend,
      extraDisks: [{ file: container, format: 'raw', readonly: true }],
      script: SCRIPT,
      timeoutS: 2400,
      smp: 2,
    });
    expectDone(r);
    const m = summarize(outFile(r, 'times'));
    const mib = (b: number): string => `${(b / 2 ** 20).toFixed(0)} MiB`;
    const lines = [
      `layout --json with ${m['lv-count']} LVs: ${m['layout-json']!.toFixed(2)} s vs bare lvs ${m['lvs-json']!.toFixed(2)} s (x${(m['layout-json']! / m['lvs-json']!).toFixed(2)}; medians of 5)`,
      `base --add --from 2 GiB image (${mib(m['image-used']!)} used): ${m['base-add-2g']!.toFixed(1)} s, pool +${mib(m['base-add-2g-pool']!)} (LV maps ${mib(m['base-add-2g-lv']!)}); dd conv=sparse: ${m['dd-sparse-2g']!.toFixed(1)} s, pool +${mib(m['dd-sparse-2g-pool']!)} (LV maps ${mib(m['dd-sparse-2g-lv']!)}) (time x${(m['base-add-2g']! / m['dd-sparse-2g']!).toFixed(2)})`,
      `layer --add on 1 GiB base: ${m['layer-add-1g']!.toFixed(2)} s; on 8 GiB base: ${m['layer-add-8g']!.toFixed(2)} s (x${(m['layer-add-8g']! / m['layer-add-1g']!).toFixed(2)}; medians of 3)`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    mkdirSync('test-output', { recursive: true });
    writeFileSync(path.join('test-output', 'bench.json'), `${JSON.stringify({ medians: m, lines, at: new Date().toISOString() }, null, 2)}\n`);
    rmSync(disk, { force: true });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
