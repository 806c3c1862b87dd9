// GRUB script rendering (for grub.d/42_imgbased on GRUBs without blscfg): the stub grub.cfg carries and the menu
// file it sources. Everything written into GRUB script goes through grubQuote/grubWord.
import { entryCmdline, entryId, splitCmdlineTokens, type BlsEntry } from './bls';


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
}

/** A /boot-relative path as a GRUB word behind the stub's $imgbased_boot ("" or "/boot"). */
function bootPath(p: string): string {
  return `"\${imgbased_boot}"${grubWord(p.startsWith('/') ? p : `/${p}`)}`;
}

/**
 * The menu file (GRUB_MENU_FILE), sourced by the stub: one menuentry per layer (newest first) with stable ids
 * `imgbased-<layer>`, and a block choosing the default when the stub allows it: the saved_entry when it names one
 * of ours, the newest layer when saved_entry is empty; a one-shot next_entry (00_header sets boot_once) or a
 * saved_entry naming someone else's entry are left alone.
 */
export function renderGrubMenu(input: GrubMenuInput): string {
  const entries = input.entries.filter((e) => e.entry.linux);
  // The count is also what keeps a menu without entries a valid script: grub-script-check rejects a file of comments.
  const out: string[] = [
    '# imgbased: one entry per layer, newest first. Written by imgbase on every layer change; sourced by grub.cfg.',
    `set imgbased_entries=${entries.length}`,
  ];
  for (const { layer, entry } of entries) {
    const title = entry.title ?? `imgbased ${layer}`;
    out.push(`menuentry ${grubQuote(title)} --class imgbased --class gnu-linux --class os --id ${grubQuote(entryId(layer))} {`);
    out.push('\tinsmod gzio');
    out.push('\timgbased_prepare');
    out.push(`\techo ${grubQuote(`Loading imgbased layer ${layer} ...`)}`);
    const args = splitCmdlineTokens(entryCmdline(entry)).map(grubWord);
    out.push(`\tlinux ${[bootPath(entry.linux!), ...args].join(' ')}`);
    if (entry.initrd.length > 0) out.push(`\tinitrd ${entry.initrd.map(bootPath).join(' ')}`);
    out.push('}');
  }
  const ids = entries.map((e) => grubQuote(entryId(e.layer)));
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
  }
  return `${out.join('\n')}\n`;
}
