import { isEmail } from 'class-validator';
import { ValidationError } from '@custodian/core';
import { IDENTITY_ERRORS } from './identity.errors';
import { passwordScore } from './password-estimator';

/**
 * What a password set through the API must be besides 12–256 characters (docs/SECURITY.md, threat
 * 133): not the email, nor built on its local part, and not guessable from the lists of common
 * passwords. The estimate is zxcvbn-ts's (`@zxcvbn-ts/core` with `@zxcvbn-ts/language-common`: the
 * most common leaked passwords, diceware words, keyboard patterns, plus repeats, sequences, dates
 * and l33t spellings of all of them); a password scoring under `PASSWORD_MIN_SCORE` is refused.
 * The estimate runs in a thread of its own (password-estimator.ts: its dictionaries leave the
 * process when it has been idle a while).
 */

/** zxcvbn's 3: "safely unguessable", about 10⁸ guesses or more. */
export const PASSWORD_MIN_SCORE = 3;
/** A local part shorter than this (`jo@…`) is too common a string to forbid inside a password. */
const LOCAL_PART_MIN = 3;

/** The reason a password is refused (a message naming the field), or undefined when it is acceptable. */
export async function passwordProblem(password: string, email?: string): Promise<string | undefined> {
  const lower = password.toLowerCase();
  const address = email?.trim().toLowerCase();
  const local = address?.split('@')[0] ?? '';
  if (address && lower.includes(address)) return 'password must not be or contain the email address';
  if (local.length >= LOCAL_PART_MIN && lower.includes(local))
    return 'password must not contain the part of the email address before the @';
  const score = await passwordScore(password, address ? [address, local] : []);
  if (score < PASSWORD_MIN_SCORE)
    return 'password is too easy to guess: it is a common password, or built on one or on a simple pattern; choose a longer passphrase of unrelated words';
  return undefined;
}

/** `passwordProblem` as a 400 `VALIDATION_FAILED` (the service's paths: a PATCH, the CLI, `ADMIN_PASSWORD`). */
export async function assertPasswordAcceptable(password: string, email: string): Promise<void> {
  const problem = await passwordProblem(password, email);
  if (problem) throw new ValidationError(IDENTITY_ERRORS.VALIDATION_FAILED, problem);
}

/**
 * An account a person chose on the service's own paths (the CLI's `create-admin`, `ADMIN_EMAIL` and
 * `ADMIN_PASSWORD`): an address the sign-in accepts (as its DTO checks it: `@IsEmail()`, 254
 * characters), and a password the API would accept. `create-admin --email notanemail` made an
 * administrator who could never sign in (a new user's tryout, 2026-12-07).
 */
export async function assertAccountAcceptable(email: string, password: string): Promise<void> {
  if (email.length > 254 || !isEmail(email))
    throw new ValidationError(
      IDENTITY_ERRORS.VALIDATION_FAILED,
      'email must be an email address (the sign-in accepts no other)',
    );
  await assertPasswordAcceptable(password, email);
}
