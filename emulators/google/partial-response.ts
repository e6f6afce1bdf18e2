import { badRequest } from './errors.js';

/**
 * Google's partial responses: the `fields` query parameter every Calendar v3 method takes
 * (developers.google.com/calendar/api/guides/performance#partial). Its syntax:
 * - `a,b` selects several fields;
 * - `a/b` selects `b` inside `a`, and `a(b,c)` several fields inside `a`; inside an array the
 *   selection applies to each element (`items(id,start)`);
 * - `*` selects every field of its level.
 * A selected field the answer does not have is left out, as Google does. A malformed selection is a
 * 400 before the method runs, so a write with one changes nothing.
 */

/** The fields selected at one level: a name maps to `true` (all of it) or to what to keep inside it. */
export interface Selection {
  readonly all: boolean;
  readonly fields: ReadonlyMap<string, Selection | true>;
}

const NAME = /[A-Za-z0-9_@.$-]/;

export function parseFieldSelection(expression: string): Selection {
  const parser = new SelectionParser(expression);
  const selection = parser.list();
  parser.end();
  return selection;
}

/** A copy of `value` with only the selected fields; arrays keep their length. */
export function selectFields(value: unknown, selection: Selection): unknown {
  if (Array.isArray(value)) return value.map((item) => selectFields(item, selection));
  if (selection.all || value === null || typeof value !== 'object') return value;
  const source = value as Record<string, unknown>;
  const kept: Record<string, unknown> = {};
  for (const [name, inner] of selection.fields) {
    if (!Object.prototype.hasOwnProperty.call(source, name)) continue;
    kept[name] = inner === true ? source[name] : selectFields(source[name], inner);
  }
  return kept;
}

/** The parser's working form of `Selection`. */
interface Building {
  all: boolean;
  fields: Map<string, Building | true>;
}

class SelectionParser {
  private at = 0;

  constructor(private readonly text: string) {}

  /** selector (',' selector)* */
  list(): Building {
    const level: Building = { all: false, fields: new Map() };
    do this.selector(level);
    while (this.take(','));
    return level;
  }

  end(): void {
    if (this.at < this.text.length) this.fail();
  }

  /** ('*' | name ('/' (name | '*'))* ('(' list ')')?), merged into `level` (`a/b,a/c` is `a(b,c)`). */
  private selector(level: Building): void {
    const path: string[] = [];
    do path.push(this.take('*') ? '*' : this.name());
    while (path[path.length - 1] !== '*' && this.take('/'));
    const leaf: Building | true = path[path.length - 1] !== '*' && this.take('(') ? this.closed(this.list()) : true;
    let at = level;
    for (let i = 0; i < path.length; i++) {
      const name = path[i] as string;
      if (at.all) return;
      if (name === '*') {
        at.all = true;
        at.fields.clear();
        return;
      }
      const existing = at.fields.get(name);
      if (existing === true) return;
      if (i === path.length - 1) {
        at.fields.set(name, existing === undefined || leaf === true ? leaf : merge(existing, leaf));
        return;
      }
      const inner: Building = existing ?? { all: false, fields: new Map() };
      at.fields.set(name, inner);
      at = inner;
    }
  }

  private closed(inner: Building): Building {
    if (!this.take(')')) this.fail();
    return inner;
  }

  private name(): string {
    const start = this.at;
    while (this.at < this.text.length && NAME.test(this.text[this.at] as string)) this.at++;
    if (this.at === start) this.fail();
    return this.text.slice(start, this.at);
  }

  private take(token: string): boolean {
    if (this.text[this.at] !== token) return false;
    this.at++;
    return true;
  }

  private fail(): never {
    throw badRequest(`Invalid field selection ${this.text}`, 'invalidParameter');
  }
}

/** Both selections of one field, as one. */
function merge(a: Building, b: Building): Building {
  if (a.all || b.all) return { all: true, fields: new Map() };
  for (const [name, inner] of b.fields) {
    const existing = a.fields.get(name);
    a.fields.set(name, existing === undefined || inner === true ? inner : existing === true ? true : merge(existing, inner));
  }
  return a;
}
