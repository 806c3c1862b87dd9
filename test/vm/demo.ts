// npm run demo: a lab host with two bases and their layers, booted through its own GRUB: the per-layer menu,
// which layer booted, a one-shot switch with `imgbase boot --next`, and the reboot that lands there.
import { ensureLayeredHost } from './fixtures/layered.js';
import { boot, ensureLab, expectDone, grubMenuEntries, outFile, overlay, stripEscapes, type BootResult } from './lab/index.js';

const t0 = Date.now();
const say = (s: string): void => {
  process.stdout.write(`\n[demo ${((Date.now() - t0) / 1000).toFixed(0).padStart(4)}s] ${s}\n`);
};
const show = (title: string, text: string): void => {
  process.stdout.write(`  ┌─ ${title}\n${text.trimEnd().split('\n').map((l) => `  │ ${l}`).join('\n')}\n  └─\n`);
};

const SHOW_STATE = String.raw`
imgbase w >"$LAB_OUT/w" 2>&1 || true
imgbase layout >"$LAB_OUT/layout" 2>&1 || true
imgbase boot --list >"$LAB_OUT/list" 2>&1 || true
imgbase boot --status >"$LAB_OUT/status" 2>&1 || true
mark root "$(findmnt -no SOURCE /)"
`;

function menu(r: BootResult): string {
  const entries = grubMenuEntries(r.log);
  if (entries.length) return entries.map((e) => `  ${e}`).join('\n');
  // Fall back to the raw screen lines that look like the menu.
  return stripEscapes(r.log).split('\n').filter((l) => /imgbased|Debian/.test(l)).slice(0, 12).join('\n');
}

async function main(): Promise<void> {
  say('preparing the VM lab (Debian 12 guest, LVM thin host disk, imgbase installed; cached after the first run)');
  const lab = await ensureLab((s) => process.stdout.write(`  ${s}\n`));
  say('making a host with two bases and three layers with imgbase itself (cached per build)');
  const { disk: layered } = await ensureLayeredHost(lab, (s) => process.stdout.write(`  ${s}\n`));
  const disk = await overlay(layered, 'demo');

  say('boot 1: SeaBIOS -> GRUB on the host disk -> the default entry (QEMU TCG, about a minute)');
  const b1 = await boot({
    name: 'demo-boot1',
    disk,
    timeoutS: 600,
    script: `${SHOW_STATE}\nimgbase boot --next Image-1.0-0+1 >"$LAB_OUT/next" 2>&1\n`,
  });
  expectDone(b1);
  show('GRUB menu read off the serial console', menu(b1));
  show('imgbase w', outFile(b1, 'w'));
  show('imgbase layout', outFile(b1, 'layout'));
  show('imgbase boot --list', outFile(b1, 'list'));
  show('imgbase boot --next Image-1.0-0+1', outFile(b1, 'next'));

  say('boot 2: GRUB takes the one-shot entry');
  const b2 = await boot({ name: 'demo-boot2', disk, timeoutS: 600, script: SHOW_STATE });
  expectDone(b2);
  show('imgbase w', outFile(b2, 'w'));
  show('imgbase boot --status', outFile(b2, 'status'));

  say('boot 3: the one-shot is used up, the default layer boots again');
  const b3 = await boot({ name: 'demo-boot3', disk, timeoutS: 600, script: SHOW_STATE });
  expectDone(b3);
  show('imgbase w', outFile(b3, 'w'));

  say(`done in ${((Date.now() - t0) / 1000).toFixed(0)} s. Serial logs: test-output/demo-boot{1,2,3}/serial.log`);
}

main().catch((e: unknown) => {
  process.stderr.write(`demo failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
