import type { OpenAPIObject } from '@nestjs/swagger';
import { IDEMPOTENCY_HEADER, IDEMPOTENT_REPLAYED_HEADER } from './idempotency';

/**
 * Documents `Idempotency-Key` once, as a reusable header parameter, and references it from every
 * POST the IdempotencyInterceptor covers (every POST under /api but the sign-in routes), with the
 * answers it adds: 409 and 422.
 */
export function withIdempotencyKey(doc: OpenAPIObject): OpenAPIObject {
  doc.components ??= {};
  doc.components.parameters = {
    ...doc.components.parameters,
    IdempotencyKey: {
      name: IDEMPOTENCY_HEADER,
      in: 'header',
      required: false,
      description:
        'Makes the request safe to re-send (1–200 visible ASCII characters, e.g. a UUID). The first answer is kept 24 hours for the signed-in user: the same key with the same request returns it (with `' +
        IDEMPOTENT_REPLAYED_HEADER +
        ': true`) and creates nothing; with another request, 422 `IDEMPOTENCY_KEY_REUSED`; while the first is running, 409 `IDEMPOTENCY_KEY_IN_FLIGHT`; when the first committed but its answer was lost, 409 `IDEMPOTENCY_KEY_UNCONFIRMED` (look the result up). Keys are per user.',
      schema: { type: 'string', minLength: 1, maxLength: 200, pattern: '^[\\x21-\\x7e]+$' },
    },
  };
  for (const [path, item] of Object.entries(doc.paths)) {
    const op = item.post;
    if (!op || !path.startsWith('/api/') || path.startsWith('/api/auth/')) continue;
    op.parameters = [...(op.parameters ?? []), { $ref: '#/components/parameters/IdempotencyKey' }];
    op.responses ??= {};
    op.responses['422'] ??= {
      description: 'IDEMPOTENCY_KEY_REUSED: the Idempotency-Key was used with a different request',
    };
    op.responses['409'] ??= {
      description:
        'IDEMPOTENCY_KEY_IN_FLIGHT or IDEMPOTENCY_KEY_UNCONFIRMED (see the Idempotency-Key parameter)',
    };
  }
  return doc;
}
