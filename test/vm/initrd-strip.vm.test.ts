// Acceptance (issue 4): dracut strips every executable it installs and binutils is installed in the guest, yet the
// imgbase binary inside the project initramfs is byte-identical to the installed one (module-setup.sh installs it
// 0644 with its libraries resolved; the generator makes it executable at boot). The other initrd tests prove it runs.
import { expect, inject, test } from 'vitest';
import { boot, expectDone, expectMarker, overlay } from './lab/index.js';
import { STRIP_PROOF } from './initrd-fixture.js';
import { BOOT_TIMEOUT_S } from './initrd-helpers.js';

test('the binary in the initramfs survived dracut\'s strip step; no root= baked in', async () => {
  const lab = inject('lab');
  const disk = await overlay(lab.projectDisk, 'initrd-strip');
  const r = await boot({
    name: 'initrd-strip', disk, kernel: lab.projectKernel, initrd: lab.projectInitrd, append: lab.hostAppend,
    timeoutS: BOOT_TIMEOUT_S, script: `set -uo pipefail\n${STRIP_PROOF}\ntrue\n`,
  });
  expectDone(r);
  expectMarker(r, 'boot-mounted', 'yes');
  expect(expectMarker(r, 'strip-tool')).not.toBe('none');
  expectMarker(r, 'initrd-imgbase-identical', 'yes');
  expectMarker(r, 'initrd-has-module', '2');
  expectMarker(r, 'initrd-cmdline-d', '0');
});
