// imgbase w: which layer is running.
import { parseVerbArgs, printJson, type GlobalOpts } from './args';
import { loadInventory, noPositional, runningLayer, runningLv } from './context';

export const usage = `usage: imgbase w [--json]

Prints the layer the running system is on.`;

export async function wCommand(argv: string[], g: GlobalOpts): Promise<number> {
  noPositional(parseVerbArgs(argv, { verb: 'w', usage }), 'w');
  const inv = await loadInventory();
  const layer = await runningLayer(inv);
  const lv = layer ? layer.lv : await runningLv(inv);
  if (g.json) {
    printJson({ layer: layer?.name ?? null, base: layer?.base ?? null, lv: lv ? `${lv.vg}/${lv.name}` : null });
  } else if (layer) {
    console.log(`You are on ${layer.name}`);
  } else {
    console.log(`You are not on an imgbased layer${lv ? ` (root is ${lv.vg}/${lv.name})` : ''}`);
  }
  return layer ? 0 : 1;
}
