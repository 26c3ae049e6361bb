import { formErrors } from './form';
import { PortalRequest } from './portal-api';

/** What the administrator's pages (admin.controller.ts, admin-practices.controller.ts) share. */

/** `pilot_declined` → `Pilot declined`. */
export const label = (s: string) => (s.charAt(0).toUpperCase() + s.slice(1)).replace(/_/g, ' ');

/** An API error body as the pages show it. */
export interface ApiError {
  message?: string;
  code?: string;
}

export type Errors = ReturnType<typeof formErrors>;

/** A confirmation shown on the next page. */
export function flash(req: PortalRequest, title: string, body?: string) {
  req.portal!.session.flash = { title, body };
  req.portal!.dirty = true;
}
