// `imgbase initrd <step>`: the early-boot half. Steps are called by the dracut module's glue (its
// generator is plain sh: see dracut/90imgbased/imgbased-generator):
//   select                       imgbased-select.service: choose, activate and check the layer, publish the alias
//   status [--json]              the decision of this boot (same as `imgbase boot --status`)
// Only core + a few adapters are imported here; the userland verbs and execa are never loaded.
import { useSpawner } from '../adapters/exec';
import { spawnNode } from '../adapters/spawn-node';
import { selectStep } from './select';

const USAGE = 'usage: imgbase initrd select | status [--json]';

export async function runInitrd(argv: string[]): Promise<number> {
  useSpawner(spawnNode);
  const [step, ...rest] = argv;
  switch (step) {
    case 'select':
      return selectStep();
    case 'status': {
      const { bootStatusCommand } = await import('../cli/boot-status');
      return bootStatusCommand(rest, { json: rest.includes('--json'), dryRun: false, debug: false });
    }
    default:
      process.stderr.write(`${USAGE}\n`);
      return 2;
  }
}
