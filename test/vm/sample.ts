// `npm test` runs a sample of the longest VM chains (it must stay within its time budget on Debian 13 guests, whose
// boots under TCG are the slowest); IMGBASED_FULL=1 runs every step of them (npm run test:d12, test:d13).
// What the sample leaves out is named where each chain is defined.

/** True when the whole of every chain runs. */
export const FULL = /^(1|yes|true)$/i.test(process.env.IMGBASED_FULL ?? '');

/** For guest scripts: `FULL=1` or `FULL=0`. */
export const FULL_SH = `FULL=${FULL ? 1 : 0}\n`;
