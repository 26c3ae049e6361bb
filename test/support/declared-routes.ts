import { RequestMethod } from '@nestjs/common';
import { MetadataScanner, ModulesContainer, Reflector } from '@nestjs/core';
import { IS_PUBLIC, Permission, PERMISSION } from '@custodian/core';
import { PORTAL } from '@custodian/portal';
import type { TestApp } from '@custodian/testing';

export interface DeclaredRoute {
  method: string;
  path: string;
  access: string;
}

/** Every route of the application with its declared access, read from the decorators. */
export function declaredRoutes(t: TestApp): DeclaredRoute[] {
  const scanner = new MetadataScanner();
  const reflector = t.app.get(Reflector);
  const routes: DeclaredRoute[] = [];
  const controllers = [...t.app.get(ModulesContainer).values()].flatMap((m) => [...m.controllers.values()]);
  for (const wrapper of controllers) {
    const { instance, metatype } = wrapper;
    if (!instance || !metatype) continue;
    // The portal's HTML pages (outside /api, with their own session check) are listed and tested in test/portal/.
    if (Reflect.getMetadata(PORTAL, metatype)) continue;
    const base = ([] as string[]).concat(Reflect.getMetadata('path', metatype) ?? '')[0];
    for (const name of scanner.getAllMethodNames(Object.getPrototypeOf(instance))) {
      const handler = (instance as Record<string, unknown>)[name] as (...args: unknown[]) => unknown;
      const path = Reflect.getMetadata('path', handler);
      if (path === undefined) continue;
      const method = RequestMethod[Reflect.getMetadata('method', handler) as number];
      const isPublic = reflector.getAllAndOverride<boolean>(IS_PUBLIC, [handler, metatype]);
      const permission = reflector.getAllAndOverride<Permission | undefined>(PERMISSION, [handler, metatype]);
      const full =
        `/api/${[base, ([] as string[]).concat(path)[0]].filter((p) => p && p !== '/').join('/')}`.replace(
          /\/+/g,
          '/',
        );
      routes.push({
        method,
        path: full,
        access: isPublic
          ? 'public'
          : permission
            ? `${permission.action}:${permission.subject}`
            : 'UNDECLARED',
      });
    }
  }
  return routes.sort((a, b) => a.path.localeCompare(b.path) || a.method.localeCompare(b.method));
}
