// The runner's log readers (no VM): markers, escape stripping, GRUB menu off a real serial log, failure messages.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { expectDone, expectMarker, grubMenu, parseMarkers, stripEscapes, tail, type BootResult } from './lab/index.js';

const fixture = readFileSync(path.join(__dirname, 'lab', 'fixtures', 'grub-serial.log'), 'utf8');

describe('lab log readers', () => {
  test('markers: key + rest of line, in order, after other output on the line is cut by a newline', () => {
    const log = 'boot...\n\n@@LAB root /dev/mapper/HostVG-root\r\n[ 1.0] x\n@@LAB done 0\n+ printf \'\\n@@LAB %s %s\\n\' a b\n@@LAB root second value\n';
    expect(parseMarkers(log)).toEqual({ root: ['/dev/mapper/HostVG-root', 'second value'], done: ['0'] });
  });

  test('escape stripping removes CSI/OSC/charset sequences and CRs', () => {
    expect(stripEscapes('\x1b[0;32m  OK  \x1b[0m] Reached\r\n\x1b]0;title\x07x\x1b(B')).toBe('  OK  ] Reached\nx');
  });

  test('GRUB menu from a real serial log (cursor-positioned rows)', () => {
    expect(grubMenu(fixture)).toEqual([
      { title: 'Debian GNU/Linux', selected: true },
      { title: 'Advanced options for Debian GNU/Linux', selected: false },
    ]);
  });

  test('failures carry the serial tail', () => {
    const log = Array.from({ length: 60 }, (_, i) => `line ${i}`).join('\n') + '\n';
    const r: BootResult = {
      name: 'x', log, logFile: '/x/serial.log', markers: parseMarkers(log), outDir: '/x/out', durationS: 12,
      timedOut: true, rc: null, qemuExitCode: undefined, qemuStderr: '',
    };
    expect(() => expectDone(r)).toThrow(/TIMED OUT[\s\S]*line 20\n[\s\S]*line 59/);
    expect(() => expectDone(r)).not.toThrow(/line 19\n/);
    expect(() => expectMarker(r, 'nope')).toThrow(/marker "nope" missing/);
    expect(tail(log, 2)).toBe('line 58\nline 59');
  });
});
