// A tiny interpreter for the subset of GRUB script core/grub-script renders (set, if/then/else/fi, [ = != -n -z -ge
// -a -o ], for..in..do..done, function, menuentry, save_env), and one boot simulated with it: 00_header's
// next_entry / saved_entry handling, the menu file run as the stub sources it, then the default entry's body.
// Anything outside the subset throws, so a construct the renderer starts using is noticed, not misread.

interface Piece { text: string; expand: boolean }
type Tok = { w: Piece[] } | { sep: true };
type Cmd =
  | { k: 'simple'; words: Piece[][] }
  | { k: 'if'; cond: Cmd[]; then: Cmd[]; else: Cmd[] }
  | { k: 'for'; v: string; items: Piece[][]; body: Cmd[] }
  | { k: 'function'; name: string; body: Cmd[] }
  | { k: 'menuentry'; args: Piece[][]; body: Cmd[] };

function tokenize(src: string): Tok[] {
  const toks: Tok[] = [];
  let word: Piece[] | null = null;
  const add = (text: string, expand: boolean): void => void (word ??= []).push({ text, expand });
  const end = (): void => { if (word) toks.push({ w: word }); word = null; };
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === '#' && word === null) { while (i < src.length && src[i] !== '\n') i++; i--; }
    else if (c === ' ' || c === '\t') end();
    else if (c === '\n' || c === ';') { end(); toks.push({ sep: true }); }
    else if (c === "'") { const j = src.indexOf("'", i + 1); if (j < 0) throw new Error('unterminated quote'); add(src.slice(i + 1, j), false); i = j; }
    else if (c === '"') {
      let s = '';
      for (i++; src[i] !== '"'; i++) {
        if (i >= src.length) throw new Error('unterminated double quote');
        if (src[i] === '\\' && '"\\$'.includes(src[i + 1]!)) i++;
        s += src[i];
      }
      add(s, true);
    } else if (c === '\\') add(src[++i]!, false);
    else add(c, true);
  }
  end();
  return toks;
}

const KEYWORDS = new Set(['if', 'then', 'else', 'fi', 'for', 'in', 'do', 'done', 'function', 'menuentry', '{', '}']);
const kw = (t: Tok | undefined): string | null =>
  t && 'w' in t && t.w.every((p) => p.expand) && KEYWORDS.has(t.w.map((p) => p.text).join('')) ? t.w.map((p) => p.text).join('') : null;

function parse(toks: Tok[]): Cmd[] {
  let i = 0;
  const skip = (): void => { while (toks[i] && 'sep' in toks[i]!) i++; };
  const expect = (k: string): void => { skip(); if (kw(toks[i]) !== k) throw new Error(`expected ${k} at token ${i}`); i++; };
  const words = (stop: (t: Tok) => boolean): Piece[][] => {
    const out: Piece[][] = [];
    while (toks[i] && !stop(toks[i]!)) { const t = toks[i++]!; if ('w' in t) out.push(t.w); }
    return out;
  };
  const plain = (): string => { const t = toks[i++]; if (!t || !('w' in t)) throw new Error('expected a word'); return t.w.map((p) => p.text).join(''); };
  const block = (ends: string[]): Cmd[] => {
    const out: Cmd[] = [];
    for (skip(); i < toks.length && !ends.includes(kw(toks[i]) ?? ''); skip()) out.push(command());
    if (ends.length > 0 && i >= toks.length) throw new Error(`missing ${ends.join('/')}`);
    return out;
  };
  const command = (): Cmd => {
    const k = kw(toks[i]);
    if (k === 'if') {
      i++;
      const cond = block(['then']); expect('then');
      const then = block(['else', 'fi']);
      let els: Cmd[] = [];
      if (kw(toks[i]) === 'else') { i++; els = block(['fi']); }
      expect('fi');
      return { k: 'if', cond, then, else: els };
    }
    if (k === 'for') {
      i++;
      const v = plain(); expect('in');
      const items = words((t) => 'sep' in t); expect('do');
      const body = block(['done']); expect('done');
      return { k: 'for', v, items, body };
    }
    if (k === 'function') { i++; const name = plain(); expect('{'); const body = block(['}']); expect('}'); return { k: 'function', name, body }; }
    if (k === 'menuentry') { i++; const args = words((t) => kw(t) === '{'); expect('{'); const body = block(['}']); expect('}'); return { k: 'menuentry', args, body }; }
    if (k !== null) throw new Error(`unexpected ${k} at token ${i}`);
    return { k: 'simple', words: words((t) => 'sep' in t) };
  };
  return block([]);
}

