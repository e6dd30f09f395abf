import { describe, expect, it, vi } from 'vitest';
import '../../core/polyfill.js';

type WithResolvers = {
  withResolvers<T>(): { promise: Promise<T>; resolve(v: T): void; reject(e: unknown): void };
};

describe('Promise.withResolvers polyfill', () => {
  it('is installed (Node 20 lacks it; the setup file imports the polyfill)', () => {
    expect(typeof (Promise as unknown as WithResolvers).withResolvers).toBe('function');
  });

  it('resolves and rejects', async () => {
    const P = Promise as unknown as WithResolvers;
    const a = P.withResolvers<number>();
    a.resolve(7);
    await expect(a.promise).resolves.toBe(7);
    const b = P.withResolvers<number>();
    b.reject(new Error('no'));
    await expect(b.promise).rejects.toThrow('no');
  });

  it('the fallback behaves like the native one', async () => {
    // Re-run the module body against a Promise without withResolvers.
    const saved = Object.getOwnPropertyDescriptor(Promise, 'withResolvers');
    delete (Promise as unknown as Record<string, unknown>).withResolvers;
    try {
      vi.resetModules();
      await import('../../core/polyfill.js');
      const { promise, resolve } = (Promise as unknown as WithResolvers).withResolvers<string>();
      resolve('ok');
      await expect(promise).resolves.toBe('ok');
    } finally {
      if (saved) Object.defineProperty(Promise, 'withResolvers', saved);
    }
  });
});
