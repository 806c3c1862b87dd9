import { describe, expect, it } from 'vitest';
import { lockTimeout, parseVerbArgs } from '../../src/cli/args';
import { splitGlobalArgs } from '../../src/cli/global-args';
import { UsageError } from '../../src/core/errors';

describe('global options before the verb', () => {
  it('finds the verb past --lock-timeout S and hands S to the verb', () => {
    expect(splitGlobalArgs(['--lock-timeout', '5', 'layer', '--latest'])).toEqual({
      verb: 'layer',
      verbArgv: ['--latest', '--lock-timeout', '5'],
    });
    expect(splitGlobalArgs(['--json', '--lock-timeout=2.5', 'layer', '--add'])).toEqual({
      verb: 'layer',
      verbArgv: ['--json', '--add', '--lock-timeout', '2.5'],
    });
  });

  it("a command after '--' (enter) keeps its words; the handed-on value goes before it", () => {
    expect(splitGlobalArgs(['--lock-timeout', '5', 'enter', 'L', '--', 'ls', '--lock-timeout', '1'])).toEqual({
      verb: 'enter',
      verbArgv: ['L', '--lock-timeout', '5', '--', 'ls', '--lock-timeout', '1'],
    });
  });
  it('the verb reads the handed-on value', () => {
    const { verbArgv } = splitGlobalArgs(['--lock-timeout', '5', 'layer', '--latest']);
    const args = parseVerbArgs(verbArgv, { verb: 'layer', boolean: ['latest'], usage: '' });
    expect(lockTimeout(args)).toBe(5);
    expect(args.latest).toBe(true);
  });

  it('leaves everything else as it was', () => {
    expect(splitGlobalArgs(['--dry-run', 'base', '--add', 'X-1-0'])).toEqual({ verb: 'base', verbArgv: ['--dry-run', '--add', 'X-1-0'] });
    expect(splitGlobalArgs(['layer', '--lock-timeout', '3', '--add'])).toEqual({ verb: 'layer', verbArgv: ['--lock-timeout', '3', '--add'] });
    expect(splitGlobalArgs(['--help'])).toEqual({ verb: undefined, verbArgv: ['--help'] });
    expect(splitGlobalArgs([])).toEqual({ verb: undefined, verbArgv: [] });
  });

  it('a bad or missing value is a usage error', () => {
    for (const argv of [
      ['--lock-timeout', 'x', 'layer'],
      ['--lock-timeout', '-1', 'layer'],
      ['--lock-timeout=', 'layer'],
      ['--lock-timeout'],
      ['--lock-timeout', 'layer', '--latest'], // the verb is not a number
      ['--lock-timeout', '1', '--lock-timeout', '2', 'layer'],
      ['--lock-timeout', '1', 'layer', '--lock-timeout', '2'],
    ]) {
      expect(() => splitGlobalArgs(argv), argv.join(' ')).toThrow(UsageError);
    }
  });
});
