import { parseArgs as nodeParseArgs } from 'node:util';
import { ConfigError } from './errors.js';

/**
 * Command-line flags for every command (the node's, devnet's, the provider's), on Node's own
 * `util.parseArgs`: it does the lexing (`--flag value`, `--flag=value`, `--`, `-h`); this module only
 * turns its errors into `ConfigError`s that say what was not understood and what is known, and
 * hands back the flat `{flags, positionals}` the commands read.
 *
 * Two modes. With `strings` given, the flag set is closed: anything else is `UNKNOWN_FLAG`, listing
 * the known ones. Without it (commands whose flags depend on a sub-command, e.g. `tx TYPE`), every
 * `--name` not in `booleans` takes the next argument as its value, and the caller rejects the
 * names it does not read (`checkFlags`).
 */

export interface ParsedArgs {
  positionals: string[];
  /** Flag name → value; booleans are `'true'`. */
  flags: Record<string, string>;
}

export interface ArgSpec {
  /** Flags without a value. `help` (also `-h`) is always one. */
  booleans?: readonly string[];
  /** Flags with a value; when given, no other flag is accepted. */
  strings?: readonly string[];
}

type Options = Record<string, { type: 'string' | 'boolean'; short?: string }>;

export function parseArgs(argv: readonly string[], spec: ArgSpec = {}, command = 'openledger'): ParsedArgs {
  const booleans = new Set(['help', ...(spec.booleans ?? [])]);
  const options: Options = {};
  for (const b of booleans) options[b] = { type: 'boolean' };
  options.help = { type: 'boolean', short: 'h' };
  for (const s of spec.strings ?? []) options[s] = { type: 'string' };
  const known = [...Object.keys(options)].sort().map((o) => `--${o}`);
  try {
    const r = nodeParseArgs({
      args: [...argv],
      options,
      strict: spec.strings !== undefined,
      allowPositionals: true,
      tokens: true,
    });
    return spec.strings !== undefined ? fromValues(r.values, r.positionals) : fromTokens(r.tokens, booleans);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    const code = (e as { code?: string }).code;
    const m = /'(-{1,2}[^' ]+)/.exec((e as Error).message);
    const flag = m?.[1] ?? '?';
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION')
      throw new ConfigError(
        'UNKNOWN_FLAG',
        `${command}: unknown option ${flag}; known options: ${known.join(', ')} (see ${command} --help)`,
      );
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE')
      throw new ConfigError(
        'BAD_FLAG',
        booleans.has(flag.replace(/^-+/, '')) ? `${flag} takes no value` : `${flag} needs a value`,
      );
    throw new ConfigError('BAD_FLAG', `${command}: ${(e as Error).message}`);
  }
}

function fromValues(values: Record<string, unknown>, positionals: string[]): ParsedArgs {
  const flags: Record<string, string> = {};
  for (const [k, v] of Object.entries(values)) {
    if (v === undefined || v === false) continue;
    flags[k] = v === true ? 'true' : String(v);
  }
  return { positionals, flags };
}

type Token =
  | { kind: 'option'; name: string; rawName: string; index: number; value?: string; inlineValue?: boolean }
  | { kind: 'positional'; index: number; value: string }
  | { kind: 'option-terminator'; index: number };

/** Open mode: util.parseArgs reads an undeclared `--name value` as a boolean and a positional; pair them. */
function fromTokens(tokens: readonly Token[] | undefined, booleans: ReadonlySet<string>): ParsedArgs {
  const positionals: string[] = [];
  const flags: Record<string, string> = {};
  const list = tokens ?? [];
  let terminated = false;
  for (let i = 0; i < list.length; i++) {
    const t = list[i];
    if (t.kind === 'option-terminator') {
      terminated = true;
      continue;
    }
    if (t.kind === 'positional') {
      positionals.push(t.value);
      continue;
    }
    if (t.rawName.length === 2 && t.name !== 'help')
      throw new ConfigError('BAD_FLAG', `unknown short option ${t.rawName}; options are spelled --name`);
    if (t.name === '') throw new ConfigError('BAD_FLAG', `bad flag ${JSON.stringify(t.rawName)}`);
    if (t.inlineValue) {
      flags[t.name] = t.value ?? '';
      continue;
    }
    if (booleans.has(t.name) || t.name.startsWith('no-')) {
      flags[t.name] = 'true';
      continue;
    }
    const next = list[i + 1];
    if (terminated || next === undefined || next.kind !== 'positional' || next.index !== t.index + 1)
      throw new ConfigError('BAD_FLAG', `--${t.name} needs a value`);
    flags[t.name] = next.value;
    i++;
  }
  return { positionals, flags };
}

/** Rejects flags outside `allowed` (exact names or prefixes ending with '.'), listing the known ones. */
export function checkFlags(flags: Record<string, string>, allowed: readonly string[], command: string): void {
  for (const f of Object.keys(flags)) {
    const ok = allowed.some((a) => (a.endsWith('.') ? f.startsWith(a) : f === a));
    if (!ok)
      throw new ConfigError(
        'UNKNOWN_FLAG',
        `${command}: unknown option --${f}; known options: ${allowed.map((a) => (a.endsWith('.') ? `--${a}*` : `--${a}`)).join(', ')} (see ${command} --help)`,
      );
  }
}

export function intFlag(
  flags: Record<string, string>,
  name: string,
  def: number,
  min: number,
  max: number,
): number {
  const v = flags[name];
  if (v === undefined) return def;
  if (!/^\d+$/.test(v))
    throw new ConfigError('BAD_FLAG', `--${name}: expected a whole number, got ${JSON.stringify(v)}`);
  const n = Number(v);
  if (n < min || n > max) throw new ConfigError('BAD_FLAG', `--${name}: ${n} is outside [${min}, ${max}]`);
  return n;
}
