// /etc/imgbased/boot.conf (core/boot-config): defaults, comments, each key, and an error naming file:line for
// every bad line, so a typo never silently turns a safety off.
import { describe, expect, it } from 'vitest';
import { BOOT_CONF, DEFAULT_BOOT_CONFIG, parseBootConfig } from '../../src/core/boot-config';
import { DEFAULT_TRIES, MAX_TRIES } from '../../src/core/boot-state';

describe('parseBootConfig', () => {
  it('defaults: 3 tries, 60 s checks, reboot on failure, failed units not counted', () => {
    expect(DEFAULT_BOOT_CONFIG).toEqual({ tries: DEFAULT_TRIES, checkTimeoutS: 60, rebootOnFailure: true, failedUnits: false });
    expect(DEFAULT_TRIES).toBe(3);
  });

  it('no file, an empty file, blank lines and comments give the defaults', () => {
    for (const text of [null, '', '\n\n', '   \n\t\n', '# tries=0\n', '  # reboot-on-failure=no\n#\n']) {
      expect(parseBootConfig(text)).toEqual(DEFAULT_BOOT_CONFIG);
    }
  });

  it('returns a fresh object (the defaults are never modified)', () => {
    const c = parseBootConfig('tries=1');
    expect(c).not.toBe(DEFAULT_BOOT_CONFIG);
    expect(DEFAULT_BOOT_CONFIG.tries).toBe(DEFAULT_TRIES);
  });

  it('reads every key; blanks around = and the line, trailing comments and CRLF are fine', () => {
    const text = [
      '# boot counting',
      'tries = 5   # five',
      '  check-timeout=120',
      'reboot-on-failure= no\r',
      'failed-units =yes',
      '',
    ].join('\n');
    expect(parseBootConfig(text)).toEqual({ tries: 5, checkTimeoutS: 120, rebootOnFailure: false, failedUnits: true });
  });

  it('the last line of a key wins', () => {
    expect(parseBootConfig('tries=2\ntries=7\n').tries).toBe(7);
  });

  it('tries: 0 (counting off) up to MAX_TRIES', () => {
    for (let n = 0; n <= MAX_TRIES; n++) expect(parseBootConfig(`tries=${n}`).tries).toBe(n);
  });

  it('check-timeout: 1 up to 86400 seconds', () => {
    expect(parseBootConfig('check-timeout=1').checkTimeoutS).toBe(1);
    expect(parseBootConfig('check-timeout=86400').checkTimeoutS).toBe(86400);
  });

  it.each([
    ['1', true], ['yes', true], ['true', true], ['on', true], ['YES', true], ['True', true],
    ['0', false], ['no', false], ['false', false], ['off', false], ['NO', false], ['Off', false],
  ])('booleans: %j is %s', (v, want) => {
    expect(parseBootConfig(`reboot-on-failure=${v}`).rebootOnFailure).toBe(want);
    expect(parseBootConfig(`failed-units=${v}`).failedUnits).toBe(want);
  });

  describe('errors name the file and line', () => {
    const F = '/etc/imgbased/boot.conf';
    it('uses BOOT_CONF as the file name unless given one', () => {
      expect(BOOT_CONF).toBe(F);
      expect(() => parseBootConfig('tries=x')).toThrow(`${F}:1: `);
      expect(() => parseBootConfig('tries=x', '/tmp/b.conf')).toThrow('/tmp/b.conf:1: ');
    });

    it.each([
      ['tries', MAX_TRIES + 1, `tries must be a whole number from 0 to ${MAX_TRIES}`],
      ['tries', '-1', `tries must be a whole number from 0 to ${MAX_TRIES}`],
      ['tries', '1.5', `tries must be a whole number from 0 to ${MAX_TRIES}`],
      ['tries', 'three', `tries must be a whole number from 0 to ${MAX_TRIES}`],
      ['tries', '', `tries must be a whole number from 0 to ${MAX_TRIES}`],
      ['check-timeout', '0', 'check-timeout must be a whole number from 1 to 86400'],
      ['check-timeout', '86401', 'check-timeout must be a whole number from 1 to 86400'],
      ['check-timeout', '60s', 'check-timeout must be a whole number from 1 to 86400'],
      ['reboot-on-failure', 'maybe', 'reboot-on-failure must be yes or no'],
      ['reboot-on-failure', '', 'reboot-on-failure must be yes or no'],
      ['reboot-on-failure', '2', 'reboot-on-failure must be yes or no'],
      ['failed-units', 'y', 'failed-units must be yes or no'],
      ['failed-units', 'enabled', 'failed-units must be yes or no'],
    ])('%s=%j', (key, v, msg) => {
      // On line 3, after a comment and a good line, so the line number is really counted.
      expect(() => parseBootConfig(`# boot.conf\ntries=2\n${key}=${v}\n`, F)).toThrow(`${F}:3: ${msg}`);
    });

    it('an unknown key (a typo) lists the known ones', () => {
      expect(() => parseBootConfig('\nreboot-on-failures=no\n', F))
        .toThrow(`${F}:2: unknown setting reboot-on-failures (known: tries, check-timeout, reboot-on-failure, failed-units)`);
      expect(() => parseBootConfig('retries=3', F)).toThrow(`${F}:1: unknown setting retries`);
    });

    it('a line that is not key=value (keys are lowercase words with dashes)', () => {
      for (const [line, shown] of [['tries', 'tries'], ['tries 3', 'tries 3'], ['Tries=3', 'Tries=3'], ['check_timeout=5', 'check_timeout=5'],
        ['=3', '=3'], ['  garbage here  # c', 'garbage here  # c']]) {
        expect(() => parseBootConfig(`\n\n\n${line}`, F)).toThrow(`${F}:4: expected key=value, got ${JSON.stringify(shown)}`);
      }
    });

    it('the first bad line is the one reported', () => {
      expect(() => parseBootConfig('tries=3\nfoo=1\ntries=x\n', F)).toThrow(`${F}:2: unknown setting foo`);
    });
  });
});
