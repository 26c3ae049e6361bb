import nodemailer, { type Transporter } from 'nodemailer';

/** What goes to the SMTP server: one message, one recipient. */
export interface OutgoingMail {
  to: string;
  subject: string;
  text: string;
}

/**
 * nodemailer over `SMTP_URL` (docs/NOTIFICATIONS.md). One pooled transport per process; no logger
 * (nodemailer's own would print the conversation). Subjects are one line already (templates.ts);
 * nodemailer encodes headers (RFC 2047) and never lets a value open a new header.
 */
export class Mailer {
  private transport?: Transporter;

  constructor(
    private readonly smtpUrl: string,
    private readonly from: string,
  ) {}

  async send(mail: OutgoingMail): Promise<void> {
    this.transport ??= nodemailer.createTransport(this.smtpUrl, { from: this.from });
    await this.transport.sendMail({
      from: this.from,
      to: mail.to,
      subject: mail.subject,
      text: mail.text,
      // Nothing from the user becomes a header but the subject (and the address of an account).
      disableFileAccess: true,
      disableUrlAccess: true,
    });
  }

  close(): void {
    this.transport?.close();
    this.transport = undefined;
  }
}

/**
 * A send failure as it may be stored and logged: the error's code, the SMTP reply code and text,
 * bounded, with the server URL's user and password removed wherever they appear.
 */
export function describeSendError(err: unknown, smtpUrl: string): string {
  const e = (err ?? {}) as { code?: unknown; responseCode?: unknown; response?: unknown; message?: unknown };
  // nodemailer's own error code (EAUTH, ECONNECTION, …); not one of the API's codes.
  const code = typeof e.code === 'string' ? e.code : 'send failed';
  const reply = typeof e.responseCode === 'number' ? ` ${e.responseCode}` : '';
  let text = String(typeof e.response === 'string' ? e.response : (e.message ?? '')).replace(/\s+/g, ' ');
  for (const secret of credentialsOf(smtpUrl)) text = text.split(secret).join('***');
  text = text.replace(/(smtps?:\/\/)[^@\s/]*@/gi, '$1***@');
  return `${code}${reply}: ${text}`.slice(0, 300);
}

function credentialsOf(url: string): string[] {
  try {
    const u = new URL(url);
    return [u.password, decodeURIComponent(u.password), u.username, decodeURIComponent(u.username)].filter(
      (s) => s.length >= 3,
    );
  } catch {
    return [];
  }
}
