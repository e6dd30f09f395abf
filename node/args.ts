import { ConfigError } from '../core/errors.js';

/**
 * Minimal argument parser shared by the CLI commands: positionals, `--flag value`,
 * `--flag=value`, and bare `--flag` for booleans listed in `booleans`. Unknown flags are the
 * caller's to reject (it knows which ones it takes).
 */
export interface ParsedArgs {
  positionals: string[];
  flags: Record<string, string>;
}

export function parseArgs(argv: readonly string[], booleans: readonly string[] = []): ParsedArgs {
  const positionals: string[] = [];
  const flags: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
      if (name === '') throw new ConfigError('BAD_FLAG', `bad flag ${JSON.stringify(a)}`);
      if (eq > 0) flags[name] = a.slice(eq + 1);
      else if (booleans.includes(name) || name.startsWith('no-')) flags[name] = 'true';
      else {
        const v = argv[i + 1];
        if (v === undefined || (v.startsWith('--') && v.length > 2)) {
          throw new ConfigError('BAD_FLAG', `--${name} needs a value`);
        }
        flags[name] = v;
        i++;
      }
    } else if (a === '-h') {
      flags.help = 'true';
    } else positionals.push(a);
  }
  return { positionals, flags };
}

/** Rejects flags outside `allowed` (exact names or prefixes ending with '.'). */
export function checkFlags(flags: Record<string, string>, allowed: readonly string[], command: string): void {
  for (const f of Object.keys(flags)) {
    const ok = allowed.some((a) => (a.endsWith('.') ? f.startsWith(a) : f === a));
    if (!ok)
      throw new ConfigError('UNKNOWN_FLAG', `${command}: unknown option --${f} (see ${command} --help)`);
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
