#!/usr/bin/env node
// Builds dist/imgbase: esbuild bundle (CommonJS) -> Node single-executable blob -> injected into a stripped node copy.
// Stripping must happen before injection; the injected binary must never be stripped (it segfaults).
import { build } from 'esbuild';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, writeFileSync, mkdirSync, chmodSync, statSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
mkdirSync(dist, { recursive: true });

await build({
  entryPoints: [join(root, 'src/main.ts')],
  outfile: join(dist, 'imgbase.cjs'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  supported: { 'dynamic-import': false },
  define: { IMGBASED_VERSION: JSON.stringify(pkg.version) },
  logLevel: 'warning',
});

if (process.argv.includes('--bundle-only')) process.exit(0);

const seaConfig = join(dist, 'sea-config.json');
const blob = join(dist, 'imgbase.blob');
writeFileSync(seaConfig, JSON.stringify({
  // Relative paths: the blob records them, and the binary must not depend on where the repo is checked out.
  main: 'imgbase.cjs',
  output: 'imgbase.blob',
  disableExperimentalSEAWarning: true,
  // A V8 start-up snapshot of the loaded bundle (src/main.ts): no compiling or module bodies at each start, which
  // is most of the bundle's start-up (under TCG in the initramfs, about a second of CPU). It differs from build to
  // build, so the VM lab keys its caches by dist/imgbase.cjs, not by the binary.
  useSnapshot: true,
}));
const sea = spawnSync(process.execPath, ['--experimental-sea-config', 'sea-config.json'], { cwd: dist, encoding: 'utf8' });
// Node warns that a few built-in modules (tty, child_process) are "not yet fully verified" in snapshots; they are
// only required at build time and used at run time, which the VM tests exercise.
const noise = /not yet fully verified|may still work in some cases|request support for the module|--trace-warnings|ExperimentalWarning/;
process.stderr.write(sea.stderr.split('\n').filter((l) => l !== '' && !noise.test(l)).map((l) => `${l}\n`).join(''));
if (sea.status !== 0) throw new Error(`build: node --experimental-sea-config failed (${sea.status ?? sea.signal})`);

const out = join(dist, 'imgbase');
copyFileSync(process.execPath, out);
chmodSync(out, 0o755);
try {
  execFileSync('strip', ['--strip-all', out]);
} catch {
  console.warn('build: strip not available; binary stays unstripped');
}
execFileSync(process.execPath, [
  join(root, 'node_modules/postject/dist/cli.js'), out, 'NODE_SEA_BLOB', blob,
  '--sentinel-fuse', 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2',
], { stdio: ['ignore', 'ignore', 'inherit'] });
console.log(`build: ${out} (${(statSync(out).size / 1e6).toFixed(1)} MB)`);
