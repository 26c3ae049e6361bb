import type { AuditRow } from './audit.service';

/**
 * What an auditor who is also a researcher of a bid's organisation does not read of its entries
 * (`AuditService.list`, `withholdFromApplicant`), by action: what an applicant may not see.
 */
const WITHHELD = 'withheld: your organisation is the applicant';
/** A vote's entry as its applicant's auditor reads it: neither the member nor their decision. */
const voteWithheld = (i: AuditRow) => {
  const { round, version } = i.details as { round?: unknown; version?: unknown };
  i.actorId = null;
  i.actorRoles = [];
  i.details = {
    ...(round !== undefined && { round }),
    ...(version !== undefined && { version }),
    vote: WITHHELD,
  };
};
export const WITHHELD_FROM_APPLICANT: Record<string, (i: AuditRow) => void> = {
  'release.verification_failed': (i) => {
    i.details = { ...i.details, reason: WITHHELD };
  },
  'bid.vote': voteWithheld,
  'bid.amendment.vote': voteWithheld,
};
