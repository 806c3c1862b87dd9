// Options given before the verb. Boolean globals (--json, --dry-run, --debug) may stand anywhere, so main reads
// them from the whole argv. `--lock-timeout S` takes a value, so before the verb its value would be taken for the
// verb ("unknown verb 5"); it is lifted out here and handed to the verb as its own option, where lockTimeout()
// reads it. Pure, so it is unit-tested.
import { UsageError } from '../core/errors';

export interface SplitArgv {
  /** The verb (first word that is not an option), undefined when there is none. */
  verb: string | undefined;
  /** Everything else for the verb, options before the verb included, plus `--lock-timeout S` if given globally. */
  verbArgv: string[];
}

const OPT = '--lock-timeout';

/** Checked here, not only in the verb: a read-only verb never calls lockTimeout() but a typo should still fail. */
function seconds(v: string | undefined): string {
  if (v === undefined || v === '' || !Number.isFinite(Number(v)) || Number(v) < 0) {
    throw new UsageError(`${OPT} needs a number of seconds`, { hint: "see 'imgbase --help'" });
  }
  return v;
}

export function splitGlobalArgs(words: string[]): SplitArgv {
  const before: string[] = [];
  let timeout: string | undefined;
  let i = 0;
  for (; i < words.length; i++) {
    const a = words[i]!;
    if (a === OPT || a.startsWith(`${OPT}=`)) {
      if (timeout !== undefined) throw new UsageError(`${OPT} given more than once`);
      // The value is the next word whatever it looks like: "--lock-timeout layer" is a missing number, not a verb.
      timeout = seconds(a === OPT ? words[++i] : a.slice(OPT.length + 1));
    } else if (a.startsWith('-')) {
      before.push(a);
    } else {
      break;
    }
  }
  const verb = words[i];
  const after = words.slice(i + 1);
  if (timeout === undefined) return { verb, verbArgv: [...before, ...after] };
  // What follows `--` is a command's own (enter): the option goes before it.
  const cut = after.includes('--') ? after.indexOf('--') : after.length;
  // Both before and after the verb would reach minimist as an array and fail with a vaguer message.
  if (after.slice(0, cut).some((a) => a === OPT || a.startsWith(`${OPT}=`))) throw new UsageError(`${OPT} given more than once`);
  return { verb, verbArgv: [...before, ...after.slice(0, cut), OPT, timeout, ...after.slice(cut)] };
}
