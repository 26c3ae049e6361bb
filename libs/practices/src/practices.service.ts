import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AuditService } from '@custodian/audit';
import {
  APP_CONFIG,
  AppConfig,
  ConflictError,
  NotFoundError,
  Principal,
  RequestMeta,
  ValidationError,
} from '@custodian/core';
import { NotificationsService } from '@custodian/notifications';
import { AwarenessDto, CreatePracticeDto, PracticeDto, UpdatePracticeDto } from './dto';
import { Practice } from './practice.entity';
import { awarenessEndsOn, canMove, isRolledOut } from './rollout';
import { todayInEngland, todayUtc } from '@custodian/core';
import { PRACTICES_ERRORS } from './practices.errors';

export const isAdmin = (u: Pick<Principal, 'roles'>) => u.roles.includes('admin');

export const isUniqueViolation = (e: unknown) =>
  (e as { driverError?: { code?: string } }).driverError?.code === '23505';

/**
 * Practices, their rollout state and patient awareness. Scoping: an admin sees every practice; a
 * practice user sees only its own, and any other practice is 404 (as if it did not exist), for
 * reads, awareness and extracts alike.
 */
@Injectable()
export class PracticesService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly audit: AuditService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly notifications: NotificationsService,
  ) {}

  /**
   * The daily notice sweep (#25): a rolled-out practice hears once per awareness period that it has
   * ended (its extracts are accepted from that day), within a week of the day. Idempotent (the
   * dedupe key is the practice and the period's start).
   */
  async noticeAwarenessEnded(now: Date = new Date()): Promise<number> {
    const day = now.toISOString().slice(0, 10);
    return this.db.transaction(async (tx) => {
      const rows: { ods: string; started: string; ends: string }[] = await tx.query(
        `SELECT ods_code AS ods, awareness_started_on::text AS started,
                (awareness_started_on + $2::int)::text AS ends
           FROM practices
          WHERE rollout IN ('pilot', 'national') AND awareness_started_on IS NOT NULL
            AND awareness_started_on + $2::int <= $1::date AND awareness_started_on + $2::int > $1::date - 7
          ORDER BY ods_code`,
        [day, this.config.awarenessDays],
      );
      let queued = 0;
      for (const r of rows)
        queued += await this.notifications.enqueue(tx, {
          kind: 'awareness.ended',
          to: { practiceOds: r.ods },
          subject: { type: 'Practice', id: r.ods },
          params: { ods: r.ods, date: r.ends },
          dedupeKey: `awareness.ended:${r.ods}:${r.started}`,
        });
      return queued;
    });
  }

  toResponse = (p: Practice): PracticeDto => ({
    odsCode: p.odsCode,
    name: p.name,
    rollout: p.rollout,
    awarenessStartedOn: p.awarenessStartedOn,
    extractsAcceptedFrom:
      isRolledOut(p.rollout) && p.awarenessStartedOn
        ? awarenessEndsOn(p.awarenessStartedOn, this.config.awarenessDays)
        : null,
  });

  async create(actor: Principal, dto: CreatePracticeDto, meta?: RequestMeta): Promise<Practice> {
    try {
      return await this.db.transaction(async (tx) => {
        // insert, not save: save() would silently update an existing practice with this code.
        await tx.insert(Practice, {
          odsCode: dto.odsCode,
          name: dto.name.trim(),
          rollout: dto.rollout ?? 'none',
        });
        const p = await tx.findOneByOrFail(Practice, { odsCode: dto.odsCode });
        await this.audit.record(
          {
            action: 'practice.create',
            actor,
            subjectType: 'practice',
            subjectId: p.odsCode,
            meta,
            details: { rollout: p.rollout },
          },
          tx,
        );
        return p;
      });
    } catch (e) {
      if (isUniqueViolation(e))
        throw new ConflictError(PRACTICES_ERRORS.PRACTICE_EXISTS, 'A practice with this ODS code exists');
      throw e;
    }
  }

  async update(actor: Principal, ods: string, dto: UpdatePracticeDto, meta?: RequestMeta): Promise<Practice> {
    if (dto.odsCode !== undefined && dto.odsCode !== ods)
      throw new ValidationError(PRACTICES_ERRORS.ODS_CODE_IMMUTABLE, 'odsCode cannot be changed');
    return this.db.transaction(async (tx) => {
      const p = await this.lock(tx, ods);
      const from = p.rollout;
      if (dto.rollout !== undefined && dto.rollout !== from && !canMove(from, dto.rollout))
        throw new ConflictError(
          PRACTICES_ERRORS.ILLEGAL_ROLLOUT_TRANSITION,
          `A practice cannot move from ${from} to ${dto.rollout}`,
        );
      const changed: string[] = [];
      if (dto.name !== undefined && dto.name.trim() !== p.name) {
        p.name = dto.name.trim();
        changed.push('name');
      }
      if (dto.rollout !== undefined && dto.rollout !== from) {
        p.rollout = dto.rollout;
        changed.push('rollout');
      }
      if (!changed.length) return p;
      const saved = await tx.save(p);
      await this.audit.record(
        {
          action: 'practice.update',
          actor,
          subjectType: 'practice',
          subjectId: ods,
          meta,
          details: { changed, ...(changed.includes('rollout') ? { from, to: saved.rollout } : {}) },
        },
        tx,
      );
      return saved;
    });
  }

  /** Every `none` / `pilot_declined` practice moves to `national` in one statement. */
  async nationalRollout(actor: Principal, meta?: RequestMeta): Promise<{ moved: number }> {
    return this.db.transaction(async (tx) => {
      const rows: { ods_code: string; from: string }[] = await tx.query(`
        WITH moved AS (
          SELECT ods_code, rollout FROM practices WHERE rollout IN ('none', 'pilot_declined') FOR UPDATE
        ), upd AS (
          UPDATE practices p SET rollout = 'national', updated_at = now()
            FROM moved WHERE p.ods_code = moved.ods_code
          RETURNING p.ods_code, moved.rollout AS "from"
        ) SELECT * FROM upd`);
      await this.audit.record(
        {
          action: 'practice.national_rollout',
          actor,
          subjectType: 'practice',
          meta,
          details: { moved: rows.length, practices: rows.map((r) => r.ods_code).sort() },
        },
        tx,
      );
      return { moved: rows.length };
    });
  }

  /**
   * The awareness period counts from the day the start was recorded (SPEC §2): a practice records
   * today, once; it cannot backdate the start (that would open extracts at once) nor move a
   * recorded one. Only an admin corrects it — a past date or a change — with a reason, audited.
   */
  async recordAwareness(
    actor: Principal,
    ods: string,
    dto: AwarenessDto,
    meta?: RequestMeta,
  ): Promise<Practice> {
    const today = todayInEngland();
    if (dto.startedOn > today)
      throw new ValidationError(
        PRACTICES_ERRORS.AWARENESS_DATE_IN_FUTURE,
        'startedOn cannot be in the future',
      );
    const admin = isAdmin(actor);
    if (dto.reason !== undefined && !admin)
      throw new ValidationError(
        PRACTICES_ERRORS.AWARENESS_REASON_ADMIN_ONLY,
        'Only an admin gives a reason for a correction',
      );
    return this.db.transaction(async (tx) => {
      const p = await this.lock(tx, ods, actor);
      const previous = p.awarenessStartedOn;
      if (previous === dto.startedOn) return p;
      const correction = dto.startedOn < today || previous !== null;
      if (correction && !admin)
        throw previous === null
          ? new ValidationError(
              PRACTICES_ERRORS.AWARENESS_BACKDATED,
              `The awareness period counts from the day it is recorded: startedOn must be today (${today}); an admin may correct it with a reason`,
            )
          : new ConflictError(
              PRACTICES_ERRORS.AWARENESS_ALREADY_RECORDED,
              `Awareness was recorded as started on ${previous}; an admin may correct it with a reason`,
            );
      if (correction && !dto.reason)
        throw new ValidationError(
          PRACTICES_ERRORS.AWARENESS_REASON_REQUIRED,
          'A correction of the awareness start (a past date, or a change) needs a reason',
        );
      p.awarenessStartedOn = dto.startedOn;
      const saved = await tx.save(p);
      await this.audit.record(
        {
          action: correction ? 'practice.awareness_corrected' : 'practice.awareness',
          actor,
          subjectType: 'practice',
          subjectId: ods,
          meta,
          details: correction
            ? { startedOn: dto.startedOn, previous, reason: dto.reason ?? null }
            : { startedOn: dto.startedOn, previous },
        },
        tx,
      );
      return saved;
    });
  }

  list(actor: Principal): Promise<Practice[]> {
    const repo = this.db.getRepository(Practice);
    if (isAdmin(actor)) return repo.find({ order: { odsCode: 'ASC' } });
    return actor.practiceOds ? repo.find({ where: { odsCode: actor.practiceOds } }) : Promise.resolve([]);
  }

  /** Whether the centre knows a practice of this ODS code (identity's `PRACTICE_DIRECTORY`). */
  async practiceExists(ods: string): Promise<boolean> {
    return this.db.getRepository(Practice).existsBy({ odsCode: ods });
  }

  async get(actor: Principal, ods: string): Promise<Practice> {
    const p = await this.db.getRepository(Practice).findOneBy({ odsCode: ods });
    if (!p || !this.sees(actor, ods))
      throw new NotFoundError(PRACTICES_ERRORS.PRACTICE_NOT_FOUND, 'Practice');
    return p;
  }

  /** Loads a practice the caller may see (404 otherwise), locked for update. */
  async lock(tx: EntityManager, ods: string, actor?: Principal): Promise<Practice> {
    if (actor && !this.sees(actor, ods))
      throw new NotFoundError(PRACTICES_ERRORS.PRACTICE_NOT_FOUND, 'Practice');
    const p = await tx
      .getRepository(Practice)
      .findOne({ where: { odsCode: ods }, lock: { mode: 'pessimistic_write' } });
    if (!p) throw new NotFoundError(PRACTICES_ERRORS.PRACTICE_NOT_FOUND, 'Practice');
    return p;
  }

  /** Admins see every practice; a practice user only its own. */
  sees(actor: Principal, ods: string): boolean {
    return isAdmin(actor) || actor.practiceOds === ods;
  }

  /** Why an extract from this practice must be refused now (409), if it must. */
  assertAcceptsExtracts(p: Practice): void {
    if (!isRolledOut(p.rollout))
      throw new ConflictError(
        PRACTICES_ERRORS.PRACTICE_NOT_ROLLED_OUT,
        'This practice is not rolled out; extracts are not accepted',
      );
    if (
      !p.awarenessStartedOn ||
      todayUtc() < awarenessEndsOn(p.awarenessStartedOn, this.config.awarenessDays)
    )
      throw new ConflictError(
        PRACTICES_ERRORS.AWARENESS_PERIOD_NOT_OVER,
        p.awarenessStartedOn
          ? `The patient awareness period runs until ${awarenessEndsOn(p.awarenessStartedOn, this.config.awarenessDays)}`
          : 'The practice has not started informing its patients (no awareness start recorded)',
      );
  }
}
