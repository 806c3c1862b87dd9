import { describe, expect, it } from 'vitest';
import { chooseAction, optValue, parseVerbArgs, takeOptionalValue } from '../../src/cli/args';
import { UsageError } from '../../src/core/errors';

const spec = { verb: 'base', boolean: ['latest'], string: ['add', 'remove'], usage: '' };

describe('a --no-X flag beside a string option X', () => {
  it('--no-data is its own flag and leaves --data alone, in any order; after -- it is an argument', () => {
    const spec = { verb: 'install', boolean: ['no-data'], string: ['data'], usage: '' };
    expect(parseVerbArgs(['--no-data', '--data', '/srv/x'], spec)).toMatchObject({ 'no-data': true, data: '/srv/x' });
    expect(parseVerbArgs(['--data', '/srv/x', '--no-data'], spec)).toMatchObject({ 'no-data': true, data: '/srv/x' });
    expect(parseVerbArgs(['--data', '/srv/x'], spec)).toMatchObject({ 'no-data': false, data: '/srv/x' });
    expect(parseVerbArgs(['--', '--no-data'], spec)).toMatchObject({ 'no-data': false, _: ['--no-data'] });
  });
});

describe('argument errors', () => {
  it('rejects unknown options', () => {
    expect(() => parseVerbArgs(['--bogus'], spec)).toThrow(UsageError);
  });
  it('rejects two actions at once', () => {
    const a = parseVerbArgs(['--add', 'X-1-0', '--remove', 'Y-1-0'], spec);
    expect(() => chooseAction(a, ['add', 'remove'], 'base')).toThrow(/choose one/);
  });
  it('rejects an option without its value', () => {
    const a = parseVerbArgs(['--add'], spec);
    expect(() => optValue(a, 'add', 'base')).toThrow(/needs a value/);
  });
  it('takes an optional value', () => {
    expect(takeOptionalValue(['--add'], 'add')).toEqual({ rest: [], present: true, value: undefined });
    expect(takeOptionalValue(['--add', 'X-1-0', '--json'], 'add')).toEqual({ rest: ['--json'], present: true, value: 'X-1-0' });
    expect(takeOptionalValue(['--add=X-1-0+1'], 'add').value).toBe('X-1-0+1');
    expect(takeOptionalValue(['--add', '--dry-run'], 'add')).toEqual({ rest: ['--dry-run'], present: true, value: undefined });
    expect(() => takeOptionalValue(['--add', '--add'], 'add')).toThrow(UsageError);
  });
});
