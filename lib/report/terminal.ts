/**
 * Text that fits a terminal: how wide the output may be, lines wrapped at word
 * boundaries with a hanging indent (a number and its unit, an address, a path stay
 * whole), and colour only where a person reads it. Piped output with no width asked
 * for keeps whole lines, so grep finds a claim and its evidence on one line.
 */

/** The narrowest width honoured: below it a table or a claim has no room left at all. */
export const MIN_WIDTH = 40;

/**
 * The width output must fit: `--width` first, then `COLUMNS`, then the terminal's
 * own columns; none of them (output piped or redirected): undefined.
 */
export function outputWidth(
  option: number | undefined,
  env: NodeJS.ProcessEnv,
  stream: { isTTY?: boolean; columns?: number },
): number | undefined {
  if (option !== undefined) return Math.max(MIN_WIDTH, option);
  const columns = Number(env['COLUMNS']);
  if (env['COLUMNS'] !== undefined && Number.isSafeInteger(columns) && columns > 0) return Math.max(MIN_WIDTH, columns);
  if (stream.isTTY === true && typeof stream.columns === 'number' && stream.columns > 0)
    return Math.max(MIN_WIDTH, stream.columns);
  return undefined;
}

/** Colour only on a terminal, never under NO_COLOR (https://no-color.org: any non-empty value). */
export function useColour(env: NodeJS.ProcessEnv, stream: { isTTY?: boolean }): boolean {
  return stream.isTTY === true && !(env['NO_COLOR'] !== undefined && env['NO_COLOR'] !== '');
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

/** Columns a string takes in a terminal: escape sequences take none, each code point one. */
export function displayWidth(text: string): number {
  return [...text.replace(ANSI, '')].length;
}

/** Styles for the verdict marks and headings; plain text when colour is off. */
export interface Palette {
  confirmed(text: string): string;
  refuted(text: string): string;
  inconclusive(text: string): string;
  bold(text: string): string;
  dim(text: string): string;
}

const sgr = (on: string) => (text: string) => `\x1b[${on}m${text}\x1b[0m`;
const plain = (text: string) => text;

export function palette(colour: boolean): Palette {
  return colour
    ? { confirmed: sgr('32'), refuted: sgr('31'), inconclusive: sgr('33'), bold: sgr('1'), dim: sgr('2') }
    : { confirmed: plain, refuted: plain, inconclusive: plain, bold: plain, dim: plain };
}

/** Colours the verdict marks of finished text ("✔ confirmed", "✘ refuted", "? inconclusive", and a lone ✔ ✘). */
export function paintVerdicts(line: string, colours: Palette): string {
  return line.replace(/✔ confirmed|✘ refuted|\? inconclusive|✔|✘/g, (mark) =>
    mark.startsWith('✔')
      ? colours.confirmed(mark)
      : mark.startsWith('✘')
        ? colours.refuted(mark)
        : colours.inconclusive(mark),
  );
}

/**
 * Where a wrapped line's continuation starts: under the text after a bullet
 * (•, -, →, ✗, ±, ≠), after a verdict mark and its dash ("node  ✔ confirmed — "),
 * or two columns in from the line's own indent.
 */
function hangingIndent(line: string, width: number): { head: string; hang: number } {
  const indent = /^ */.exec(line)![0];
  const verdict = /^ *\S+ +(?:✔ confirmed|✘ refuted|\? inconclusive)(?: \d+\/\d+)? — /.exec(line);
  const bullet = /^ *(?:[•\-→✗±≠*] |\d+\. )/.exec(line);
  // A deep indent on a narrow terminal would leave a thin column: a third of the width at most.
  const limit = Math.floor(width / 3);
  // The prefix is kept as written (its padding aligns the worlds' names), the continuation under its end.
  for (const prefix of [verdict?.[0], bullet?.[0]])
    if (prefix !== undefined && prefix.length <= limit) return { head: prefix, hang: prefix.length };
  return { head: indent, hang: Math.min(indent.length + 2, limit) };
}

const UNIT = /^(?:B|KiB|MiB|GiB|TiB|kB|MB|GB|bytes?|ms|s|µs|ns|%|pages?)[,;.:)\]]*$/;

/** Words of a line, joined where a break would split a number from its unit ("10.1 MiB", "5 s", "× 1024"). */
function words(text: string): string[] {
  const raw = text.split(/ +/).filter((word) => word !== '');
  const joined: string[] = [];
  for (const word of raw) {
    const previous = joined.at(-1);
    if (previous !== undefined && ((/\d$/.test(previous) && UNIT.test(word)) || /^[×~≈±]$/.test(previous)))
      joined[joined.length - 1] = `${previous} ${word}`;
    else joined.push(word);
  }
  return joined;
}

/** A word too long for any line, cut after a separator (/ , : = .) where it can be, never inside a run of digits. */
function cutWord(word: string, room: number): [string, string] {
  const characters = [...word];
  let cut = -1;
  for (let index = Math.min(room, characters.length) - 1; index > 0; index--) {
    if ('/,:=;&'.includes(characters[index - 1]!)) {
      cut = index;
      break;
    }
  }
  if (cut <= 0) {
    cut = Math.min(room, characters.length);
    // Step back out of a number (hex or decimal) so that it stays whole on the next line.
    while (cut > 1 && /[0-9a-fA-Fx.]/.test(characters[cut - 1]!) && /[0-9a-fA-Fx.]/.test(characters[cut] ?? '')) cut--;
    if (cut <= 1) cut = Math.min(room, characters.length);
  }
  return [characters.slice(0, cut).join(''), characters.slice(cut).join('')];
}

/** One line wrapped to width: continuation lines hang under the text (hangingIndent). */
export function wrapLine(line: string, width: number | undefined): string[] {
  if (width === undefined || displayWidth(line) <= width) return [line];
  const { head, hang: hangWidth } = hangingIndent(line, width);
  const hang = ' '.repeat(hangWidth);
  const out: string[] = [];
  let current = head;
  let fresh = true;
  const pending = words(line.slice(head.length));
  while (pending.length > 0) {
    const word = pending.shift()!;
    const candidate = fresh ? current + word : `${current} ${word}`;
    if (displayWidth(candidate) <= width) {
      current = candidate;
      fresh = false;
      continue;
    }
    if (!fresh) {
      out.push(current);
      current = hang;
      fresh = true;
      pending.unshift(word);
      continue;
    }
    // Alone on its line and still too wide: a long path or list, cut where it reads best.
    const [head, tail] = cutWord(word, width - displayWidth(current));
    out.push(current + head);
    current = hang;
    if (tail !== '') pending.unshift(tail);
  }
  if (!fresh || out.length === 0) out.push(current);
  return out;
}

/** Every line of text wrapped to width (undefined: unchanged). */
export function fitText(text: string, width: number | undefined): string {
  if (width === undefined) return text;
  return text
    .split('\n')
    .flatMap((line) => wrapLine(line.trimEnd(), width))
    .join('\n');
}
