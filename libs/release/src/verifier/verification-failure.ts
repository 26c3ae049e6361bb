/** The release breaks a rule of SPEC §5: it must fail. The message names the check, file and row, never a value. */
export class VerificationFailure extends Error {
  constructor(
    readonly check: string,
    message: string,
  ) {
    super(`${check}: ${message}`);
  }
}

export const fail = (check: string, message: string): never => {
  throw new VerificationFailure(check, message);
};
