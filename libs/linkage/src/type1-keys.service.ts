import { hkdfSync } from 'node:crypto';
import { Inject, Injectable, Module } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@custodian/core';
import type { Exec } from './linkage.sql';
import { forgetType1Keys, keepSharedType1Keys, keepType1Keys } from './type1-keys.sql';

const execOf =
  (em: EntityManager): Exec =>
  (sql, params) =>
    em.query(sql, params);

/**
 * The linkage's memory of Type 1 objectors (see `type1-keys.sql.ts`): the objection register's
 * writers call `keep` when a Type 1 objection deletes (or keeps out) a person's GP data, and the
 * intake calls `forget` when it stores a withdrawn objector again, in their own transaction. The digest key is derived by HKDF from
 * PSEUDONYM_KEY_SECRET for this use only; it reaches PostgreSQL as a bound parameter, never in SQL
 * text, logs or errors.
 */
@Injectable()
export class Type1Keys {
  /** HMAC key of the demographic digests. */
  readonly key: Buffer;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.key = Buffer.from(
      hkdfSync('sha256', config.pseudonymKeySecret, 'custodian-linkage', 'type1-demographic-digest-v1', 32),
    );
  }

  /**
   * `objectors`: a relation of NHS numbers, each with an active Type 1 objection, whose data is about
   * to be deleted (or kept out); `demographics`: optionally a relation `nhs_number, sex, birth_date,
   * postcode` with what an extract carried of them. Returns the digests newly kept.
   */
  keep(em: EntityManager, objectors: string, demographics?: string): Promise<number> {
    return keepType1Keys(execOf(em), this.key, objectors, demographics);
  }

  /**
   * `patients`: a relation `nhs_number, sex, birth_date, postcode, shared_key` (an extract's Patients):
   * keeps a step-6 digest of the key of each patient marked `shared_key` (a Type 1 objector of the
   * practice has it), forgets it for the others. Returns the digests newly kept.
   */
  keepShared(em: EntityManager, patients: string): Promise<number> {
    return keepSharedType1Keys(execOf(em), this.key, patients);
  }

  /** `stored`: a relation of NHS numbers, withdrawn objectors whose data is being stored again. */
  forget(em: EntityManager, stored: string): Promise<number> {
    return forgetType1Keys(execOf(em), this.key, stored);
  }
}

/** `Type1Keys` alone, for the objection register's writers (no job consumers, no controllers). */
@Module({ providers: [Type1Keys], exports: [Type1Keys] })
export class Type1KeysModule {}
