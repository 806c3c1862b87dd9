// npm run bench:update: issue 13's figure, from one guest run on the layered host (QEMU TCG; compare ratios, not
// seconds): `imgbase update --from IMAGE` vs `base --add --from IMAGE` + `layer --add` of the same image, a 2 GiB
// ext4 holding ~700 MiB (the lab's own Image-1.0-0 with a kernel and initrd in its /boot). What update adds is the
// cost of carrying the host's state (the /etc merge, the accounts, the report); the pool space it adds beyond the
// plain pair is what the carried changes take. Then data outside /etc: copying 300 MiB into a layer (what carrying
// listed paths at each update would cost) against making it a data volume once.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { boot, ensureLab, expectDone, outFile, overlay } from './lab/index.js';
import { ensureLayeredHost } from './fixtures/layered.js';
import { BENCH_SH, MKIMAGE_SH } from './guest-sh.js';
import { collect } from './bench-lib.js';

const ROUNDS = 2;
// Round i: update to Upd-i.0-0, then base --add + layer --add of Upd-i.5-0. Each new layer sorts newest when it is
// made, so both become the default and are armed for boot counting: the same work but for the carried state.

const SCRIPT = String.raw`set -euo pipefail
${BENCH_SH}${MKIMAGE_SH}mountpoint -q /boot || mount /boot
# Keep every base: gc after an update would otherwise remove the earlier rounds' (and its time would count).
mkdir -p /etc/imgbased && echo 'keep-bases = 50' >/etc/imgbased/imgbased.conf
mkimage Image-1.0-0 1.9-0 /var/tmp/v.raw
umount /mnt/img
echo "image-used $(dumpe2fs -h /var/tmp/v.raw 2>/dev/null | awk -F: '/^Block count/ { c = $2 } /^Free blocks/ { f = $2 } /^Block size/ { b = $2 } END { printf "%.0f", (c - f) * b }')" >>"$LAB_OUT/times"
imgbase update --from /var/tmp/v.raw --name Warm-1.0-0 --dry-run >"$LAB_OUT/plan.txt"
for i in $(seq 1 ${ROUNDS}); do
  before=$(pooldata)
  timed update imgbase update --from /var/tmp/v.raw --name Upd-$i.0-0
  echo "update-pool $(( $(pooldata) - before ))" >>"$LAB_OUT/times"
  before=$(pooldata)
  s=$(now)
  imgbase base --add Upd-$i.5-0 --from /var/tmp/v.raw >/dev/null
  imgbase layer --add Upd-$i.5-0 >/dev/null
  awk -v a="$s" -v b="$(now)" 'BEGIN { print "plain", b - a }' >>"$LAB_OUT/times"
  echo "plain-pool $(( $(pooldata) - before ))" >>"$LAB_OUT/times"
  echo "carried-mapped $(( $(mapped Upd-$i.0-0+1) - $(mapped Upd-$i.5-0+1) ))" >>"$LAB_OUT/times"
done
# Data outside /etc: what copying it into each new layer would cost, against a data volume (made once, then shared).
mkdir -p /var/lib/benchdata
for i in 1 2 3; do dd if=/dev/urandom of=/var/lib/benchdata/d$i bs=1M count=100 status=none; done
echo "data-bytes $(du -sxb /var/lib/benchdata | cut -f1)" >>"$LAB_OUT/times"
lvchange -qq -ay -K HostVG/Upd-1.5-0+1 && mkdir -p /mnt/l && mount /dev/HostVG/Upd-1.5-0+1 /mnt/l
before=$(pooldata)
timed copy-data sh -c 'cp -a /var/lib/benchdata /mnt/l/var/lib/ && sync -f /mnt/l'
echo "copy-data-pool $(( $(pooldata) - before ))" >>"$LAB_OUT/times"
umount /mnt/l
timed data-add imgbase data --add /var/lib/benchdata
cat "$LAB_OUT/times"
`;

async function main(): Promise<void> {
  const lab = await ensureLab();
  const layered = await ensureLayeredHost(lab);
  const disk = await overlay(layered.disk, 'bench-update');
  process.stdout.write('bench:update: one guest run on the layered host (QEMU TCG, ~15 min)\n');
  const r = await boot({ name: 'bench-update', disk, script: SCRIPT, timeoutS: 3600 });
  expectDone(r);
  const m = collect(outFile(r, 'times'));
  const mib = (b: number): string => `${(b / 2 ** 20).toFixed(1)} MiB`;
  const each = (k: string, fmt: (v: number) => string): string => m[k]!.map(fmt).join(' / ');
  const sum = (k: string): number => m[k]!.reduce((a, b) => a + b, 0);
  const lines = [
    `update --from a 2 GiB image (${mib(m['image-used']![0]!)} used): ${each('update', (v) => `${v.toFixed(1)} s`)}, pool +${each('update-pool', mib)}`,
    `base --add --from + layer --add of the same image: ${each('plain', (v) => `${v.toFixed(1)} s`)}, pool +${each('plain-pool', mib)}`,
    `update / plain: x${(sum('update') / sum('plain')).toFixed(2)} (${ROUNDS} rounds, interleaved); the carried state maps ${each('carried-mapped', mib)} in the new layer`,
    `data outside /etc, ${mib(m['data-bytes']![0]!)}: copied into a layer ${m['copy-data']![0]!.toFixed(1)} s and pool +${mib(m['copy-data-pool']![0]!)} at every update; as a data volume: 'data --add' once ${m['data-add']![0]!.toFixed(1)} s, then nothing per update`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  mkdirSync('test-output', { recursive: true });
  writeFileSync(path.join('test-output', 'bench-update.json'), `${JSON.stringify({ medians: m, lines, at: new Date().toISOString() }, null, 2)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:update failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
