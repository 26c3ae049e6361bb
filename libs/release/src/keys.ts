import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@custodian/core';

/**
 * Per-bid pseudonymisation keys (random 32 bytes) and per-release token seeds, stored encrypted
 * with AES-256-GCM under a key derived by HKDF from PSEUDONYM_KEY_SECRET. Plain keys live only in
 * memory for the length of a job and reach PostgreSQL as bound parameters, never in SQL text,
 * logs or errors.
 */
@Injectable()
export class ReleaseKeys {
  private readonly kek: Buffer;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.kek = Buffer.from(
      hkdfSync('sha256', config.pseudonymKeySecret, 'custodian-release', 'bid-pseudonym-kek-v1', 32),
    );
  }

  seal(plain: Buffer, aad: string): Buffer {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.kek, iv);
    cipher.setAAD(Buffer.from(aad));
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]);
  }

  open(sealed: Buffer, aad: string): Buffer {
    const decipher = createDecipheriv('aes-256-gcm', this.kek, sealed.subarray(0, 12));
    decipher.setAAD(Buffer.from(aad));
    decipher.setAuthTag(sealed.subarray(12, 28));
    return Buffer.concat([decipher.update(sealed.subarray(28)), decipher.final()]);
  }

  newTokenSeed(releaseId: string): Buffer {
    return this.seal(randomBytes(32), `release:${releaseId}`);
  }

  /** The bid's key, created on first use (concurrent first uses agree on one key). */
  async bidKey(em: Pick<EntityManager, 'query'>, bidId: string): Promise<Buffer> {
    await em.query(`INSERT INTO bid_keys (bid_id, key_enc) VALUES ($1, $2) ON CONFLICT (bid_id) DO NOTHING`, [
      bidId,
      this.seal(randomBytes(32), `bid:${bidId}`),
    ]);
    const [row] = await em.query(`SELECT key_enc FROM bid_keys WHERE bid_id = $1`, [bidId]);
    return this.open(row.key_enc, `bid:${bidId}`);
  }
}
