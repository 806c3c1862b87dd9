// imgbase enter, the pure half (core/enter): the command line, the refusals, the argv of the runner, the dry run and
// when the layer's kernel counts as changed.
import { describe, expect, it } from 'vitest';
import {
  defaultCommand, describeEnter, enterableLayer, enterArgv, kernelChanged, layerArg, NSPAWN, splitCommand, type KernelStamp,
} from '../../src/core/enter';
import { BusyError, EXIT, exitCodeOf, formatError, NotFoundError, UsageError } from '../../src/core/errors';
import { buildInventory } from '../../src/core/inventory';
import { layoutRecords } from './helpers/plan-fixtures';

const inv = buildInventory(layoutRecords(['A-1-0'], ['A-1-0+1', 'A-1-0+2']));

describe('enter: the command line', () => {
  it("the words after '--' are the command's, whatever they look like", () => {
    expect(splitCommand(['L', '--', 'apt-get', '--dry-run', '-h', '--'])).toEqual({ own: ['L'], command: ['apt-get', '--dry-run', '-h', '--'] });
    expect(splitCommand(['--dry-run', 'L'])).toEqual({ own: ['--dry-run', 'L'], command: null });
  });
  it("'--' with nothing after it, no layer, or two words without '--' are usage errors", () => {
    expect(() => splitCommand(['L', '--'])).toThrow(UsageError);
    expect(() => layerArg([])).toThrow(/which layer/);
    expect(() => layerArg(['L', 'ls'])).toThrow(/one LAYER, not L ls/);
    expect(layerArg(['A-1-0+1'])).toBe('A-1-0+1');
  });
});

describe('enter: which layers may be entered', () => {
  it('a layer that is not running', () => {
    expect(enterableLayer(inv, 'A-1-0+1', 'A-1-0+2').name).toBe('A-1-0+1');
    expect(enterableLayer(inv, 'A-1-0+2', null).name).toBe('A-1-0+2');
  });
  it('refused: the running layer (exit 4), a base (exit 2), an unknown name (exit 3)', () => {
    const err = (name: string): unknown => {
      try {
        enterableLayer(inv, name, 'A-1-0+2');
      } catch (e) {
        return e;
      }
      return null;
    };
    expect(err('A-1-0+2')).toBeInstanceOf(BusyError);
    expect((err('A-1-0+2') as Error).message).toBe('enter: A-1-0+2 is the running layer; run the command directly');
    expect(exitCodeOf(err('A-1-0+2'))).toBe(EXIT.busy);
    expect(formatError(err('A-1-0+2'))).toBe('imgbase: enter: A-1-0+2 is the running layer; run the command directly');
    expect(err('A-1-0')).toBeInstanceOf(UsageError);
    expect((err('A-1-0') as Error).message).toBe('enter: A-1-0 is a base, read-only');
    expect(err('B-1-0+1')).toBeInstanceOf(NotFoundError);
    expect(exitCodeOf(err('B-1-0+1'))).toBe(EXIT.notFound);
  });
});

describe('enter: how the command runs', () => {
  it('default: a login shell, bash when the layer has it', () => {
    expect(defaultCommand(true)).toEqual(['/bin/bash', '-l']);
    expect(defaultCommand(false)).toEqual(['/bin/sh', '-l']);
  });
  it('systemd-nspawn with the tree and the command after --; else chroot DIR COMMAND', () => {
    expect(enterArgv('nspawn', '/run/imgbased/mnt/m1', 'L', ['ls', '-l'])).toEqual({
      cmd: NSPAWN,
      args: ['--quiet', '--register=no', '--as-pid2', '--setenv=IMGBASED_ENTER=L', '-D', '/run/imgbased/mnt/m1', '--', 'ls', '-l'],
    });
    expect(enterArgv('chroot', '/run/imgbased/mnt/m1', 'L', ['ls'])).toEqual({ cmd: 'chroot', args: ['/run/imgbased/mnt/m1', 'ls'] });
  });
  it('nspawn without a terminal on stdin: the console is a pipe, so what is piped in reaches the command', () => {
    expect(enterArgv('nspawn', '/m', 'L', ['sh'], false).args).toEqual(['--quiet', '--register=no', '--as-pid2', '--console=pipe', '--setenv=IMGBASED_ENTER=L', '-D', '/m', '--', 'sh']);
    expect(enterArgv('chroot', '/m', 'L', ['sh'], false)).toEqual({ cmd: 'chroot', args: ['/m', 'sh'] });
  });
  it('--dry-run says each step; activation only for an inactive layer', () => {
    const lines = describeEnter({ vg: 'HostVG', layer: 'L', active: false, runner: 'chroot', command: ['apt-get', 'install', 'x'] });
    expect(lines).toEqual([
      'would activate HostVG/L',
      'would mount HostVG/L read-write under /run/imgbased/mnt',
      'would mount /proc, /sys, /dev, /run in it and run apt-get install x with chroot',
      'would unmount',
      'would deactivate HostVG/L',
      'would re-sync the boot entry of L if its kernel or initramfs changed',
    ]);
    expect(describeEnter({ vg: 'HostVG', layer: 'L', active: true, runner: 'nspawn', command: null }).join('\n')).not.toMatch(/activate/);
  });
});

describe('enter: did the kernel change', () => {
  const file = (path: string, ino = 1): KernelStamp['kernel'] => ({ path, size: 100, mtimeMs: 1000, ino });
  const k: KernelStamp = { version: '6.1.0-1', kernel: file('/boot/vmlinuz-6.1.0-1'), initrd: file('/boot/initrd.img-6.1.0-1', 2) };
  it('the same files: no', () => {
    expect(kernelChanged(k, { ...k })).toBe(false);
    expect(kernelChanged(null, null)).toBe(false);
  });
  it('another version, a rewritten initramfs, a kernel added or gone: yes', () => {
    expect(kernelChanged(k, { ...k, version: '6.1.0-2', kernel: file('/boot/vmlinuz-6.1.0-2') })).toBe(true);
    expect(kernelChanged(k, { ...k, initrd: { ...k.initrd!, ino: 3 } })).toBe(true);
    expect(kernelChanged(k, { ...k, initrd: { ...k.initrd!, mtimeMs: 2000 } })).toBe(true);
    expect(kernelChanged(k, { ...k, initrd: null })).toBe(true);
    expect(kernelChanged(null, k)).toBe(true);
    expect(kernelChanged(k, null)).toBe(true);
  });
});
