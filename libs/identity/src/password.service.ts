import { Injectable } from '@nestjs/common';
import argon2 from 'argon2';
import { ValidationError } from '@custodian/core';
import { IDENTITY_ERRORS } from './identity.errors';

export const PASSWORD_MIN = 12;
export const PASSWORD_MAX = 256;

/** argon2id at OWASP's minimum (19 MiB, t=2, p=1). The whole password is hashed; nothing is truncated. */
const OPTIONS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

@Injectable()
export class PasswordService {
  private dummy?: Promise<string>;

  assertAcceptable(password: unknown): asserts password is string {
    if (
      typeof password !== 'string' ||
      [...password].length < PASSWORD_MIN ||
      [...password].length > PASSWORD_MAX
    ) {
      throw new ValidationError(
        IDENTITY_ERRORS.WEAK_PASSWORD,
        `password must be ${PASSWORD_MIN} to ${PASSWORD_MAX} characters`,
      );
    }
  }

  async hash(password: string): Promise<string> {
    this.assertAcceptable(password);
    return argon2.hash(password, OPTIONS);
  }

  async verify(hash: string | undefined, password: string): Promise<boolean> {
    if (!hash) {
      // Spend the same time for an unknown account, so timing does not reveal which emails exist.
      this.dummy ??= argon2.hash('not-a-real-password-0000', OPTIONS);
      await argon2.verify(await this.dummy, password).catch(() => false);
      return false;
    }
    return argon2.verify(hash, password).catch(() => false);
  }
}
