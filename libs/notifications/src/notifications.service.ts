import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AuditService } from '@custodian/audit';
import { APP_CONFIG, AppConfig, assertPageInRange, NotFoundError, type Principal } from '@custodian/core';
import { JobsService } from '@custodian/database';
import { NOTIFIABLE_ADDRESS_SQL, NOTIFIABLE_USERS_SQL, type UserNotices } from '@custodian/identity';
import type { NotificationDto, NotificationListDto } from './dto';
import { describeSendError, Mailer } from './mailer';
import type { NotificationState } from './notification.entity';
import { NOTIFICATIONS_ERRORS } from './notifications.errors';
import { type NotificationKind, renderMessage, type TemplateParams } from './templates';

/** Queue of the send job: one job per notice (per recipient), retried with backoff. */
export const NOTIFICATIONS_SEND_QUEUE = 'notifications.send';
/** Queue of the daily sweep (awareness periods ending, agreements expiring). */
export const NOTIFICATIONS_DAILY_QUEUE = 'notifications.daily';
/** Daily at 06:17 UTC. */
export const NOTIFICATIONS_DAILY_CRON = '17 6 * * *';

/** Who a notice goes to; enabled users only, resolved in the announcing transaction. */
export type Recipients =
  /** Named users (the applicant: the bid's submitter and recipients), still of this organisation. */
  | { users: string[]; organisationId?: string }
  /** Every enabled holder of a role, but those of the applicant's organisation. */
  | { role: 'release_officer' | 'panel_member'; notOrganisationId?: string }
  /** The practice's accounts (users with that ODS code and the practice role). */
  | { practiceOds: string };

export interface NoticeRequest {
  kind: NotificationKind;
  to: Recipients;
  params: TemplateParams;
  bidId?: string | null;
  subject?: { type: string; id: string };
  /** One notice per recipient per key (the daily sweep's notices): a second enqueue adds nothing. */
  dedupeKey?: string;
}

/** A daily check of an owning library that may enqueue notices (in its own transactions). */
export type DailySweep = (now: Date) => Promise<unknown>;

/**
 * The transactional outbox (#25, docs/NOTIFICATIONS.md). `enqueue` writes one row per recipient in
 * the caller's transaction (a rolled-back change announces nothing) and, with SMTP configured, one
 * send job per row in the same transaction; without SMTP the rows stay in the outbox, read in the
 * portal. The send job never touches the change it announces: it only updates its own row.
 */
