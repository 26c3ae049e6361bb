import { Injectable, PipeTransform } from '@nestjs/common';
import { isOdsCode, NotFoundError } from '@custodian/core';
import { PRACTICES_ERRORS } from './practices.errors';

/** A path segment that is not an ODS code names no practice: 404. */
@Injectable()
export class OdsCodePipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!isOdsCode(value)) throw new NotFoundError(PRACTICES_ERRORS.PRACTICE_NOT_FOUND, 'Practice');
    return value;
  }
}
