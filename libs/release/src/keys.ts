import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@custodian/core';
import type { Tier } from '@custodian/catalog';

/** Derives a 32-byte key of its own for one use from a bid key or token seed (HKDF-SHA256). */
const derive = (secret: Buffer, use: string) =>
  Buffer.from(hkdfSync('sha256', secret, 'custodian-release', use, 32));

/**
 * Per-bid pseudonymisation keys (random 32 bytes) and per-release token seeds, stored encrypted
 * with AES-256-GCM under a key derived by HKDF from PSEUDONYM_KEY_SECRET. Plain keys live only in
 * memory for the length of a job and reach PostgreSQL as bound parameters, never in SQL text,
 * logs or errors.
 */
@Injectable()
export class ReleaseKeys {
  private readonly kek: Buffer;
  private readonly aggregateThreshold: Buffer;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.kek = Buffer.from(
      hkdfSync('sha256', config.pseudonymKeySecret, 'custodian-release', 'bid-pseudonym-kek-v1', 32),
    );
    this.aggregateThreshold = Buffer.from(
      hkdfSync('sha256', config.pseudonymKeySecret, 'custodian-release', 'aggregate-threshold-v1', 32),
    );
  }

  /**
   * The key of the aggregate minimum population's offsets (`aggregate-threshold.ts`): server-held,
   * derived from PSEUDONYM_KEY_SECRET and the same for every bid and release (the bid and the request
   * are in what it keys), so the same request of a bid always meets the same threshold. Stored nowhere.
   */
  aggregateThresholdKey(): Buffer {
    return this.aggregateThreshold;
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

  /**
   * The key of source row keys (SPEC §5: `epikey` keyed per bid like `pseudo_id`, new per release
   * in the anonymised tier): derived from the bid key (pseudonymised: the same in every release of
   * the bid) or from the release's token seed (anonymised: new per release, the same on a retry),
   * so it is neither of them and a keyed row key never equals a person identifier. None for the
   * identifiable and aggregate tiers. Read outside any snapshot transaction (the bid key may be
   * younger than a release's snapshot).
   */
  async sourceRowKey(
    em: Pick<EntityManager, 'query'>,
    tier: Tier,
    bidId: string,
    releaseId: string,
  ): Promise<Buffer | undefined> {
    let secret: Buffer;
    if (tier === 'pseudonymised') secret = await this.bidKey(em, bidId);
    else if (tier === 'anonymised') {
      const [row] = await em.query(`SELECT token_seed_enc FROM releases WHERE id = $1`, [releaseId]);
      secret = this.open(row.token_seed_enc, `release:${releaseId}`);
    } else return undefined;
    try {
      return this.sourceRowKeyOf(secret);
    } finally {
      secret.fill(0);
    }
  }

  /** The source row key of an opened bid key (pseudonymised) or release token seed (anonymised). */
  sourceRowKeyOf(secret: Buffer): Buffer {
    return derive(secret, 'source-row-key-v1');
  }

  /**
   * A key of its own for one use (`use`), derived from the release's token seed (every tier has
   * one): new per release, the same on a retry.
   */
  seedKey(sealedSeed: Buffer, releaseId: string, use: string): Buffer {
    const seed = this.open(sealedSeed, `release:${releaseId}`);
    try {
      return derive(seed, use);
    } finally {
      seed.fill(0);
    }
  }

  /**
   * The key of the row order of files without a person column, and of a person's rows in the
   * anonymised tier (`row-order.ts`), from the release's token seed. Read outside any snapshot transaction.
   */
  async rowOrderKey(em: Pick<EntityManager, 'query'>, releaseId: string): Promise<Buffer> {
    const [row] = await em.query(`SELECT token_seed_enc FROM releases WHERE id = $1`, [releaseId]);
    return this.seedKey(row.token_seed_enc, releaseId, 'row-order-v1');
  }
}
