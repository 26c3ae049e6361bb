import type { INestApplication } from '@nestjs/common';
import { ParseIntPipe, ParseUUIDPipe } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';

/** A class, as the document's finishing step reads it: its name, and its parent by its prototype chain. */
export type ClassRef = { name: string; prototype: object };
type PipeClass = abstract new (...args: never[]) => unknown;

/** What the document's finishing step needs from the routes themselves (openapi.ts). */
export interface RouteFacts {
  /** The classes of the routes' bodies and queries: schemas with no rules of their own are found by them. */
  dtoClasses: ClassRef[];
  /** Path parameter names every route parses as a UUID, and as an integer. */
  uuidParams: Set<string>;
  intParams: Set<string>;
}

const ROUTE_ARGS = '__routeArguments__';
const PARAM = 5;

type ArgMeta = { index: number; data?: unknown; pipes?: unknown[] };

/** A pipe of `kind` or a subclass (libs/core's ParseUUIDPipe), as a class or an instance. */
const isPipe = (pipe: unknown, kind: PipeClass) =>
  typeof pipe === 'function'
    ? pipe === kind || pipe.prototype instanceof kind
    : typeof pipe === 'object' && pipe !== null && pipe instanceof kind;

/**
 * The routes' parameter classes and how each path parameter is parsed, read from the controllers'
 * own metadata (`design:paramtypes`, Nest's route arguments): a body class that only inherits its
 * rules (`PartialType`) and `{id}`/`{version}` parameters were documented without the limits the
 * server enforces (probe 22).
 */
export function routeFacts(app: INestApplication): RouteFacts {
  const dtoClasses = new Set<ClassRef>();
  const seen = new Map<string, { uuid: boolean; int: boolean }>();
  for (const mod of app.get(ModulesContainer, { strict: false }).values())
    for (const wrapper of mod.controllers.values()) {
      const type = wrapper.metatype as ClassRef | undefined;
      if (!type?.prototype) continue;
      for (const key of Object.getOwnPropertyNames(type.prototype)) {
        if (key === 'constructor') continue;
        const types = (Reflect.getMetadata('design:paramtypes', type.prototype, key) ?? []) as unknown[];
        for (const t of types)
          if (typeof t === 'function' && /Dto$/.test(t.name)) dtoClasses.add(t as ClassRef);
        const args = (Reflect.getMetadata(ROUTE_ARGS, type, key) ?? {}) as Record<string, ArgMeta>;
        for (const [k, a] of Object.entries(args)) {
          if (Number(k.split(':')[0]) !== PARAM || typeof a.data !== 'string') continue;
          const pipes = a.pipes ?? [];
          const s = seen.get(a.data) ?? { uuid: true, int: true };
          s.uuid &&= pipes.some((p) => isPipe(p, ParseUUIDPipe));
          s.int &&= pipes.some((p) => isPipe(p, ParseIntPipe));
          seen.set(a.data, s);
        }
      }
    }
  const names = (f: 'uuid' | 'int') => new Set([...seen].filter(([, s]) => s[f]).map(([n]) => n));
  return { dtoClasses: [...dtoClasses], uuidParams: names('uuid'), intParams: names('int') };
}
