import { CallHandler, ExecutionContext, Inject, Injectable, NestInterceptor } from '@nestjs/common';
import { finalize, type Observable } from 'rxjs';
import { APP_CONFIG, type AppConfig } from './config';
import type { Principal } from './decorators';
import { UploadsBusyError } from './errors';

/**
 * Uploads in flight, per user and per practice, in this process. Each upload holds a socket, a
 * spool file and, once read, a database connection for its merge: a few callers must not be able to
 * take them all. Counted per API process (with several processes the bound is per process).
 */
@Injectable()
export class UploadSlots {
  private readonly inFlight = new Map<string, number>();

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  /** Takes a slot for the user (and their practice) or throws 429 TOO_MANY_UPLOADS; returns the release. */
  acquire(user: Pick<Principal, 'id' | 'practiceOds'>): () => void {
    const keys: [string, 'user' | 'practice', number][] = [
      [`user:${user.id}`, 'user', this.config.uploadsPerUser],
    ];
    if (user.practiceOds)
      keys.push([`practice:${user.practiceOds}`, 'practice', this.config.uploadsPerPractice]);
    for (const [key, who, limit] of keys)
      if ((this.inFlight.get(key) ?? 0) >= limit) throw new UploadsBusyError(who, limit);
    for (const [key] of keys) this.inFlight.set(key, (this.inFlight.get(key) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const [key] of keys) {
        const n = (this.inFlight.get(key) ?? 1) - 1;
        if (n > 0) this.inFlight.set(key, n);
        else this.inFlight.delete(key);
      }
    };
  }
}

/**
 * Holds an upload slot from after the guards (the caller is known) until the handler has answered;
 * refuses with 429 before the body is read. Applied by @StreamedBody.
 */
@Injectable()
export class UploadSlotInterceptor implements NestInterceptor {
  constructor(private readonly slots: UploadSlots) {}

  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    const user = ctx.switchToHttp().getRequest<{ user?: Principal }>().user;
    if (!user) return next.handle();
    const release = this.slots.acquire(user);
    return next.handle().pipe(finalize(release));
  }
}
