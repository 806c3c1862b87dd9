// GRUB script rendering (for grub.d/42_imgbased on GRUBs without blscfg): the stub grub.cfg carries and the menu
// file it sources. Everything written into GRUB script goes through grubQuote/grubWord.
import { entryCmdline, entryId, splitCmdlineTokens, type BlsEntry } from './bls';
import { ENV, MAX_TRIES } from './boot-state';


/** GRUB script single-quoted word: everything literal; a ' is closed, escaped, reopened (as grub-mkconfig_lib). */
export function grubQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A kernel argument word for a GRUB `linux` line: plain when it holds only inert characters, else quoted. */
export function grubWord(s: string): string {
  return /^[A-Za-z0-9_.,:/=+@%^-]+$/.test(s) ? s : grubQuote(s);
}

/** Name of the menu file imgbase writes next to grub.cfg; grub.cfg only holds a stub that sources it. */
export const GRUB_MENU_FILE = 'imgbased.cfg';
/** Bumped when the stub's contract with the menu file changes: an older stub in grub.cfg makes imgbase rerun grub-mkconfig. */
export const GRUB_STUB_VERSION = 1;
const GRUB_STUB_MARKER = 'imgbased-grub-stub v';

/** Version of the imgbased stub in a grub.cfg, or null when it has none (never generated with 42_imgbased, or it failed). */
export function grubStubVersion(cfg: string): number | null {
  const m = new RegExp(`^# ${GRUB_STUB_MARKER}(\\d+)\\b`, 'm').exec(cfg);
  return m ? Number(m[1]) : null;
}

/** Non-empty lines of grub-mkconfig_lib's prepare_grub_to_access_device output. */
function prepareLines(prepare: string): string[] {
  return prepare.split('\n').map((l) => l.trim()).filter(Boolean);
}

export interface GrubStubInput {
  /** Path of the boot filesystem's root as GRUB sees it: "" when /boot is its own partition, else "/boot". */
  bootPrefix: string;
  /** Lines from grub-mkconfig_lib's prepare_grub_to_access_device (insmod/search) that make $root the /boot device. */
  prepare: string;
  /** Directory of grub.cfg under /boot: "grub" (Debian) or "grub2" (Fedora-like); the menu file lives there too. */
  grubDir: string;
  /** Whether the menu file may choose the default (off when the admin set GRUB_DEFAULT to something explicit). */
  manageDefault: boolean;
}

/**
 * What grub.d/42_imgbased puts in grub.cfg (the grub-btrfs pattern): everything only grub-mkconfig knows (how to
 * reach /boot, its path, the GRUB_DEFAULT policy), and a `source` of the menu file imgbase rewrites on every layer
 * change, so a write verb never reruns grub-mkconfig. `source` runs the file in this context: its entries join this
 * menu at this point (after the distribution's own), and the default / next_entry ids resolve against the whole menu
 * when GRUB draws it, after grub.cfg has run.
 */
export function renderGrubStub(input: GrubStubInput): string {
  if (!/^grub2?$/.test(input.grubDir)) throw new Error(`unexpected GRUB directory ${input.grubDir}`);
  const prep = prepareLines(input.prepare);
  const menu = `"\${imgbased_boot}/${input.grubDir}/${GRUB_MENU_FILE}"`;
  return [
    `# ${GRUB_STUB_MARKER}${GRUB_STUB_VERSION}: the imgbased layers' entries are in ${input.grubDir}/${GRUB_MENU_FILE}, written by imgbase`,
    // Called by every entry of the menu file: entries run in the menu's context, where $root may be anything.
    'function imgbased_prepare {',
    ...(prep.length > 0 ? prep : ['true']).map((l) => `\t${l}`),
    '}',
    `set imgbased_boot=${grubQuote(input.bootPrefix)}`,
    `set imgbased_manage_default=${input.manageDefault ? 1 : 0}`,
    // Later grub.d scripts (40_custom) expect the $root they had before: restore it after reading the menu file.
    'set imgbased_saved_root="${root}"',
    'imgbased_prepare',
    `if [ -f ${menu} ]; then`,
    `\tsource ${menu}`,
    'fi',
    'set root="${imgbased_saved_root}"',
  ].join('\n') + '\n';
}

export interface GrubMenuInput {
  /** Our entries, newest first. */
  entries: Array<{ layer: string; entry: BlsEntry }>;
  /** Layers marked bad: listed after the others, never the default, still bootable by hand. */
  bad?: ReadonlySet<string>;
}

/** A /boot-relative path as a GRUB word behind the stub's $imgbased_boot ("" or "/boot"). */
function bootPath(p: string): string {
  return `"\${imgbased_boot}"${grubWord(p.startsWith('/') ? p : `/${p}`)}`;
}

const ARM = `\${${ENV.arm}}`;

/**
 * Boot counting in GRUB script (core/boot-state has the variables). Debian's GRUB has no arithmetic, so the tries
 * used are read and advanced with explicit chains, one line per value. imgbased_count carries the arm id: a value
 * left from an earlier arm reads as 0.
 */
