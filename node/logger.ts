import { type Logger, pino } from 'pino';

/** Structured JSON logs (pino) to stdout; one child logger per module (`{ mod: 'p2p' }`). */
export type { Logger };

export function createLogger(level: string, name: string): Logger {
  return pino({ level, name, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime });
}