export interface Entry { id: string; title: string; body: Cmd[] }

export class Grub {
  readonly vars = new Map<string, string>();
  readonly saved = new Map<string, string>();
  readonly funcs = new Map<string, Cmd[]>();
  readonly entries: Entry[] = [];
  readonly echoes: string[] = [];
  readonly linux: string[][] = [];

  constructor(env: Record<string, string>) { for (const [k, v] of Object.entries(env)) this.vars.set(k, v); }

  private word(w: Piece[], pos: string[]): string {
    return w.map((p) => (p.expand ? p.text.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a?: string, b?: string) => {
      const n = (a ?? b)!;
      return /^\d+$/.test(n) ? pos[Number(n) - 1] ?? '' : this.vars.get(n) ?? '';
    }) : p.text)).join('');
  }

  private test(a: string[]): boolean {
    return a.join('\u0000').split('\u0000-o\u0000').some((g) => g.split('\u0000-a\u0000').every((atom) => {
      const x = atom.split('\u0000');
      if (x.length === 2 && x[0] === '-n') return x[1] !== '';
      if (x.length === 2 && x[0] === '-z') return x[1] === '';
      if (x.length === 3 && x[1] === '=') return x[0] === x[2];
      if (x.length === 3 && x[1] === '!=') return x[0] !== x[2];
      if (x.length === 3 && x[1] === '-ge') return (Number(x[0]) || 0) >= (Number(x[2]) || 0);
      throw new Error(`test: unsupported ${JSON.stringify(x)}`);
    }));
  }

  run(cmds: Cmd[], pos: string[] = []): number {
    let status = 0;
    for (const c of cmds) {
      if (c.k === 'if') status = this.run(this.run(c.cond, pos) === 0 ? c.then : c.else, pos);
      else if (c.k === 'for') for (const it of c.items) { this.vars.set(c.v, this.word(it, pos)); status = this.run(c.body, pos); }
      else if (c.k === 'function') this.funcs.set(c.name, c.body);
      else if (c.k === 'menuentry') {
        const a = c.args.map((w) => this.word(w, pos));
        this.entries.push({ id: a[a.indexOf('--id') + 1]!, title: a[0]!, body: c.body });
      } else status = this.simple(c.words.map((w) => this.word(w, pos)));
    }
    return status;
  }

  private simple([name, ...args]: string[]): number {
    if (name === 'set') for (const a of args) { const j = a.indexOf('='); this.vars.set(a.slice(0, j), a.slice(j + 1)); }
    else if (name === '[') { if (args.pop() !== ']') throw new Error('[ without ]'); return this.test(args) ? 0 : 1; }
    else if (name === 'save_env') for (const a of args) this.saved.set(a, this.vars.get(a) ?? '');
    else if (name === 'echo') this.echoes.push(args.join(' '));
    else if (name === 'linux') this.linux.push(args);
    else if (this.funcs.has(name!)) return this.run(this.funcs.get(name!)!, args);
    else if (!['insmod', 'initrd', 'imgbased_prepare', 'true'].includes(name!)) throw new Error(`unknown command ${name}`);
    return 0;
  }
}

export function parseGrub(src: string): Cmd[] {
  return parse(tokenize(src));
}

export interface Boot {
  /** Id of the entry GRUB booted, or null: not one of ours (GRUB's entry 0 or a foreign one). */
  entry: string | null;
  /** grubenv after the boot (save_env writes; a one-shot next_entry cleared). */
  env: Record<string, string>;
  echoes: string[];
}

/** One boot: 00_header (next_entry -> default once, else saved_entry), the menu file, the default entry's body. */
export function simulateBoot(menu: string, env: Record<string, string>, o: { manageDefault?: boolean; pick?: string } = {}): Boot {
  const g = new Grub(env);
  const after = { ...env };
  if (env.next_entry) {
    g.vars.set('default', env.next_entry);
    g.vars.set('boot_once', 'true');
    delete after.next_entry;
  } else g.vars.set('default', env.saved_entry ?? '');
  g.vars.set('imgbased_manage_default', o.manageDefault === false ? '0' : '1');
  g.vars.set('imgbased_boot', '');
  g.run(parseGrub(menu));
  const id = o.pick ?? g.vars.get('default') ?? '';
  const e = g.entries.find((x) => x.id === id) ?? null;
  if (e) g.run(e.body);
  return { entry: e?.id ?? null, env: { ...after, ...Object.fromEntries(g.saved) }, echoes: g.echoes };
}
