import type { ShellQuoting } from './shell-quote.js';

/**
 * Where each hole of a command template sits in POSIX shell syntax, so a value put there can be
 * quoted for that place: bare words get single quotes, a value inside `"…"` gets backslash
 * escapes, a value inside `'…'` gets `'\''`. Places where no quoting makes a value literal
 * (command substitutions, backticks, `${…}` and `$((…))` expansions, `$'…'`, comments,
 * here-documents) are refused.
 *
 * The scan is a small model of the shell grammar, not a full parser. It errs towards refusing:
 * if the template ends inside an open quote or construct, every hole is refused, because the
 * model may have lost track of the quoting.
 */

/** A place where drydock refuses to put a value. */
export type RefusedPlace =
  | 'command-substitution'
  | 'backticks'
  | 'parameter-expansion'
  | 'arithmetic'
  | 'dollar-single-quotes'
  | 'comment'
  | 'here-document'
  | 'after-backslash'
  | 'after-dollar'
  | 'unbalanced';

export type HolePlace = { kind: 'quoted'; quoting: ShellQuoting } | { kind: 'refused'; place: RefusedPlace };

/** How each refused place reads in a message: "… inside a command substitution `$(…)`". */
export const REFUSED_PLACES: { readonly [K in RefusedPlace]: string } = {
  'command-substitution': 'inside a command substitution `$(…)`',
  backticks: 'inside backticks `…`',
  'parameter-expansion': 'inside a shell `${…}` expansion',
  arithmetic: 'inside an arithmetic expansion `$((…))`',
  'dollar-single-quotes': "inside `$'…'` quotes",
  comment: 'inside a shell comment',
  'here-document': 'inside a here-document',
  'after-backslash': 'right after a backslash',
  'after-dollar': 'right after a `$`',
  unbalanced: 'in a command whose quotes or brackets are not closed',
};

type Frame =
  | { type: 'shell'; nested: boolean; depth: number; wordStart: boolean; pending: HereDoc[] }
  | { type: 'single' | 'double' | 'dollar-single' | 'backticks' | 'comment' }
  | { type: 'parameter' | 'arithmetic'; depth: number }
  | { type: 'here-word'; raw: string; stripTabs: boolean }
  | { type: 'here-body'; doc: HereDoc; line: string; lineHasHole: boolean };

interface HereDoc {
  delimiter: string;
  stripTabs: boolean;
}

/** Frames inside which no hole is accepted, and why. */
const OPAQUE: Partial<Record<Frame['type'], RefusedPlace>> = {
  'dollar-single': 'dollar-single-quotes',
  backticks: 'backticks',
  comment: 'comment',
  parameter: 'parameter-expansion',
  arithmetic: 'arithmetic',
  'here-word': 'here-document',
  'here-body': 'here-document',
};

const CLOSED_BY_END = new Set<Frame['type']>(['comment', 'here-word', 'here-body']);

const HOLE = null;
type Token = string | typeof HOLE;

const WORD_BREAK = new Set([' ', '\t', '\n', ';', '&', '|', '(', ')', '<', '>']);

/**
 * Classifies the holes between `texts`: `texts[i]` comes before hole `i`, so there are
 * `texts.length - 1` holes. `texts` is the command as the shell will read it (template escapes
 * such as `$${` already turned into `${`).
 */
export function findHolePlaces(texts: readonly string[]): HolePlace[] {
  const tokens: Token[] = [];
  texts.forEach((text, index) => {
    if (index > 0) tokens.push(HOLE);
    tokens.push(...text);
  });
  return new HoleScanner(tokens).scan();
}

class HoleScanner {
  private readonly stack: Frame[] = [
    { type: 'shell', nested: false, depth: 0, wordStart: true, pending: [] },
  ];
  private readonly places: HolePlace[] = [];
  private escaped = false;
  private i = 0;

  constructor(private readonly tokens: readonly Token[]) {}

  scan(): HolePlace[] {
    while (this.i < this.tokens.length) {
      const token = this.tokens[this.i];
      if (token === HOLE || token === undefined) this.placeHole();
      else this.step(token);
      this.i++;
    }
    // A trailing comment or here-document is complete at the end of the command; nothing else is.
    const clean = this.stack.every(
      (frame) => (frame.type === 'shell' && !frame.nested) || CLOSED_BY_END.has(frame.type),
    );
    if (clean && !this.escaped) return this.places;
    return this.places.map((place) =>
      place.kind === 'quoted' ? { kind: 'refused', place: 'unbalanced' } : place,
    );
  }

  private top(): Frame {
    return this.stack[this.stack.length - 1] as Frame;
  }

  private peek(offset = 1): Token | undefined {
    return this.tokens[this.i + offset];
  }

  private placeHole(): void {
    this.places.push(this.classifyHole());
    const top = this.top();
    if (top.type === 'shell') top.wordStart = false;
    if (top.type === 'here-body') top.lineHasHole = true;
    if (top.type === 'here-word') top.raw += '\0';
    this.escaped = false;
  }

  private classifyHole(): HolePlace {
    for (let n = this.stack.length - 1; n >= 0; n--) {
      const frame = this.stack[n] as Frame;
      const opaque = OPAQUE[frame.type];
      if (opaque) return { kind: 'refused', place: opaque };
      if (frame.type === 'shell' && frame.nested) return { kind: 'refused', place: 'command-substitution' };
    }
    if (this.escaped) return { kind: 'refused', place: 'after-backslash' };
    const top = this.top();
    if (top.type === 'single') return { kind: 'quoted', quoting: 'single-quoted' };
    if (top.type === 'double') return { kind: 'quoted', quoting: 'double-quoted' };
    return { kind: 'quoted', quoting: 'unquoted' };
  }

