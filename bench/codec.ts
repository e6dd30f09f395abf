import { addressOf } from '../core/address.js';
import { decodeTx, encodeTx, signTx, verifyTxSignature, type TxOf } from '../core/tx.js';
import { generateKeyPair } from '../core/keys.js';
import { opsPerSecond } from './_measure.js';

export default async function codecBench(): Promise<Record<string, unknown>> {
  const kp = generateKeyPair();
  const tx: TxOf<'transfer'> = signTx(
    {
      version: 1,
      chainId: 'bench',
      type: 'transfer',
      sender: kp.publicKey,
      nonce: 7,
      gasLimit: 50_000,
      gasPrice: 1_000_000_000n,
      body: { to: addressOf(generateKeyPair().publicKey), amount: 1_500_000_000_000_000_000n },
    },
    kp.secretKey,
  );
  const bytes = encodeTx(tx);
  return {
    transferEncodeDecodePerSec: opsPerSecond(() => decodeTx(encodeTx(tx))),
    transferDecodeVerifyPerSec: opsPerSecond(() => verifyTxSignature(decodeTx(bytes))),
  };
}
