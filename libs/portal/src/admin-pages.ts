import { formErrors } from './form';
import { PortalRequest } from './portal-api';
import { humaniseText } from './views';

/** What the administrator's pages (admin.controller.ts, admin-practices.controller.ts) share. */

/** `pilot_declined` → `Pilot declined`, `nhs` → `NHS` (words as people write them). */
export const label = (s: string) => humaniseText(s);

/** An API error body as the pages show it. */
export interface ApiError {
  message?: string;
  code?: string;
}

export type Errors = ReturnType<typeof formErrors>;

/** A confirmation shown on the next page. */
export function flash(req: PortalRequest, title: string, body?: string, kind?: 'warning' | 'error') {
  req.portal!.session.flash = kind ? { title, body, kind } : { title, body };
  req.portal!.dirty = true;
}
