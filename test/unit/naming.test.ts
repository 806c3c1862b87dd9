import { describe, expect, test } from 'vitest';
import {
  compareBaseNames, compareLayerNames, formatNvr, layerName, parseLayerName, parseNvr, rpmvercmp,
  validateBaseName, validateLayerName,
} from '../../src/core/naming';

describe('rpmvercmp', () => {
  // From rpm's own tests/rpmvercmp.at, plus the orderings the issue names.
  const table: Array<[string, string, number]> = [
    ['1.0', '1.0', 0], ['1.0', '2.0', -1], ['2.0', '1.0', 1], ['2.0.1', '2.0.1', 0], ['2.0', '2.0.1', -1],
    ['2.0.1', '2.0', 1], ['2.0.1a', '2.0.1a', 0], ['2.0.1a', '2.0.1', 1], ['2.0.1', '2.0.1a', -1],
    ['5.5p1', '5.5p1', 0], ['5.5p1', '5.5p2', -1], ['5.5p2', '5.5p1', 1], ['5.5p10', '5.5p10', 0],
    ['5.5p1', '5.5p10', -1], ['5.5p10', '5.5p1', 1], ['10xyz', '10.1xyz', -1], ['10.1xyz', '10xyz', 1],
    ['xyz10', 'xyz10', 0], ['xyz10', 'xyz10.1', -1], ['xyz10.1', 'xyz10', 1], ['xyz.4', 'xyz.4', 0],
    ['xyz.4', '8', -1], ['8', 'xyz.4', 1], ['xyz.4', '2', -1], ['2', 'xyz.4', 1], ['5.5p2', '5.6p1', -1],
    ['5.6p1', '5.5p2', 1], ['5.6p1', '6.5p1', -1], ['6.5p1', '5.6p1', 1], ['6.0.rc1', '6.0', 1],
    ['6.0', '6.0.rc1', -1], ['10b2', '10a1', 1], ['10a2', '10b2', -1], ['1.0aa', '1.0aa', 0],
    ['1.0a', '1.0aa', -1], ['1.0aa', '1.0a', 1], ['10.0001', '10.0001', 0], ['10.0001', '10.1', 0],
    ['10.1', '10.0001', 0], ['10.0001', '10.0039', -1], ['10.0039', '10.0001', 1], ['4.999.9', '5.0', -1],
    ['5.0', '4.999.9', 1], ['20101121', '20101121', 0], ['20101121', '20101122', -1], ['20101122', '20101121', 1],
    ['2_0', '2_0', 0], ['2.0', '2_0', 0], ['2_0', '2.0', 0], ['a', 'a', 0], ['a+', 'a+', 0], ['a+', 'a_', 0],
    ['a_', 'a+', 0], ['+a', '+a', 0], ['+a', '_a', 0], ['_a', '+a', 0], ['+_', '+_', 0], ['_+', '+_', 0],
    ['_+', '_+', 0], ['+', '_', 0], ['_', '+', 0],
    ['1.0~rc1', '1.0~rc1', 0], ['1.0~rc1', '1.0', -1], ['1.0', '1.0~rc1', 1], ['1.0~rc1', '1.0~rc2', -1],
    ['1.0~rc2', '1.0~rc1', 1], ['1.0~rc1~git123', '1.0~rc1~git123', 0], ['1.0~rc1~git123', '1.0~rc1', -1],
    ['1.0~rc1', '1.0~rc1~git123', 1],
    ['1.0^', '1.0^', 0], ['1.0^', '1.0', 1], ['1.0', '1.0^', -1], ['1.0^git1', '1.0^git1', 0], ['1.0^git1', '1.0', 1],
    ['1.0', '1.0^git1', -1], ['1.0^git1', '1.0^git2', -1], ['1.0^git2', '1.0^git1', 1], ['1.0^git1', '1.01', -1],
    ['1.01', '1.0^git1', 1], ['1.0^20160101', '1.0.1', -1], ['1.0.1', '1.0^20160101', 1],
    ['1.0^20160102', '1.0^20160101^git1', 1], ['1.0^20160101^git1', '1.0^20160102', -1],
    ['1.0~rc1^git1', '1.0~rc1', 1], ['1.0~rc1', '1.0~rc1^git1', -1], ['1.0^git1', '1.0^git1~pre', 1],
    ['1.0^git1~pre', '1.0^git1', -1],
    // Ours: leading zeros, long numbers beyond 2^53, empty strings.
    ['007', '7', 0], ['0', '00', 0], ['12345678901234567890', '12345678901234567891', -1], ['', '', 0], ['', '1', -1],
    ['1', '', 1],
  ];
  test.each(table)('rpmvercmp(%j, %j) = %i', (a, b, want) => {
    expect(rpmvercmp(a, b)).toBe(want);
  });
});

describe('NVR', () => {
  test.each([
    ['rhvh-4.3-0.2', { name: 'rhvh', version: '4.3', release: '0.2' }],
    ['ovirt-node-ng-4.3.9-0.20200324.0', { name: 'ovirt-node-ng', version: '4.3.9', release: '0.20200324.0' }],
    ['Image-13-0', { name: 'Image', version: '13', release: '0' }],
  ])('parseNvr(%j)', (s, want) => {
    expect(parseNvr(s)).toEqual(want);
    expect(formatNvr(want)).toBe(s);
  });
  test.each(['', 'rhvh', 'rhvh-4.3', '-4.3-1', 'a--1', 'a-1-', 'a-1--'])('parseNvr(%j) is null', (s) => {
    expect(parseNvr(s)).toBeNull();
  });
});

