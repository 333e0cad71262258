import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../fixtures/build';

/**
 * The README's code blocks, as the README tests read them. Every TypeScript block is preceded by a
 * marker that the rendered page does not show: `<!-- example: NAME -->` for a whole program that a
 * test runs against an in-process server, or `<!-- fragment: NAME -->` for one that can only be
 * typechecked (none today; each would need a reason).
 *
 * @example
 * ```ts
 * const code = exampleCode('sending'); // the block's text, as a reader copies it
 * ```
 */

/** One fenced block of the README. */
export interface ReadmeBlock {
  /** The fence's language: `ts`, `sh`. */
  lang: string;
  /** The block's text, without the fences. */
  code: string;
  /** The 1-based line of the opening fence, for messages. */
  line: number;
  /** From the marker before a `ts` block. */
  marker?: { kind: 'example' | 'fragment'; name: string };
}

export const README_PATH = join(ROOT, 'README.md');

const FENCE = /^```(\w*)\n([^]*?)^```$/gm;
const MARKER = /<!-- (example|fragment): ([\w-]+) -->\n$/;

/** Every fenced block of the README, in order. */
export function readmeBlocks(text = readFileSync(README_PATH, 'utf8')): ReadmeBlock[] {
  return [...text.matchAll(FENCE)].map((m) => {
    const before = text.slice(Math.max(0, m.index - 80), m.index);
    const marker = MARKER.exec(before);
    const block: ReadmeBlock = { lang: m[1]!, code: m[2]!, line: text.slice(0, m.index).split('\n').length };
    if (marker !== null) block.marker = { kind: marker[1] as 'example' | 'fragment', name: marker[2]! };
    return block;
  });
}

/** The text of the example block named `name`; throws when the README has none (or two). */
export function exampleCode(name: string): string {
  const found = readmeBlocks().filter((b) => b.marker?.kind === 'example' && b.marker.name === name);
  if (found.length !== 1) throw new Error(`the README has ${found.length} examples named ${JSON.stringify(name)}, not one`);
  return found[0]!.code;
}

/**
 * `code` with each `[from, to]` replaced everywhere: a placeholder of the README (a host, a delay)
 * mapped to the test's own. Throws when a `from` is missing, so that an example edited away from
 * its test fails loudly rather than running against the wrong place.
 */
export function rewrite(code: string, replacements: readonly (readonly [string, string])[]): string {
  let out = code;
  for (const [from, to] of replacements) {
    if (!out.includes(from)) throw new Error(`the example no longer contains ${JSON.stringify(from)}`);
    out = out.replaceAll(from, to);
  }
  return out;
}

/** One command of a `sh` block: `NAME=value` assignments before it, then its words. */
export interface ShellCommand {
  env: Record<string, string>;
  argv: string[];
  /** The command as written (continuations joined), for test titles. */
  text: string;
}

/**
 * The commands of a `sh` block: comments dropped, `\` continuations joined, `&&` separating
 * commands, words split as a POSIX shell would for what the README writes (single and double
 * quotes, no expansions; no `#` or `&&` inside quotes).
 */
export function shellCommands(code: string): ShellCommand[] {
  const joined = code.replace(/\\\n\s*/g, '');
  const commands: ShellCommand[] = [];
  for (const line of joined.split('\n')) {
    for (const raw of line.replace(/\s+#.*$/, '').split(' && ')) commands.push(...shellCommand(raw));
  }
  return commands;
}

/** One command (no `&&`), or none for a blank line. */
function shellCommand(raw: string): ShellCommand[] {
  const words = shellWords(raw);
  if (words.length === 0) return [];
  const env: Record<string, string> = {};
  while (words.length > 0 && /^[A-Z_][A-Z0-9_]*=/.test(words[0]!)) {
    const [name, ...value] = words.shift()!.split('=');
    env[name!] = value.join('=');
  }
  return [{ env, argv: words, text: raw.trim() }];
}

/** The words of one line, up to an unquoted `#`. */
function shellWords(line: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === "'" || c === '"') {
      const end = line.indexOf(c, i + 1);
      if (end < 0) throw new Error(`unterminated ${c} in: ${line}`);
      word = (word ?? '') + line.slice(i + 1, end);
      i = end;
    } else if (c === '#' && word === undefined) {
      break;
    } else if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else {
      word = (word ?? '') + c;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}
