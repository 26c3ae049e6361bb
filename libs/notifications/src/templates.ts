/**
 * The messages (#25): subject and plain text per kind, with a link to the portal. Pure: no I/O.
 *
 * No patient data in any message (SPEC §6 spirit, docs/NOTIFICATIONS.md): a message names a
 * request by its title, a practice by its ODS code, a file by what kind it is, and counts only lines
 * of a file, never patients. Text from users (a request's title) passes `cleanUserText`: control
 * characters (CR/LF: header injection) become spaces, and anything shaped like an NHS number or a
 * full postcode is removed, so a title that carries one does not carry it into a mailbox.
 */

export const NOTIFICATION_KINDS = [
  'bid.submitted',
  'bid.returned',
  'bid.in_review',
  'bid.quorum_reached',
  'bid.decided',
  'agreement.ready',
  'bid.awaiting_release',
  'bid.revoked',
  'bid.expired',
  'agreement.expiring',
  'release.ready',
  'extract.rejected_lines',
  'awareness.ended',
  'linkage.report_ready',
] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

export interface TemplateParams {
  /** The request's id and title (bid kinds). */
  bidId?: string;
  title?: string;
  /** bid.decided: approved, rejected or returned. */
  outcome?: string;
  /** agreement.expiring / awareness.ended: a date, YYYY-MM-DD. */
  date?: string;
  /** agreement kinds: the agreement's reference. */
  reference?: string;
  /** extract.rejected_lines: lines of the file rejected (never patients). */
  lines?: number;
  /** extract.rejected_lines / awareness.ended: the practice's ODS code. */
  ods?: string;
  /** extract.rejected_lines / linkage.report_ready: the id of the extract or the load. */
  id?: string;
  /** linkage.report_ready: hes or social_care. */
  source?: string;
}

export interface RenderedMessage {
  subject: string;
  body: string;
  /** Path in the portal (the message's link is the portal's base URL and this). */
  link: string;
}

const NHS_NUMBER_LIKE = /\b\d{3}[ -]?\d{3}[ -]?\d{4}\b/g;
const POSTCODE_LIKE = /\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b/gi;
const TEN_DIGITS = /\d{10}/;

/** User text made safe for a header and a mailbox: one line, bounded, no NHS number or postcode. */
export function cleanUserText(text: string | undefined, max = 120): string {
  const one = String(text ?? '')
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ')
    .replace(NHS_NUMBER_LIKE, '[removed]')
    .replace(POSTCODE_LIKE, '[removed]')
    .replace(/\s+/g, ' ')
    .trim();
  // Ten digits that survive (inside a longer run of digits) go too.
  const safe = TEN_DIGITS.test(one) ? one.replace(/\d{10,}/g, '[removed]') : one;
  return safe.length > max ? `${safe.slice(0, max - 1)}…` : safe;
}

const uuidOr = (id: string | undefined) =>
  /^[0-9a-f-]{36}$/i.test(id ?? '') ? id! : /^\d{1,18}$/.test(id ?? '') ? id! : '';
const ods = (code: string | undefined) => (/^[A-Z]\d{5}$/.test(code ?? '') ? code! : '');
const isoDate = (d: string | undefined) => (/^\d{4}-\d{2}-\d{2}$/.test(d ?? '') ? d! : '');
const OUTCOMES: Record<string, string> = {
  approved: 'approved',
  rejected: 'rejected',
  returned: 'returned to you for changes',
};
const SOURCES: Record<string, string> = { hes: 'HES admitted patient care', social_care: 'Social care' };

