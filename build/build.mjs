#!/usr/bin/env node
// Builds dist/imgbase: esbuild bundle (CommonJS) -> Node single-executable blob -> injected into a stripped node copy.
// Stripping must happen before injection; the injected binary must never be stripped (it segfaults).
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
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
  // No V8 code cache (nor start-up snapshot): V8 accepts them only on a CPU with the same features as the build
  // machine's. Under TCG in the lab (and on most appliances) the cache would be rejected; a snapshot even refuses to
  // start ("Invalid snapshot data"). Without one the binary is also reproducible.
  useCodeCache: false,
}));
execFileSync(process.execPath, ['--experimental-sea-config', 'sea-config.json'], { stdio: 'inherit', cwd: dist });

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
