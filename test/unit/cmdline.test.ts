import { describe, expect, test } from 'vitest';
import { imgbasedArgs, parseCmdline } from '../../src/core/cmdline';

describe('parseCmdline (kernel rules)', () => {
  test.each([
    ['', []],
    ['   \n', []],
    ['ro quiet', [{ key: 'ro', value: null }, { key: 'quiet', value: null }]],
    ['root=/dev/HostVG/root  rd.lvm.lv=HostVG/root\n', [
      { key: 'root', value: '/dev/HostVG/root' }, { key: 'rd.lvm.lv', value: 'HostVG/root' }]],
    ['a=b=c', [{ key: 'a', value: 'b=c' }]],
    ['a=', [{ key: 'a', value: '' }]],
    ['k="a b"', [{ key: 'k', value: 'a b' }]],
    ['"k=a b"', [{ key: 'k', value: 'a b' }]],
    ['"a b"', [{ key: 'a b', value: null }]],
    ['k=a"b c"d e', [{ key: 'k', value: 'a"b c"d' }, { key: 'e', value: null }]],
    ['k="', [{ key: 'k', value: '' }]],
    ['k="unterminated rest', [{ key: 'k', value: 'unterminated rest' }]],
    ['=x', [{ key: '=x', value: null }]],
    ['=x=y', [{ key: '=x', value: 'y' }]],
    ['\tx=1\ty=2', [{ key: 'x', value: '1' }, { key: 'y', value: '2' }]],
    ['a -- imgbased.layer=x', [{ key: 'a', value: null }]],
  ])('%j', (text, want) => {
    expect(parseCmdline(text)).toEqual(want);
  });
});

describe('imgbasedArgs', () => {
  const none = { present: false, layer: null, vg: null, debug: false, disabled: false };
  test.each([
    ['BOOT_IMAGE=/vmlinuz root=/dev/HostVG/root ro', none],
    ['imgbased.layer=Image-13-0+2', { ...none, present: true, layer: 'Image-13-0+2' }],
    ['imgbased.layer=a imgbased.layer=b', { ...none, present: true, layer: 'b' }],
    ['imgbased.layer=latest imgbased.vg=HostVG imgbased.debug', { present: true, layer: 'latest', vg: 'HostVG', debug: true, disabled: false }],
    ['imgbased.layer', { ...none, present: true, layer: '' }],
    ['imgbased.layer=', { ...none, present: true, layer: '' }],
    ['imgbased.layer="../../x $(reboot)"', { ...none, present: true, layer: '../../x $(reboot)' }],
    ['imgbased.debug=0', { ...none, present: true }],
    ['imgbased.debug=1 imgbased.debug=no', { ...none, present: true }],
    ['imgbased.debug imgbased.debug=yes', { ...none, present: true, debug: true }],
    ['rd.imgbased=0 imgbased.layer=x', { ...none, present: true, layer: 'x', disabled: true }],
    ['rd.imgbased=0 rd.imgbased=1', { ...none, disabled: false }],
    ['rd.imgbased=0', { ...none, disabled: true }],
    ['rd.imgbased=no', { ...none, disabled: true }],
    ['imgbased.other=1', { ...none, present: true }],
    ['imgbasedx.layer=1 myimgbased.layer=2', none],
  ])('%j', (text, want) => {
    expect(imgbasedArgs(text)).toEqual(want);
  });

  test('a 4 KB value is kept raw (select rejects it)', () => {
    expect(imgbasedArgs(`imgbased.layer=${'a'.repeat(4096)}`).layer).toHaveLength(4096);
  });
});
