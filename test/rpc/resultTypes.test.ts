import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ChainApi } from '../../rpc/chainApi.js';
import { chainMethods } from '../../rpc/methods.js';
import { RESULT_SCHEMAS } from '../../rpc/results.js';
import { generateResultTypes, RESULT_TYPES_PATH } from '../../rpc/tools/genResultTypes.js';

/**
 * The client's result types cannot drift from the OpenRPC document: rpc/resultTypes.ts must be
 * exactly what the generator derives from the result schemas the document serves, and it must
 * type every `ol_` method the server has.
 */
describe('generated client result types', () => {
  it('rpc/resultTypes.ts is current (else: npx tsx rpc/tools/genResultTypes.ts --write)', () => {
    expect(readFileSync(RESULT_TYPES_PATH, 'utf8')).toBe(generateResultTypes());
  });

  it('types every ol_ method of the server', () => {
    const text = generateResultTypes();
    const names = chainMethods({} as ChainApi)
      .map((m) => m.name)
      .filter((n) => n.startsWith('ol_'));
    expect(names.length).toBeGreaterThan(20);
    for (const n of names) expect(text).toMatch(new RegExp(`^  ${n}: [A-Z]\\w+Result;$`, 'm'));
  });

  it('a schema change makes the committed file stale (the check bites)', () => {
    const balance = RESULT_SCHEMAS.account.properties.balance;
    try {
      (RESULT_SCHEMAS.account.properties as Record<string, unknown>).balance = { type: 'integer' };
      const changed = generateResultTypes();
      expect(changed).not.toBe(readFileSync(RESULT_TYPES_PATH, 'utf8'));
      expect(changed).toMatch(/export type AccountResult = \{\n {2}address: string;\n {2}balance: number;/);
    } finally {
      (RESULT_SCHEMAS.account.properties as Record<string, unknown>).balance = balance;
    }
  });
});