/** The subject, the lines of the message and the portal path, per kind. */
function parts(
  kind: NotificationKind,
  p: TemplateParams,
): { subject: string; lines: string[]; link: string } {
  const title = p.title ? `“${cleanUserText(p.title)}”` : '';
  const bid = uuidOr(p.bidId);
  switch (kind) {
    case 'bid.submitted':
      return {
        subject: `New request to screen: ${title}`,
        lines: [`The request ${title} was submitted and is waiting to be screened.`],
        link: `/screening/${bid}`,
      };
    case 'bid.returned':
      return {
        subject: `Your request was returned: ${title}`,
        lines: [
          `Your request ${title} was returned to you with remarks. You may change it and submit it again.`,
        ],
        link: `/requests/${bid}`,
      };
    case 'bid.in_review':
      return {
        subject: `Request in review: ${title}`,
        lines: [
          `The request ${title} was accepted for review by the panel. You may declare interests and vote.`,
        ],
        link: `/panel/${bid}`,
      };
    case 'bid.quorum_reached':
      return {
        subject: `Quorum reached: ${title}`,
        lines: [
          `The panel reached quorum on the request ${title}; it is decided (${OUTCOMES[p.outcome ?? ''] ?? 'decided'}).`,
        ],
        link: `/panel/${bid}`,
      };
    case 'bid.decided':
      return {
        subject: `Decision on your request: ${title}`,
        lines: [
          `The panel decided on your request ${title}: ${OUTCOMES[p.outcome ?? ''] ?? 'decided'}.`,
          'The decision and any conditions are in the portal.',
        ],
        link: `/requests/${bid}`,
      };
    case 'agreement.ready':
      return {
        subject: `Data sharing agreement ready: ${title}`,
        lines: [
          `A data sharing agreement${p.reference ? ` (${cleanUserText(p.reference, 40)})` : ''} for your request ${title} is ready for you to accept.`,
        ],
        link: `/requests/${bid}`,
      };
    case 'bid.awaiting_release':
      return {
        subject: `Approved request awaiting release: ${title}`,
        lines: [
          `The applicant accepted the agreement for ${title}; the request is active and awaits a release.`,
        ],
        link: `/data-releases`,
      };
    case 'bid.revoked':
      return {
        subject: `Agreement revoked: ${title}`,
        lines: [
          `The data sharing agreement for ${title} was revoked. Downloads have stopped and the release files are being destroyed.`,
        ],
        link: `/requests/${bid}`,
      };
    case 'bid.expired':
      return {
        subject: `Agreement ended: ${title}`,
        lines: [
          `The data sharing agreement for ${title} reached its end date. Downloads have stopped and the release files are being destroyed.`,
        ],
        link: `/requests/${bid}`,
      };
    case 'agreement.expiring':
      return {
        subject: `Agreement ends on ${isoDate(p.date)}: ${title}`,
        lines: [
          `The data sharing agreement${p.reference ? ` ${cleanUserText(p.reference, 40)}` : ''} for ${title} ends on ${isoDate(p.date)}, in 30 days or less. Downloads stop on that day.`,
        ],
        link: `/requests/${bid}`,
      };
    case 'release.ready':
      return {
        subject: `Release ready to download${title ? `: ${title}` : ''}`,
        lines: [
          `A release of your request${title ? ` ${title}` : ''} is complete and verified. Its files may be downloaded from the portal while the agreement is active.`,
        ],
        link: `/requests/${bid}`,
      };
    case 'extract.rejected_lines': {
      const n = Math.max(0, Math.trunc(p.lines ?? 0));
      return {
        subject: `Extract stored with ${n} rejected line${n === 1 ? '' : 's'} (${ods(p.ods)})`,
        lines: [
          `An extract of practice ${ods(p.ods)} was stored; ${n} line${n === 1 ? ' was' : 's were'} rejected. The extract report lists each line and its reason.`,
        ],
        link: `/practice/extracts/${uuidOr(p.id)}`,
      };
    }
    case 'awareness.ended':
      return {
        subject: `Awareness period ended (${ods(p.ods)})`,
        lines: [
          `The patient awareness period of practice ${ods(p.ods)} ended on ${isoDate(p.date)}. The centre accepts its extracts from now on.`,
        ],
        link: `/practice`,
      };
    case 'linkage.report_ready':
      return {
        subject: `Linkage report ready: ${SOURCES[p.source ?? ''] ?? 'source'} load`,
        lines: [
          `The ${SOURCES[p.source ?? ''] ?? 'source'} file you loaded was linked; its linkage report is ready.`,
        ],
        link: `/data-loads/${uuidOr(p.id)}`,
      };
  }
}

/** The message of one notice: subject (one line), plain-text body with the portal link. */
export function renderMessage(
  kind: NotificationKind,
  params: TemplateParams,
  portal: { baseUrl: string; serviceName: string },
): RenderedMessage {
  const { subject, lines, link } = parts(kind, params);
  const body = [
    // Every line passes the same filter as user text: no number or postcode of a person, whatever
    // a count or a code turns out to be.
    ...lines.map((l) => cleanUserText(l, 1000)),
    '',
    `Open it in the portal: ${portal.baseUrl}${link}`,
    '',
    `— ${cleanUserText(portal.serviceName, 80)}`,
    'This message carries no patient data; sign in to the portal for the details.',
    '',
  ].join('\n');
  return { subject: cleanUserText(subject, 200), body, link };
}