  private step(c: string): void {
    const top = this.top();
    switch (top.type) {
      case 'single':
        if (c === "'") this.stack.pop();
        return;
      case 'dollar-single':
        if (this.takeEscape(c)) return;
        if (c === "'") this.stack.pop();
        return;
      case 'backticks':
        if (this.takeEscape(c)) return;
        if (c === '`') this.stack.pop();
        return;
      case 'comment':
        if (c === '\n') {
          this.stack.pop();
          this.step(c);
        }
        return;
      case 'double':
        if (this.takeEscape(c)) return;
        if (c === '"') this.stack.pop();
        else if (c === '`') this.stack.push({ type: 'backticks' });
        else if (c === '$') this.openDollar(false);
        return;
      case 'parameter':
        if (this.takeEscape(c)) return;
        if (c === "'") this.stack.push({ type: 'single' });
        else if (c === '"') this.stack.push({ type: 'double' });
        else if (c === '`') this.stack.push({ type: 'backticks' });
        else if (c === '$') this.openDollar(false);
        else if (c === '{') top.depth++;
        else if (c === '}') {
          if (top.depth === 0) this.stack.pop();
          else top.depth--;
        }
        return;
      case 'arithmetic':
        if (c === '$') this.openDollar(false);
        else if (c === '(') top.depth++;
        else if (c === ')') {
          if (top.depth > 0) top.depth--;
          else if (this.peek() === ')') {
            this.i++;
            this.stack.pop();
          }
        }
        return;
      case 'here-word':
        this.stepHereWord(top, c);
        return;
      case 'here-body':
        this.stepHereBody(top, c);
        return;
      case 'shell':
        this.stepShell(top, c);
        return;
    }
  }

  /** Backslash handling shared by the quoting contexts: true when `c` was consumed by it. */
  private takeEscape(c: string): boolean {
    if (this.escaped) {
      this.escaped = false;
      return true;
    }
    if (c === '\\') {
      this.escaped = true;
      return true;
    }
    return false;
  }

  private stepShell(frame: Extract<Frame, { type: 'shell' }>, c: string): void {
    const wordStart = frame.wordStart;
    frame.wordStart = WORD_BREAK.has(c);
    if (this.takeEscape(c)) {
      frame.wordStart = false;
      return;
    }
    if (c === "'") this.stack.push({ type: 'single' });
    else if (c === '"') this.stack.push({ type: 'double' });
    else if (c === '`') this.stack.push({ type: 'backticks' });
    else if (c === '$') this.openDollar(true);
    else if (c === '#' && wordStart) this.stack.push({ type: 'comment' });
    else if (c === '<' && this.peek() === '<') this.openHereDoc();
    else if (c === '(' && frame.nested) frame.depth++;
    else if (c === ')' && frame.nested) {
      if (frame.depth === 0) this.stack.pop();
      else frame.depth--;
    } else if (c === '\n' && frame.pending.length > 0) {
      const docs = frame.pending.splice(0);
      for (const doc of docs.reverse())
        this.stack.push({ type: 'here-body', doc, line: '', lineHasHole: false });
    }
  }

  /** `$` followed by `(`, `((`, `{`, or (outside double quotes) `'`; a hole right after is refused. */
  private openDollar(unquoted: boolean): void {
    const next = this.peek();
    if (next === HOLE) {
      this.places.push({ kind: 'refused', place: 'after-dollar' });
      this.i++;
      return;
    }
    if (next === '(' && this.peek(2) === '(') {
      this.i += 2;
      this.stack.push({ type: 'arithmetic', depth: 0 });
    } else if (next === '(') {
      this.i++;
      this.stack.push({ type: 'shell', nested: true, depth: 0, wordStart: true, pending: [] });
    } else if (next === '{') {
      this.i++;
      this.stack.push({ type: 'parameter', depth: 0 });
    } else if (next === "'" && unquoted) {
      this.i++;
      this.stack.push({ type: 'dollar-single' });
    }
  }

  /** `<<` or `<<-` starts a here-document (its body begins after the next newline); `<<<` does not. */
  private openHereDoc(): void {
    if (this.peek(2) === '<') {
      this.i += 2;
      return;
    }
    this.i++;
    const stripTabs = this.peek() === '-';
    if (stripTabs) this.i++;
    this.stack.push({ type: 'here-word', raw: '', stripTabs });
  }

  private stepHereWord(frame: Extract<Frame, { type: 'here-word' }>, c: string): void {
    if (frame.raw === '' && (c === ' ' || c === '\t')) return;
    const quoteOpen =
      (frame.raw.split("'").length - 1) % 2 === 1 || (frame.raw.split('"').length - 1) % 2 === 1;
    if (frame.raw !== '' && !quoteOpen && WORD_BREAK.has(c)) {
      this.stack.pop();
      const shell = this.top();
      if (shell.type === 'shell') {
        shell.pending.push({ delimiter: frame.raw.replace(/['"\\]/g, ''), stripTabs: frame.stripTabs });
      }
      this.step(c);
      return;
    }
    frame.raw += c;
  }

  private stepHereBody(frame: Extract<Frame, { type: 'here-body' }>, c: string): void {
    if (c !== '\n') {
      frame.line += c;
      return;
    }
    const line = frame.doc.stripTabs ? frame.line.replace(/^\t+/, '') : frame.line;
    if (!frame.lineHasHole && line === frame.doc.delimiter) this.stack.pop();
    frame.line = '';
    frame.lineHasHole = false;
  }
}
