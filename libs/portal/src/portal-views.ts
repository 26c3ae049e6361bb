import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@custodian/core';
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
  if (roles.includes('practice'))
    items.push(
      { text: 'Your practice', href: '/practice' },
      { text: 'Objections', href: '/practice/objections' },
    );
  if (roles.includes('data_manager')) items.push({ text: 'Data loads', href: '/data-loads' });
  if (roles.includes('admin'))
    items.push(
      { text: 'Users', href: '/admin/users' },
      { text: 'Organisations', href: '/admin/organisations' },
      { text: 'Practices', href: '/admin/practices' },
      { text: 'Agreements', href: '/admin/agreements' },
      { text: 'Email', href: '/admin/notifications' },
    );
  if (roles.includes('auditor')) items.push({ text: 'Audit trail', href: '/audit-trail' });
  items.push({ text: 'Public register', href: '/public-register' });
  items.push({ text: 'Statistics', href: '/published-statistics' });
  // The most specific item is the current one (/practice/objections, not /practice too).
  const current = items
    .filter((i) => path === i.href || path.startsWith(`${i.href}/`))
    .sort((a, b) => b.href.length - a.href.length)[0];
  return items.map((i) => ({ ...i, current: i === current }));
}

export interface Capability {
  role: string;
  title: string;
  items: { text: string; href: string; description: string }[];
}

/** What a signed-in person can do, role by role (the home page); a user may hold several roles. */
export function capabilitiesFor(roles: readonly string[]): Capability[] {
  const all: Capability[] = [
    {
      role: 'researcher',
      title: 'As a researcher',
      items: [
        {
          text: 'Your requests',
          href: '/requests',
          description: 'Request data, follow the decision, accept the agreement and download releases.',
        },
      ],
    },
    {
      role: 'panel_member',
      title: 'As a panel member',
      items: [
        { text: 'Panel review', href: '/panel', description: 'Read requests in review and vote on them.' },
      ],
    },
    {
      role: 'release_officer',
      title: 'As a release officer',
      items: [
        { text: 'Screening', href: '/screening', description: 'Screen submitted requests.' },
        { text: 'Releases', href: '/data-releases', description: 'Generate releases of active requests.' },
      ],
    },
    {
      role: 'practice',
      title: 'For your GP practice',
      items: [
        {
          text: 'Your practice',
          href: '/practice',
          description: 'Record when you started informing patients and see when extracts open.',
        },
        {
          text: 'Extracts',
          href: '/practice/extracts',
          description: 'Send an extract and read its report: counts, rejected lines and warnings.',
        },
        {
          text: 'Objections',
          href: '/practice/objections',
          description: 'Register or withdraw a patient’s objection; see your practice’s counts.',
        },
      ],
    },
    {
      role: 'data_manager',
      title: 'As a data manager',
      items: [
        {
          text: 'Data loads',
          href: '/data-loads',
          description: 'Load hospital (HES) and social-care files and read each linkage report.',
        },
      ],
    },
    {
      role: 'admin',
      title: 'As an administrator',
      items: [
        {
          text: 'Users',
          href: '/admin/users',
          description: 'Create users, change roles, disable accounts, approve governance roles.',
        },
        { text: 'Organisations', href: '/admin/organisations', description: 'Add applicant organisations.' },
        {
          text: 'Practices',
          href: '/admin/practices',
          description: 'Add GP practices and move them through the rollout.',
        },
        {
          text: 'Agreements',
          href: '/admin/agreements',
          description: 'See the agreements in force, and revoke one.',
        },
      ],
    },
    {
      role: 'auditor',
      title: 'As an auditor',
      items: [
        {
          text: 'Audit trail',
          href: '/audit-trail',
          description: 'Search and export the audit trail, and verify its hash chain.',
        },
      ],
    },
  ];
  return all.filter((c) => roles.includes(c.role));
}

/** Renders the Nunjucks pages with what every page needs: user, navigation, CSRF token, flash message. */
@Injectable()
export class PortalViews {
  readonly env: nunjucks.Environment = createViewEnvironment();

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

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
      unreadNotifications: state?.unread,
      currentPath: path,
      stateTag: STATE_TAG,
      brand: this.config.portal,
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
