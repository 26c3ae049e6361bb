import { Get, Param, Post, Query, Req, Res, UseGuards } from '@nestjs/common';
import { ParseUUIDPipe } from '@custodian/core';
import type { FastifyReply } from 'fastify';
import { NOTIFICATION_STATES, type NotificationDto, NotificationsService } from '@custodian/notifications';
import { PageAccess, PortalController } from './portal.decorators';
import { PortalApi, PortalRequest } from './portal-api';
import { PortalAuthGuard } from './portal-auth.guard';
import { PortalRedirect } from './portal-errors';
import { PortalViews } from './portal-views';
import { str } from './form';

const PAGE_SIZE = 20;
const OUTBOX_PAGE_SIZE = 50;

interface NotificationPage {
  items: NotificationDto[];
  page: number;
  limit: number;
  total: number;
  unread: number;
}

const pageOf = (q: Record<string, string>) => {
  const requested = Number(str(q.page) || '1');
  return Number.isInteger(requested) && requested >= 1 && requested <= 100_000 ? requested : 1;
};

/**
 * Every signed-in user's notices (#25): what was emailed to them (or, without SMTP, kept in the
 * outbox for them), newest first, read through `GET /api/notifications`; and the administrator's
 * view of every message's delivery state (outbox, queued, sent, failed, cancelled).
 */
@PortalController()
@UseGuards(PortalAuthGuard)
export class NotificationsPortalController {
  constructor(
    private readonly api: PortalApi,
    private readonly views: PortalViews,
    private readonly notifications: NotificationsService,
  ) {}

  @Get('notices')
  @PageAccess('signed-in')
  async list(@Req() req: PortalRequest, @Res() reply: FastifyReply, @Query() q: Record<string, string>) {
    const page = pageOf(q);
    let res = await this.api.call<NotificationPage>(
      req,
      'GET',
      `/api/notifications?page=${page}&limit=${PAGE_SIZE}`,
    );
    // A user with no role yet has no notices (the API refuses them); past the last page: the first.
    if (res.status === 400 && page > 1)
      res = await this.api.call<NotificationPage>(req, 'GET', `/api/notifications?limit=${PAGE_SIZE}`);
    const result: NotificationPage =
      res.status === 200 ? res.body : { items: [], page: 1, limit: PAGE_SIZE, total: 0, unread: 0 };
    const pages = Math.max(1, Math.ceil(result.total / PAGE_SIZE));
    this.views.page(req, reply, 'notifications.njk', {
      notices: result.items,
      total: result.total,
      unread: result.unread,
      page: result.page,
      pages,
      previous: result.page > 1 ? `/notices?page=${result.page - 1}` : undefined,
      next: result.page < pages ? `/notices?page=${result.page + 1}` : undefined,
    });
  }

  @Post('notices/:id/read')
  @PageAccess('signed-in')
  async read(@Req() req: PortalRequest, @Param('id', ParseUUIDPipe) id: string) {
    await this.api.expect(req, 'POST', `/api/notifications/${id}/read`);
    throw new PortalRedirect('/notices');
  }

  /** Every message with its delivery state, newest first (no message text: subject, recipient, state). */
  @Get('admin/notifications')
  @PageAccess(['admin'])
  async outbox(@Req() req: PortalRequest, @Res() reply: FastifyReply, @Query() q: Record<string, string>) {
    const state = (NOTIFICATION_STATES as readonly string[]).includes(str(q.state))
      ? (str(q.state) as (typeof NOTIFICATION_STATES)[number])
      : undefined;
    let page = pageOf(q);
    let result = await this.notifications
      .outbox({ page, limit: OUTBOX_PAGE_SIZE, state })
      .catch(() => undefined);
    if (!result)
      result = await this.notifications.outbox({ page: (page = 1), limit: OUTBOX_PAGE_SIZE, state });
    const pages = Math.max(1, Math.ceil(result.total / OUTBOX_PAGE_SIZE));
    const link = (p: number) =>
      `/admin/notifications?${new URLSearchParams({ ...(state ? { state } : {}), page: String(p) })}`;
    this.views.page(req, reply, 'operations/notifications-outbox.njk', {
      messages: result.items,
      byState: NOTIFICATION_STATES.map((s) => ({ state: s, n: result.byState[s] ?? 0 })),
      total: result.total,
      state,
      page,
      pages,
      previous: page > 1 ? link(page - 1) : undefined,
      next: page < pages ? link(page + 1) : undefined,
      stateOptions: [
        { value: '', text: 'Any state' },
        ...NOTIFICATION_STATES.map((s) => ({ value: s, text: s, selected: state === s })),
      ],
    });
  }
}