@Injectable()
export class NotificationsService implements OnApplicationShutdown, UserNotices {
  private readonly logger = new Logger('Notifications');
  private readonly mailer: Mailer | null;
  private readonly sweeps = new Map<string, DailySweep>();

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly audit: AuditService,
    private readonly jobs: JobsService,
  ) {
    const n = config.notifications;
    this.mailer = n.smtpUrl ? new Mailer(n.smtpUrl, n.from) : null;
  }

  /**
   * Announces a change, in its transaction `tx`: one row per enabled recipient and notice, and its
   * send job; one audit entry for the whole announcement (what, to how many, how), not one per row.
   */
  async enqueue(tx: EntityManager, notices: NoticeRequest | NoticeRequest[]): Promise<number> {
    const list = Array.isArray(notices) ? notices : [notices];
    const state: NotificationState = this.mailer ? 'queued' : 'outbox';
    const queued: { kind: NotificationKind; recipients: number }[] = [];
    for (const n of list) {
      const message = renderMessage(n.kind, n.params, {
        baseUrl: this.config.notifications.portalBaseUrl,
        serviceName: this.config.portal.serviceName,
      });
      const to = n.to;
      const rows: { id: string }[] = await tx.query(
        `INSERT INTO notifications (user_id, kind, subject, body, link, bid_id, subject_type, subject_id, dedupe_key, state)
         SELECT r.id, $6, $7, $8, $9, $10, $11, $12, $13, $14 FROM (${NOTIFIABLE_USERS_SQL}) r
         ON CONFLICT (user_id, dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING
         RETURNING id`,
        [
          'users' in to ? to.users : [],
          'users' in to ? (to.organisationId ?? null) : null,
          'role' in to ? to.role : null,
          'role' in to ? (to.notOrganisationId ?? null) : null,
          'practiceOds' in to ? to.practiceOds : null,
          n.kind,
          message.subject,
          message.body,
          message.link,
          n.bidId ?? null,
          n.subject?.type ?? null,
          n.subject?.id ?? null,
          n.dedupeKey ?? null,
          state,
        ],
      );
      if (!rows.length) continue;
      if (this.mailer)
        for (const r of rows) await this.jobs.sendInTransaction(tx, NOTIFICATIONS_SEND_QUEUE, { id: r.id });
      queued.push({ kind: n.kind, recipients: rows.length });
    }
    if (!queued.length) return 0;
    const first = list[0];
    await this.audit.record(
      {
        action: 'notification.queued',
        actor: null,
        bidId: first.bidId ?? null,
        subjectType: first.subject?.type ?? (first.bidId ? 'bid' : null),
        subjectId: first.subject?.id ?? first.bidId ?? null,
        details: { notices: queued, state },
      },
      tx,
    );
    return queued.reduce((sum, q) => sum + q.recipients, 0);
  }

  /**
   * The send job: one try at one notice. Counts the try first (committed), sends, and records the
   * outcome on the notice alone. A failure before the last try throws, so pg-boss retries it later
   * (backoff); the last marks the notice failed. The announced change is never touched.
   */
  async deliver(id: string): Promise<NotificationState | 'skipped'> {
    if (!this.mailer) return 'skipped';
    const [claimed] = await this.db.query(
      `UPDATE notifications SET attempts = attempts + 1 WHERE id = $1 AND state = 'queued'
       RETURNING attempts, user_id AS "userId", kind, subject, body, bid_id AS "bidId"`,
      [id],
    );
    const row = (claimed as DeliveryRow[])[0];
    if (!row) return 'skipped'; // sent, failed or cancelled meanwhile
    const { maxAttempts, smtpUrl } = this.config.notifications;
    const [address] = await this.db.query(NOTIFIABLE_ADDRESS_SQL, [row.userId]);
    if (!address) {
      await this.finish(id, row, 'cancelled', 'recipient disabled');
      return 'cancelled';
    }
    try {
      await this.mailer.send({ to: address.email, subject: row.subject, text: row.body });
    } catch (err) {
      const error = describeSendError(err, smtpUrl!);
      this.logger.warn({ notificationId: id, attempt: row.attempts, error }, 'notification not sent');
      if (row.attempts >= maxAttempts) {
        await this.finish(id, row, 'failed', error);
        return 'failed';
      }
      await this.db.query(`UPDATE notifications SET last_error = $2 WHERE id = $1`, [id, error]);
      throw new Error(`notification ${id} not sent (try ${row.attempts} of ${maxAttempts})`);
    }
    await this.finish(id, row, 'sent', null);
    return 'sent';
  }

  private async finish(
    id: string,
    row: { attempts: number; kind: string; bidId: string | null },
    state: 'sent' | 'failed' | 'cancelled',
    error: string | null,
  ): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query(
        `UPDATE notifications SET state = $2::varchar, last_error = $3,
                sent_at = CASE WHEN $2::varchar = 'sent' THEN now() END
          WHERE id = $1 AND state = 'queued'`,
        [id, state, error],
      );
      await this.audit.record(
        {
          action: `notification.${state}`,
          outcome: state === 'sent' ? 'success' : 'failure',
          actor: null,
          bidId: row.bidId,
          subjectType: 'Notification',
          subjectId: id,
          // The SMTP reply code only: the text stays on the notice (admin page), bounded.
          details: {
            kind: row.kind,
            attempts: row.attempts,
            ...(error ? { error: error.split(':')[0] } : {}),
          },
        },
        tx,
      );
    });
  }

  /**
   * A user moved to another organisation or practice (identity's `USER_NOTICES`, in the moving
   * transaction): every notice of theirs was addressed to them in the old one, so all are deleted,
   * read or not; a queued email is then not sent (`deliver` skips a row that is gone). The audit
   * trail keeps what was queued and sent (`notification.*` entries); the user's update entry counts
   * what was removed.
   */
  async forgetUserNotices(tx: EntityManager, userId: string): Promise<number> {
    // TypeORM answers a DELETE with [rows, affected].
    const res: unknown = await tx.query(`DELETE FROM notifications WHERE user_id = $1`, [userId]);
    return Array.isArray(res) ? Number(res[1] ?? 0) : 0;
  }

  /** The caller's own notices, newest first. */
  async listOwn(
    user: Pick<Principal, 'id'>,
    q: { page: number; limit: number; unread?: boolean },
  ): Promise<NotificationListDto> {
    const where = `user_id = $1${q.unread ? ' AND read_at IS NULL' : ''}`;
    const [{ total, unread }] = await this.db.query(
      `SELECT count(*) FILTER (WHERE ${q.unread ? 'read_at IS NULL' : 'true'})::int AS total,
              count(*) FILTER (WHERE read_at IS NULL)::int AS unread
         FROM notifications WHERE user_id = $1`,
      [user.id],
    );
    assertPageInRange(q.page, q.limit, total);
    const items: NotificationDto[] = await this.db.query(
      `SELECT ${COLUMNS} FROM notifications WHERE ${where}
        ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3`,
      [user.id, q.limit, (q.page - 1) * q.limit],
    );
    return { items, page: q.page, limit: q.limit, total, unread };
  }

  /** Unread notices of a user (the portal header's count). */
  async unreadCount(userId: string): Promise<number> {
    const [{ n }] = await this.db.query(
      `SELECT count(*)::int AS n FROM notifications WHERE user_id = $1 AND read_at IS NULL`,
      [userId],
    );
    return n;
  }

  /** Marks the caller's own notice read; another user's (or an unknown) id is 404 alike. */
  async markRead(user: Pick<Principal, 'id'>, id: string): Promise<NotificationDto> {
    const [rows] = await this.db.query(
      `UPDATE notifications SET read_at = coalesce(read_at, now()) WHERE id = $1 AND user_id = $2
       RETURNING ${COLUMNS}`,
      [id, user.id],
    );
    const row = (rows as NotificationDto[])[0];
    if (!row) throw new NotFoundError(NOTIFICATIONS_ERRORS.NOTIFICATION_NOT_FOUND, 'Notification');
    return row;
  }

  /** Every notice with its delivery state, for the admin's outbox page (no message bodies). */
  async outbox(q: { page: number; limit: number; state?: NotificationState }): Promise<{
    items: (Omit<NotificationDto, 'body'> & {
      recipient: string;
      attempts: number;
      lastError: string | null;
    })[];
    total: number;
    byState: Record<string, number>;
  }> {
    const [{ total }] = await this.db.query(
      `SELECT count(*)::int AS total FROM notifications WHERE $1::text IS NULL OR state = $1`,
      [q.state ?? null],
    );
    assertPageInRange(q.page, q.limit, total);
    const items = await this.db.query(
      `SELECT n.id, n.kind, n.subject, n.link, n.bid_id AS "bidId", n.state, n.created_at AS "createdAt",
              n.sent_at AS "sentAt", n.read_at AS "readAt", n.attempts, n.last_error AS "lastError",
              n.user_id::text AS recipient
         FROM notifications n WHERE $1::text IS NULL OR n.state = $1
        ORDER BY n.created_at DESC, n.id DESC LIMIT $2 OFFSET $3`,
      [q.state ?? null, q.limit, (q.page - 1) * q.limit],
    );
    const counts: { state: string; n: number }[] = await this.db.query(
      `SELECT state, count(*)::int AS n FROM notifications GROUP BY state`,
    );
    return { items, total, byState: Object.fromEntries(counts.map((c) => [c.state, c.n])) };
  }

  /** An owning library's daily check (awareness periods ending, agreements expiring). */
  registerDailySweep(name: string, sweep: DailySweep): void {
    this.sweeps.set(name, sweep);
  }

  /** Runs every daily check (the `notifications.daily` job; idempotent by each notice's dedupe key). */
  async runDailySweeps(now: Date = new Date()): Promise<void> {
    for (const [name, sweep] of this.sweeps) {
      try {
        await sweep(now);
      } catch (err) {
        this.logger.error(
          { sweep: name, err: { message: (err as Error).message } },
          'daily notice sweep failed',
        );
        throw err;
      }
    }
  }

  onApplicationShutdown(): void {
    this.mailer?.close();
  }
}

interface DeliveryRow {
  attempts: number;
  userId: string;
  kind: string;
  subject: string;
  body: string;
  bidId: string | null;
}

const COLUMNS = `id, kind, subject, body, link, bid_id AS "bidId", state, created_at AS "createdAt",
  sent_at AS "sentAt", read_at AS "readAt"`;
