import { ArgumentMetadata, Type, ValidationPipe, ValidationPipeOptions } from '@nestjs/common';

type Query = Record<string, string | string[]>;
type Dto = Record<string, unknown>;

/**
 * The application's `ValidationPipe`, which also remembers what it made of each distinct query
 * string it accepted. Turning `?limit=50` into a `ListBidsQueryDto` through class-transformer and
 * class-validator cost ~70 µs a request (a fifth of a cached bids page's CPU, measured in
 * `docs/BENCHMARKS.md`), and the same few query strings come again and again. Validating a query is
 * a pure function of its class and its parameters (no validator here reads anything else), so a
 * query the pipe accepted once is accepted again with the same result: the kept DTO is handed out
 * as a fresh copy each time. Only successes are kept (a rejected query is validated, and rejected,
 * every time), only for `@Query()` parameters, only when every value of the DTO is a primitive or
 * an array of primitives (so a copy shares nothing mutable), and at most `limit` per class (the
 * oldest goes first), so a client sending endless distinct query strings cannot grow the process.
 */
export class QueryMemoValidationPipe extends ValidationPipe {
  private readonly kept = new Map<Type<unknown>, Map<string, Dto>>();

  constructor(
    options: ValidationPipeOptions,
    private readonly limit = 256,
  ) {
    super(options);
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const type = metadata.metatype;
    const key = metadata.type === 'query' && type && this.toValidate(metadata) ? queryKey(value) : undefined;
    if (key === undefined || type === undefined) return super.transform(value, metadata);
    let byKey = this.kept.get(type);
    const hit = byKey?.get(key);
    if (hit !== undefined) return copyOf(hit);
    const dto: unknown = await super.transform(value, metadata);
    if (isFlat(dto)) {
      if (byKey === undefined) this.kept.set(type, (byKey = new Map()));
      if (byKey.size >= this.limit) byKey.delete(byKey.keys().next().value!);
      byKey.set(key, copyOf(dto));
    }
    return dto;
  }
}

/** A query as the HTTP layer parses it (strings and arrays of strings), as a key; else undefined. */
function queryKey(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  for (const v of Object.values(value as Query))
    if (typeof v !== 'string' && !(Array.isArray(v) && v.every((s) => typeof s === 'string')))
      return undefined;
  return JSON.stringify(value);
}

const primitive = (v: unknown) => v === null || (typeof v !== 'object' && typeof v !== 'function');

function isFlat(dto: unknown): dto is Dto {
  if (typeof dto !== 'object' || dto === null) return false;
  return Object.values(dto).every((v) => primitive(v) || (Array.isArray(v) && v.every(primitive)));
}

/** A copy of a flat DTO, of the same class, sharing nothing mutable with it. */
function copyOf(dto: Dto): Dto {
  const copy = Object.create(Object.getPrototypeOf(dto) as object | null) as Dto;
  for (const [k, v] of Object.entries(dto)) copy[k] = Array.isArray(v) ? v.slice() : v;
  return copy;
}
