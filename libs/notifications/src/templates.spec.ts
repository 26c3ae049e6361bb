import fc from 'fast-check';
import { describeSendError } from './mailer';
import { cleanUserText, NOTIFICATION_KINDS, renderMessage } from './templates';

const portal = { baseUrl: 'https://portal.example', serviceName: 'Custodian' };
const PATIENT_LIKE = [/\d{10}/, /\b\d{3} \d{3} \d{4}\b/, /\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b/i];

describe('notification messages', () => {
  it('user text: one line, bounded, no NHS number or postcode', () => {
    expect(cleanUserText('A\r\nBcc: x@y.z\u2028B')).toBe('A Bcc: x@y.z B');
    expect(cleanUserText('cohort 943 476 5919 and 9434765919 at LS1 4AP or ls14ap')).toBe(
      'cohort [removed] and [removed] at [removed] or [removed]',
    );
    expect(cleanUserText('x'.repeat(500))).toHaveLength(120);
  });

  it('whatever the title, every kind renders one subject line and a body without patient-like data', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...NOTIFICATION_KINDS),
        fc.string({ maxLength: 300 }),
        fc.integer({ min: 0, max: 10_000_000_000 }),
        (kind, title, lines) => {
          const m = renderMessage(
            kind,
            { title, bidId: 'x\r\nBcc: a@b.c', lines, ods: 'A81001', id: '12' },
            portal,
          );
          expect(m.subject).not.toMatch(/[\r\n]/);
          expect(m.subject.length).toBeLessThanOrEqual(200);
          for (const re of PATIENT_LIKE) expect(`${m.subject}\n${m.body}`).not.toMatch(re);
          expect(m.body).toContain(`${portal.baseUrl}${m.link}`);
          expect(m.link).toMatch(/^\/[\w/-]*$/);
        },
      ),
    );
  });

  it('a send error keeps the SMTP reply, never the credentials of SMTP_URL', () => {
    const url = 'smtps://mailer:s3cret-Pa55@smtp.example:465';
    const err = Object.assign(new Error('Invalid login: 535 auth failed for mailer:s3cret-Pa55'), {
      code: 'EAUTH',
      responseCode: 535,
    });
    const text = describeSendError(err, url);
    expect(text).toMatch(/^EAUTH 535: /);
    expect(text).not.toContain('s3cret-Pa55');
    expect(text).not.toContain('mailer');
    expect(describeSendError(new Error(`connect to ${url} refused`), url)).not.toContain('s3cret');
  });
});
