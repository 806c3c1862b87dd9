// Small CLI for humans, the demo and the bench:
//   ensure                 build/find the lab, print its JSON
//   boot [--project] [--grub] [--reboots] [--script FILE] [--append ARGS] [--timeout S] [--name N] [--smp N]
// Run it bundled: npx esbuild test/vm/lab/cli.ts --bundle --platform=node --format=esm --packages=external \
//   --outfile=test-output/lab-cli.mjs && node test-output/lab-cli.mjs ensure
import minimist from 'minimist';
import { readFileSync } from 'node:fs';
import { boot, ensureLab, overlay } from './index.js';

async function main(): Promise<number> {
  const argv = minimist(process.argv.slice(2), { boolean: ['project', 'grub', 'reboots'], string: ['script', 'append', 'name'] });
  const cmd = argv._[0];
  if (cmd === 'ensure') {
    const lab = await ensureLab();
    process.stdout.write(JSON.stringify(lab, null, 2) + '\n');
    return 0;
  }
  if (cmd === 'boot') {
    const lab = await ensureLab();
    const name = (argv.name as string | undefined) ?? 'cli-boot';
    const disk = await overlay(argv.project ? lab.projectDisk : lab.hostDisk, name);
    const direct = !argv.grub;
    const r = await boot({
      name,
      disk,
      kernel: direct ? (argv.project ? lab.projectKernel : lab.kernel) : undefined,
      initrd: direct ? (argv.project ? lab.projectInitrd : lab.initrd) : undefined,
      append: direct ? ((argv.append as string | undefined) ?? lab.hostAppend) : undefined,
      script: argv.script ? readFileSync(argv.script as string, 'utf8') : 'mark root "$(findmnt -no SOURCE /)"\n',
      timeoutS: Number(argv.timeout ?? 300),
      smp: argv.smp ? Number(argv.smp) : undefined,
      reboots: argv.reboots === true,
    });
    process.stdout.write(JSON.stringify({ ...r, log: undefined }, null, 2) + '\n');
    return r.rc === 0 ? 0 : 1;
  }
  process.stderr.write('usage: lab-cli ensure | boot [--project] [--grub] [--reboots] [--script FILE] [--append ARGS] [--timeout S] [--name N] [--smp N]\n');
  return 2;
}

main().then(
  (rc) => process.exit(rc),
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
