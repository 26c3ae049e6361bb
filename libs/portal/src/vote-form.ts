import { type FormBody, formErrors, str } from './form';

/**
 * The panel's vote form, on a bid (reviewer.controllers.ts) and on an amendment
 * (amendment-pages.controller.ts): the conflict-of-interest question and the decision, checked
 * before the API is asked.
 */
export function readVoteForm(body: FormBody) {
  const decision = str(body.decision);
  const conflict = str(body.conflictOfInterest);
  const errors = formErrors();
  if (!['yes', 'no'].includes(conflict))
    errors.add('conflictOfInterest', 'Select whether you have a conflict of interest', 'conflictOfInterest');
  if (!['approve', 'reject', 'return'].includes(decision))
    errors.add('decision', 'Select your decision', 'decision');
  return { decision, conflictOfInterest: conflict === 'yes', errors };
}

/**
 * The API's vote body from the form: the decision and the conflict, and where given the conditions
 * (one a line: with an approval the agreement's, with a return what the applicant should change),
 * the interests declared and, with an approval, linkage approved. The amendment's form had no box
 * for what to change, so a panel's return told the applicant nothing (probe 24).
 */
export function voteBody(
  body: FormBody,
  decision: string,
  conflictOfInterest: boolean,
): Record<string, unknown> {
  const dto: Record<string, unknown> = { decision, conflictOfInterest };
  const conditions = str(body.conditions)
    .split(/\r?\n/)
    .map((c) => c.trim())
    .filter(Boolean);
  if (conditions.length) dto.conditions = conditions;
  const interests = str(body.interests);
  if (interests) dto.interests = interests;
  if (decision === 'approve' && str(body.approveLinkage) === 'yes') dto.approveLinkage = true;
  return dto;
}
