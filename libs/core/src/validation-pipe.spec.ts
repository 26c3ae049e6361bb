import 'reflect-metadata';
import { ArgumentMetadata, BadRequestException, ValidationPipe } from '@nestjs/common';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Max, Min } from 'class-validator';
import fc from 'fast-check';
import { QueryMemoValidationPipe } from './validation-pipe';

class PageQuery {
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) page: number = 1;
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(200) limit: number = 50;
  @IsOptional() @IsIn(['draft', 'submitted']) state?: string;
  @IsOptional() @IsString({ each: true }) tags?: string[];
}

const OPTIONS = {
  whitelist: true,
  forbidNonWhitelisted: true,
  transform: true,
  forbidUnknownValues: true,
};
const query: ArgumentMetadata = { type: 'query', metatype: PageQuery, data: undefined };

/** What a pipe makes of a value: the DTO as plain data with its class, or the error it sent. */
async function outcome(pipe: ValidationPipe, value: unknown, meta = query) {
  try {
    const dto = (await pipe.transform(value, meta)) as object;
    return { ok: true, cls: dto.constructor.name, value: { ...dto } };
  } catch (e) {
    if (!(e instanceof BadRequestException)) throw e;
    return { ok: false, body: e.getResponse() };
  }
}

/** Query strings as the HTTP layer parses them: a few known and unknown keys, strings and lists. */
const queries = fc.dictionary(
  fc.constantFrom('page', 'limit', 'state', 'tags', 'other'),
  fc.oneof(
    fc.constantFrom('1', '2', '50', '0', '201', 'x', '', 'draft', 'submitted', '1.5'),
    fc.array(fc.constantFrom('a', 'b', '1'), { maxLength: 3 }),
  ),
);

describe('QueryMemoValidationPipe', () => {
  it('gives what the plain ValidationPipe gives, for every query, the first time and again', async () => {
    const memo = new QueryMemoValidationPipe(OPTIONS, 8);
    const plain = new ValidationPipe(OPTIONS);
    await fc.assert(
      fc.asyncProperty(fc.array(queries, { minLength: 1, maxLength: 12 }), async (qs) => {
        for (const q of [...qs, ...qs]) {
          const copy = JSON.parse(JSON.stringify(q)) as object;
          expect(await outcome(memo, q)).toEqual(await outcome(plain, copy));
        }
      }),
    );
  });

  it('hands out a fresh DTO each time: changing one changes no later one', async () => {
    const pipe = new QueryMemoValidationPipe(OPTIONS);
    const first = (await pipe.transform({ page: '2', tags: ['a'] }, query)) as PageQuery;
    first.page = 99;
    first.tags!.push('changed');
    const second = (await pipe.transform({ page: '2', tags: ['a'] }, query)) as PageQuery;
    expect(second).toBeInstanceOf(PageQuery);
    expect(second).not.toBe(first);
    expect({ ...second }).toEqual({ page: 2, limit: 50, tags: ['a'] });
  });

  it('rejects a bad query every time (failures are not kept)', async () => {
    const pipe = new QueryMemoValidationPipe(OPTIONS);
    for (let i = 0; i < 3; i++)
      await expect(pipe.transform({ limit: '500' }, query)).rejects.toBeInstanceOf(BadRequestException);
  });

  it('validates bodies as the plain pipe does (only queries are kept)', async () => {
    const pipe = new QueryMemoValidationPipe(OPTIONS);
    const body: ArgumentMetadata = { ...query, type: 'body' };
    expect(await outcome(pipe, { page: '3' }, body)).toEqual({
      ok: true,
      cls: 'PageQuery',
      value: { page: 3, limit: 50 },
    });
    await expect(pipe.transform({ page: '0' }, body)).rejects.toBeInstanceOf(BadRequestException);
  });
});
