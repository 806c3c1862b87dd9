import { it } from 'vitest';
import { join } from 'node:path';
import { planLayerAdd } from '../../src/core/plans/verbs';
import { describeStep } from '../../src/core/steps';
import { STUB_CFG, kernelsOf, layoutRecords, makeBoot, planInput, syncBoot, tempDirs } from './helpers/plan-fixtures';
const tmp = tempDirs();
it('probe', async () => {
  const dir = tmp();
  const boot = makeBoot(dir, { cfg: STUB_CFG, env: {} });
  const kernels = await kernelsOf(join(dir, 'trees'), ['A-1-0', 'B-2-0']);
  const recs = layoutRecords(['A-1-0', 'B-2-0'], ['A-1-0+1', 'B-2-0+1']);
  await syncBoot(boot.boot, recs, kernels, { grubDDir: boot.grubDDir });
  const input = await planInput(boot.boot, recs, kernels, { grubDDir: boot.grubDDir });
  console.log(JSON.stringify(input.boot.grub?.env));
  for (const s of planLayerAdd({ ...input, now: new Date() }, 'B-2-0').steps) console.log(describeStep(s));
});
