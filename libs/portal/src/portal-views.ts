import { Injectable } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type nunjucks from 'nunjucks';
import type { PortalRequest } from './portal-api';
import { createViewEnvironment, STATE_TAG } from './views';

export interface NavItem {
  text: string;
  href: string;
  current?: boolean;
}

/** The pages each role works from, in the header's navigation. */
export function navigationFor(roles: readonly string[], path: string): NavItem[] {
  const items: NavItem[] = [];
  if (roles.includes('researcher')) items.push({ text: 'Your requests', href: '/requests' });
  if (roles.includes('panel_member')) items.push({ text: 'Panel review', href: '/panel' });
  if (roles.includes('release_officer'))
    items.push({ text: 'Screening', href: '/screening' }, { text: 'Releases', href: '/data-releases' });
  items.push({ text: 'Public register', href: '/public-register' });
  items.push({ text: 'Statistics', href: '/published-statistics' });
  return items.map((i) => ({ ...i, current: path === i.href || path.startsWith(`${i.href}/`) }));
}

/** Renders the Nunjucks pages with what every page needs: user, navigation, CSRF token, flash message. */
@Injectable()
export class PortalViews {
  readonly env: nunjucks.Environment = createViewEnvironment();

  render(req: PortalRequest, template: string, ctx: Record<string, unknown> = {}): string {
    const state = req.portal;
    const user = state?.session.auth?.user;
    const flash = state?.session.flash;
    if (state && flash) {
      delete state.session.flash;
      state.dirty = true;
    }
    const path = req.url.split('?')[0];
    return this.env.render(template, {
      user,
      csrfToken: state?.session.csrf ?? '',
      flash,
      navigation: navigationFor(user?.roles ?? [], path),
      currentPath: path,
      stateTag: STATE_TAG,
      ...ctx,
    });
  }

  page(
    req: PortalRequest,
    reply: FastifyReply,
    template: string,
    ctx: Record<string, unknown> = {},
    status = 200,
  ) {
    const html = this.render(req, template, ctx);
    reply
      .status(status)
      .header('content-type', 'text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .send(html);
  }
}
