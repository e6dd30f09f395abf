import { describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../core/keys.js';
import { decryptKey, encryptKey } from '../../node/keystore.js';

// Cheap scrypt parameters keep the test fast; the format and checks are the same.
const FAST = { N: 1 << 10, r: 8, p: 1 } as const;

describe('keystore', () => {
  it('round-trips a key with the right passphrase', async () => {
    const kp = generateKeyPair();
    const file = await encryptKey(kp, 'correct horse battery', FAST);
    expect((await decryptKey(file, 'correct horse battery')).secretKey).toEqual(kp.secretKey);
  });

  it('rejects a wrong passphrase and any tampering', async () => {
    const kp = generateKeyPair();
    const file = await encryptKey(kp, 'correct horse battery', FAST);
    await expect(decryptKey(file, 'wrong horse battery')).rejects.toThrow(/wrong passphrase/);
    const flipped = {
      ...file,
      cipher: {
        ...file.cipher,
        ciphertext: file.cipher.ciphertext.replace(/^./, (c) => (c === '0' ? '1' : '0')),
      },
    };
    await expect(decryptKey(flipped, 'correct horse battery')).rejects.toThrow(/wrong passphrase|modified/);
    const swapped = { ...file, address: `0x${'00'.repeat(20)}` };
    await expect(decryptKey(swapped, 'correct horse battery')).rejects.toThrow();
    await expect(decryptKey({ ...file, version: 9 }, 'correct horse battery')).rejects.toThrow(/version/);
    await expect(decryptKey({ ...file, kdf: { ...file.kdf, N: 1 << 30 } }, 'x')).rejects.toThrow(
      /out of range/,
    );
  });

  it('refuses short passphrases', async () => {
    await expect(encryptKey(generateKeyPair(), 'short', FAST)).rejects.toThrow(/at least 8/);
  });
});
