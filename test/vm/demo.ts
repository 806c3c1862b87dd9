// npm run demo: a lab host with two bases and their layers, booted through its own GRUB: the per-layer menu,
// which layer booted, a one-shot switch with `imgbase boot --next`, and the reboot that lands there; then a new layer
// whose init is broken: GRUB counts its tries and comes back to the previous good layer by itself; last, the Debian 12
// host updated to a Debian 13 image, whose new layer boots, is blessed, and has the admin's change to /etc.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { ensureLayeredHost } from './fixtures/layered.js';
import { labOf, releaseImage } from './fixtures/release-image.js';
import { WAIT_ASSESS_SH } from './guest-sh.js';
import { boot, expectDone, grubMenuEntries, outFile, overlay, stripEscapes, type BootResult } from './lab/index.js';
import { outputDir } from './lab/paths.js';

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

// A new layer, armed for 2 tries by layer --add, whose systemd exits at once: the kernel panics (panic= on its entry)
// and GRUB counts each try, then boots the previous good layer by id.
const BREAK_NEW_LAYER = String.raw`
printf 'tries=2\n' >/etc/imgbased/boot.conf
imgbase layer --add >"$LAB_OUT/add" 2>&1
new=$(imgbase layer --latest)
lvchange -qq -ay -K "HostVG/$new"; mkdir -p /mnt/new; mount "/dev/HostVG/$new" /mnt/new
printf '#!/bin/sh\necho "demo: broken init exits"\nexit 1\n' >/mnt/new/usr/lib/systemd/systemd
umount /mnt/new; lvchange -qq -an "HostVG/$new"
imgbase boot --status >"$LAB_OUT/status-armed" 2>&1 || true
`;

// The admin changes /etc on Debian 12; the update to the Debian 13 image (vdb) carries the change into the new layer,
// which boots next.
const UPDATE = String.raw`
echo 'set by the admin before the update' >/etc/demo-note
. /etc/os-release; echo "$PRETTY_NAME" >"$LAB_OUT/os"
imgbase update --from /dev/vdb 2>&1 | grep -v '/etc/lvm/' >"$LAB_OUT/update"
`;
const AFTER_UPDATE = String.raw`
{ . /etc/os-release; echo "$PRETTY_NAME"; cat /etc/demo-note; } >"$LAB_OUT/etc" 2>&1
imgbase update --status 2>&1 | grep -v '/etc/lvm/' >"$LAB_OUT/update-status"
`;

/** Lets imgbased-boot-assess.service judge the boot (it marks the broken layer bad) before the state is shown. */
const WAIT_ASSESS = `${WAIT_ASSESS_SH}waitassess >/dev/null\n`;

function menu(r: BootResult): string {
  const entries = grubMenuEntries(r.log);
  if (entries.length) return entries.map((e) => `  ${e}`).join('\n');
  // Fall back to the raw screen lines that look like the menu.
  return stripEscapes(r.log).split('\n').filter((l) => /imgbased|Debian/.test(l)).slice(0, 12).join('\n');
}

async function main(): Promise<void> {
  const log = (s: string): void => {
    process.stdout.write(`  ${s}\n`);
  };
  say('preparing the VM lab (Debian 12 and 13 guests, LVM thin host disk, imgbase installed; cached after the first run)');
  const lab = await labOf('bookworm', undefined, log);
  const img13 = path.join(outputDir('demo-images'), 'debian-13.raw');
  mkdirSync(path.dirname(img13), { recursive: true });
  await releaseImage(await labOf('trixie', undefined, log), img13);
  say('making a host with imgbase install, then two bases and three layers with imgbase itself (cached per build)');
  const { disk: layered } = await ensureLayeredHost(lab, log);
  const disk = await overlay(layered, 'demo');

  say('boot 1: SeaBIOS -> GRUB on the Debian 12 host disk -> the default entry (QEMU TCG, about a minute)');
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

  say('boot 3: the one-shot is used up, the default layer boots again; then a new layer whose init is broken');
  const b3 = await boot({ name: 'demo-boot3', disk, timeoutS: 600, script: `${SHOW_STATE}\n${BREAK_NEW_LAYER}` });
  expectDone(b3);
  show('imgbase w', outFile(b3, 'w'));
  show('imgbase layer --add (2 boot tries, /etc/imgbased/boot.conf), then its /usr/lib/systemd/systemd replaced by "exit 1"', outFile(b3, 'add'));
  show('imgbase boot --status (layers)', outFile(b3, 'status-armed'));

  const tFall = Date.now();
  for (let n = 4; n <= 7; n++) {
    say(`boot ${n}: GRUB's default is the new layer`);
    const b = await boot({ name: `demo-boot${n}`, disk, timeoutS: 600, script: `${WAIT_ASSESS}${SHOW_STATE}` });
    const log = stripEscapes(b.log);
    const fell = log.split('\n').find((l) => /used up its \d+ boot tries/.test(l));
    if (b.rc === null) {
      show('serial console', log.split('\n').filter((l) => /Loading imgbased layer|demo: broken init|Kernel panic/.test(l)).map((l) => l.trim()).join('\n'));
      continue;
    }
    expectDone(b);
    if (fell) show('GRUB', log.slice(log.indexOf(fell)).split('\n').slice(0, 2).map((l) => l.trim()).join(' '));
    show('imgbase w', outFile(b, 'w'));
    show('imgbase boot --status', outFile(b, 'status'));
    say(`the broken layer came back by itself: ${((Date.now() - tFall) / 1000).toFixed(0)} s from the first try to the previous good layer`);
    break;
  }

  say('an update from Debian 12 to a Debian 13 image: it becomes the next layer, the /etc change made here is carried');
  const vdb = { file: img13, format: 'raw' as const, readonly: true };
  const u1 = await boot({ name: 'demo-update1', disk, extraDisks: [vdb], timeoutS: 900, script: `${WAIT_ASSESS}${UPDATE}` });
  expectDone(u1);
  show('running', outFile(u1, 'os'));
  show("echo 'set by the admin before the update' >/etc/demo-note; imgbase update --from /dev/vdb (the Debian 13 image)", outFile(u1, 'update'));
  const tUp = Date.now();
  say('reboot: GRUB boots the Debian 13 layer as a try; it comes up and is blessed');
  const u2 = await boot({ name: 'demo-update2', disk, extraDisks: [vdb], timeoutS: 600, script: `${WAIT_ASSESS}${SHOW_STATE}${AFTER_UPDATE}` });
  expectDone(u2);
  show('imgbase w', outFile(u2, 'w'));
  show('os-release PRETTY_NAME; cat /etc/demo-note (the admin\'s file carried)', outFile(u2, 'etc'));
  show('imgbase update --status (LVM\'s own /etc/lvm files left out)', outFile(u2, 'update-status'));
  show('imgbase boot --status', outFile(u2, 'status'));
  say(`the new layer is up ${((Date.now() - tUp) / 1000).toFixed(0)} s after the reboot`);

  say(`done in ${((Date.now() - t0) / 1000).toFixed(0)} s. Serial logs: test-output/demo-boot{1..7}/, demo-update{1,2}/`);
}

main().catch((e: unknown) => {
  process.stderr.write(`demo failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