export function countingFunctions(max = MAX_TRIES): string[] {
  const out: string[] = ['function imgbased_tries_used {', '\tset imgbased_used=0'];
  for (let n = 1; n <= max; n++) out.push(`\tif [ "\${${ENV.count}}" = "${ARM}:${n}" ]; then set imgbased_used=${n}; fi`);
  out.push('\tset imgbased_spent=0');
  for (let n = 1; n <= max; n++) {
    out.push(`\tif [ "\${${ENV.tries}}" = ${n} -a "\${imgbased_used}" -ge ${n} ]; then set imgbased_spent=1; fi`);
  }
  out.push('}');
  // Called first by every entry of ours: a try is counted (and saved) when the armed layer's entry is booted,
  // whether by default, by next_entry or by hand.
  out.push('function imgbased_count_try {');
  out.push(`\tif [ -n "${ARM}" -a "$1" = "\${${ENV.try}}" ]; then`);
  out.push('\t\timgbased_tries_used');
  for (let n = 0; n < max; n++) {
    out.push(`\t\tif [ "\${imgbased_used}" = ${n} ]; then set ${ENV.count}="${ARM}:${n + 1}"; fi`);
  }
  out.push(`\t\tsave_env ${ENV.count}`);
  out.push('\tfi');
  out.push('}');
  return out;
}

/**
 * The menu file (GRUB_MENU_FILE), sourced by the stub: one menuentry per layer (newest first, bad ones last) with
 * stable ids `imgbased-<layer>`, and a block choosing the default when the stub allows it: the saved_entry when it
 * names one of ours that is not bad, the newest layer that is not bad when saved_entry is empty; a one-shot
 * next_entry (00_header sets boot_once) or a saved_entry naming someone else's entry are left alone. Then the
 * armed try: when the entry about to boot is the armed layer and its tries are used up, GRUB boots the fallback
 * layer by id instead and leaves imgbased_fell=<arm> for userland.
 */
export function renderGrubMenu(input: GrubMenuInput): string {
  const bad = input.bad ?? new Set<string>();
  const all = input.entries.filter((e) => e.entry.linux);
  const entries = [...all.filter((e) => !bad.has(e.layer)), ...all.filter((e) => bad.has(e.layer))];
  // The count is also what keeps a menu without entries a valid script: grub-script-check rejects a file of comments.
  const out: string[] = [
    '# imgbased: one entry per layer, newest first. Written by imgbase on every layer change; sourced by grub.cfg.',
    `set imgbased_entries=${entries.length}`,
  ];
  if (entries.length > 0) out.push(...countingFunctions());
  for (const { layer, entry } of entries) {
    const title = (entry.title ?? `imgbased ${layer}`) + (bad.has(layer) ? ' (marked bad)' : '');
    out.push(`menuentry ${grubQuote(title)} --class imgbased --class gnu-linux --class os --id ${grubQuote(entryId(layer))} {`);
    out.push(`\timgbased_count_try ${grubQuote(layer)}`);
    out.push('\tinsmod gzio');
    out.push('\timgbased_prepare');
    out.push(`\techo ${grubQuote(`Loading imgbased layer ${layer} ...`)}`);
    const args = splitCmdlineTokens(entryCmdline(entry)).map(grubWord);
    out.push(`\tlinux ${[bootPath(entry.linux!), ...args].join(' ')}`);
    if (entry.initrd.length > 0) out.push(`\tinitrd ${entry.initrd.map(bootPath).join(' ')}`);
    out.push('}');
  }
  const ids = entries.filter((e) => !bad.has(e.layer)).map((e) => grubQuote(entryId(e.layer)));
  if (ids.length > 0) {
    out.push('if [ "${imgbased_manage_default}" = 1 -a -z "${boot_once}" ]; then');
    out.push(`\tset imgbased_default=${ids[0]}`);
    out.push(`\tfor imgbased_id in ${ids.join(' ')}; do`);
    out.push('\t\tif [ "${saved_entry}" = "${imgbased_id}" ]; then set imgbased_default="${imgbased_id}"; fi');
    out.push('\tdone');
    out.push('\tif [ -z "${saved_entry}" -o "${saved_entry}" = "${imgbased_default}" ]; then');
    out.push('\t\tset default="${imgbased_default}"');
    out.push('\tfi');
    out.push('fi');
    out.push(`if [ -n "${ARM}" -a -n "\${${ENV.tryId}}" -a "\${default}" = "\${${ENV.tryId}}" ]; then`);
    out.push('\timgbased_tries_used');
    out.push('\tif [ "${imgbased_spent}" = 1 ]; then');
    // The way back, by id: the armed fallback when it is one of ours and not bad, else the newest such layer.
    out.push('\t\tset imgbased_back=');
    out.push(`\t\tfor imgbased_id in ${ids.join(' ')}; do`);
    out.push(`\t\t\tif [ -z "\${imgbased_back}" -a "\${imgbased_id}" != "\${default}" ]; then set imgbased_back="\${imgbased_id}"; fi`);
    out.push('\t\tdone');
    out.push(`\t\tfor imgbased_id in ${ids.join(' ')}; do`);
    out.push(`\t\t\tif [ "\${imgbased_id}" = "\${${ENV.fallback}}" -a "\${imgbased_id}" != "\${default}" ]; then set imgbased_back="\${imgbased_id}"; fi`);
    out.push('\t\tdone');
    out.push('\t\tif [ -n "${imgbased_back}" ]; then');
    out.push(`\t\t\techo "imgbased: \${${ENV.try}} used up its \${${ENV.tries}} boot tries; booting \${imgbased_back}"`);
    out.push('\t\t\tset default="${imgbased_back}"');
    out.push(`\t\t\tif [ "\${${ENV.fell}}" != "${ARM}" ]; then set ${ENV.fell}="${ARM}"; save_env ${ENV.fell}; fi`);
    out.push('\t\tfi');
    out.push('\tfi');
    out.push('fi');
  }
  return `${out.join('\n')}\n`;
}
