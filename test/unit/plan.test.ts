import { describe, expect, it } from 'vitest';
import { describe as describeAction, rewriteFstabRoot, type Action } from '../../src/core/plan';
import { layerSteps, baseFromSnapshot } from '../../src/cli/layout';

describe('rewriteFstabRoot', () => {
  it('replaces only the device of the / line', () => {
    const before = '# comment /\nUUID=abc / ext4 errors=remount-ro 0 1\nUUID=def /boot ext4 defaults 0 2\n';
    expect(rewriteFstabRoot(before, '/dev/HostVG/X-1-0+2')).toBe(
      '# comment /\n/dev/HostVG/X-1-0+2 / ext4 errors=remount-ro 0 1\nUUID=def /boot ext4 defaults 0 2\n',
    );
  });
  it('keeps a file without a / line byte for byte', () => {
    const t = 'proc /proc proc defaults 0 0\n\n';
    expect(rewriteFstabRoot(t, '/dev/x')).toBe(t);
  });
});

describe('plans', () => {
  it('a layer is created incomplete and completed last', () => {
    const steps = layerSteps('HostVG', 'X-1-0', 'X-1-0+1');
    expect(steps[0]).toMatchObject({ kind: 'snapshot', origin: 'X-1-0', name: 'X-1-0+1', tags: ['imgbased:layer', 'imgbased:incomplete'] });
    expect(steps[steps.length - 1]).toMatchObject({ kind: 'lv-untag', tag: 'imgbased:incomplete' });
  });
  it('a base is made read-only before it is marked complete', () => {
    const kinds = baseFromSnapshot('HostVG', 'root', 'X-1-0').map((a) => a.kind);
    expect(kinds.indexOf('read-only')).toBeLessThan(kinds.indexOf('lv-untag'));
    expect(kinds.indexOf('new-fs-uuid')).toBeLessThan(kinds.indexOf('read-only'));
  });
  it('every action has a description', () => {
    const all: Action[] = [...layerSteps('V', 'a-1-0', 'a-1-0+1'), { kind: 'boot-sync' }, { kind: 'remove-lv', vg: 'V', lv: 'x' }];
    for (const a of all) expect(describeAction(a)).toMatch(/\w/);
  });
});