describe('layer names', () => {
  test('parse and format', () => {
    expect(parseLayerName('X-1-0+2')).toEqual({ base: 'X-1-0', index: 2 });
    expect(parseLayerName('ovirt-node-ng-4.3.9-0.20200324.0+1')).toEqual({ base: 'ovirt-node-ng-4.3.9-0.20200324.0', index: 1 });
    expect(layerName('X-1-0', 10)).toBe('X-1-0+10');
  });
  test.each(['X-1-0', 'X-1-0+', 'X-1-0+0', 'X-1-0+01', 'X-1-0+-1', 'X-1-0+1.5', 'X-1-0+a', 'X+1', 'X-1-0+1+2',
    '+1', 'X-1-0+1234567890', ''])('parseLayerName(%j) is null', (s) => {
    expect(parseLayerName(s)).toBeNull();
    expect(validateLayerName(s)).toEqual(expect.any(String));
  });
});

describe('ordering', () => {
  test('bases sort by name, then version, then release', () => {
    const names = ['Image-13-0', 'Image-2-0', 'Image-2-10', 'Image-2-9', 'Alpha-99-0', 'Image-2~rc1-0', 'Image-2-0.1'];
    expect([...names].sort(compareBaseNames)).toEqual([
      'Alpha-99-0', 'Image-2~rc1-0', 'Image-2-0', 'Image-2-0.1', 'Image-2-9', 'Image-2-10', 'Image-13-0',
    ]);
  });
  test('layers sort by base, then index numerically', () => {
    const names = ['X-1-0+10', 'X-1-0+2', 'Image-13-0+1', 'Image-2-0+3', 'X-1-0+1', 'Image-2-0+1'];
    expect([...names].sort(compareLayerNames)).toEqual([
      'Image-2-0+1', 'Image-2-0+3', 'Image-13-0+1', 'X-1-0+1', 'X-1-0+2', 'X-1-0+10',
    ]);
  });
  test('the order is total: equal-by-rpm names still get a fixed order', () => {
    expect(compareBaseNames('A-1.0-1', 'A-1_0-1')).not.toBe(0);
    expect(Math.sign(compareBaseNames('A-1.0-1', 'A-1_0-1'))).toBe(-Math.sign(compareBaseNames('A-1_0-1', 'A-1.0-1')));
    expect(compareBaseNames('A-1-1', 'A-1-1')).toBe(0);
  });
  test('a base sorts right before its own layers', () => {
    expect(['X-2-0', 'X-1-0+2', 'X-2-0+1', 'X-1-0', 'X-1-0+1'].sort(compareLayerNames)).toEqual([
      'X-1-0', 'X-1-0+1', 'X-1-0+2', 'X-2-0', 'X-2-0+1',
    ]);
  });
  test('non-NVR and non-layer names sort first', () => {
    expect(['B-1-0', 'junk'].sort(compareBaseNames)).toEqual(['junk', 'B-1-0']);
    expect(['B-1-0+1', 'junk'].sort(compareLayerNames)).toEqual(['junk', 'B-1-0+1']);
  });
});

describe('validation', () => {
  test.each(['Image-13-0', 'rhvh-4.3-0.20190101.0', 'a_b-1.0-1', 'x'.repeat(96) + '-1-0'])('valid base %j', (s) => {
    expect(validateBaseName(s)).toBeNull();
  });
  test.each([
    ['', /empty/],
    ['x'.repeat(97) + '-1-0', /longer than 100/],
    ['Image-1-0+1', /may only contain/],
    ['Image 1-0', /may only contain/],
    ['../x-1-0', /may only contain/],
    ['-x-1-0', /start with a letter or digit/],
    ['.x-1-0', /start with a letter or digit/],
    ['snapshot-1-0', /reserved by LVM/],
    ['pvmove-1-0', /reserved by LVM/],
    ['a_tdata-1-0', /reserved by LVM/],
    ['Image', /name-version-release/],
    ['Image-1', /name-version-release/],
    ['Imäge-1-0', /may only contain/],
  ])('invalid base %j', (s, re) => {
    expect(validateBaseName(s)).toMatch(re);
  });
  test.each(['Image-13-0+1', 'Image-13-0+10', 'rhvh-4.3-0.20190101.0+999999999'])('valid layer %j', (s) => {
    expect(validateLayerName(s)).toBeNull();
  });
  test.each([
    ['Image-13-0', /not a layer name/],
    ['Image-13-0+01', /without leading zeros/],
    ['Image-13-0+0', /positive integer/],
    ['Image+1', /base part must be name-version-release/],
    ['Image-1-0+1+2', /base part may only contain/],
    ['Image-1-0/+1', /may only contain/],
    ['x'.repeat(95) + '-1-0+1', /longer than 100/],
  ])('invalid layer %j', (s, re) => {
    expect(validateLayerName(s)).toMatch(re);
  });
});

describe('order properties (seeded random strings)', () => {
  // Small LCG so failures reproduce.
  let seed = 12345;
  const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
  const word = (alphabet: string): string => Array.from({ length: rnd(8) }, () => alphabet[rnd(alphabet.length)]).join('');
  test('rpmvercmp is antisymmetric and reflexive', () => {
    for (let k = 0; k < 3000; k++) {
      const a = word('0019ab.~^_');
      const b = word('0019ab.~^_');
      expect(rpmvercmp(a, b)).toBe(-rpmvercmp(b, a) || 0);
      expect(rpmvercmp(a, a)).toBe(0);
    }
  });
  test('compareLayerNames sorts deterministically whatever the input order', () => {
    const names = Array.from({ length: 60 }, () => `N${word('ab')}-${word('019.') || '1'}-${word('019') || '0'}+${1 + rnd(20)}`);
    const once = [...names].sort(compareLayerNames);
    const again = [...names].reverse().sort(compareLayerNames);
    expect(again).toEqual(once);
  });
});
