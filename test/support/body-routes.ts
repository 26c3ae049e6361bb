import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { MetadataScanner, ModulesContainer } from '@nestjs/core';
import { getMetadataStorage } from 'class-validator';
import type { TestApp } from '@custodian/testing';
import { declaredRoutes } from './declared-routes';

export interface BodyRoute {
  /** `POST /api/bids` — the key of test/access-matrix.ts */
  key: string;
  method: 'post' | 'put' | 'patch';
  path: string;
  /** The class-validator DTO of its `@Body()`, or undefined when the handler takes no JSON body. */
  dto?: new () => object;
  /** Properties the DTO declares (top level). */
  fields: string[];
}

/** Property names a class-validator DTO declares (with its parents, e.g. PartialType). */
export function dtoFields(dto: new () => object): string[] {
  const metas = getMetadataStorage().getTargetValidationMetadatas(dto, '', true, false);
  return [...new Set(metas.map((m) => m.propertyName))].sort();
}

/**
 * Every POST/PUT/PATCH route read from the route declarations (as test/routes.e2e-spec.ts does),
 * with the DTO class of its `@Body()` parameter when it has one.
 */
export function bodyRoutes(t: TestApp): BodyRoute[] {
  const scanner = new MetadataScanner();
  const dtoByKey = new Map<string, new () => object>();
  const controllers = [...t.app.get(ModulesContainer).values()].flatMap((m) => [...m.controllers.values()]);
  for (const { instance, metatype } of controllers) {
    if (!instance || !metatype) continue;
    const base = ([] as string[]).concat(Reflect.getMetadata('path', metatype) ?? '')[0];
    const proto = Object.getPrototypeOf(instance) as object;
    for (const name of scanner.getAllMethodNames(proto)) {
      const handler = (instance as Record<string, unknown>)[name] as object;
      const path = Reflect.getMetadata('path', handler);
      if (path === undefined) continue;
      const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, metatype, name) ?? {}) as Record<
        string,
        { index: number; data?: unknown }
      >;
      const body = Object.entries(args).find(
        ([k, v]) => k.split(':')[0] === String(RouteParamtypes.BODY) && v.data === undefined,
      );
      if (!body) continue;
      const types = Reflect.getMetadata('design:paramtypes', proto, name) as (new () => object)[];
      const full =
        `/api/${[base, ([] as string[]).concat(path)[0]].filter((p) => p && p !== '/').join('/')}`.replace(
          /\/+/g,
          '/',
        );
      const method = Reflect.getMetadata('method', handler) as number;
      dtoByKey.set(`${method}:${full}`, types[body[1].index]);
    }
  }
  return declaredRoutes(t)
    .filter((r) => ['POST', 'PUT', 'PATCH'].includes(r.method))
    .map((r) => {
      const methodNo = { POST: 1, PUT: 2, PATCH: 4 }[r.method as 'POST'];
      const dto = dtoByKey.get(`${methodNo}:${r.path}`);
      return {
        key: `${r.method} ${r.path}`,
        method: r.method.toLowerCase() as 'post',
        path: r.path,
        dto,
        fields: dto ? dtoFields(dto) : [],
      };
    });
}

/** The upload routes (`@StreamedBody`) and the one content type each takes; any other is a 415 before the guards. */
export const UPLOAD_TYPES: Record<string, string> = {
  'POST /api/practices/:ods/extracts': 'application/x-ndjson',
  'POST /api/sources/hes': 'text/csv',
  'POST /api/sources/social-care': 'text/csv',
  'PUT /api/bids/:id/cohort': 'text/plain',
};
