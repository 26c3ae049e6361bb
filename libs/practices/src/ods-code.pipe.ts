import { Injectable, PipeTransform } from '@nestjs/common';
import { isOdsCode, NotFoundError } from '@custodian/core';

/** A path segment that is not an ODS code names no practice: 404. */
@Injectable()
export class OdsCodePipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!isOdsCode(value)) throw new NotFoundError('Practice', 'PRACTICE_NOT_FOUND');
    return value;
  }
}
