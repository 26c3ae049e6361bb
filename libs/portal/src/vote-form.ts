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
