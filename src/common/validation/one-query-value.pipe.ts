import { type ArgumentMetadata, BadRequestException, Injectable, type PipeTransform } from '@nestjs/common';
import { NulCharacterError } from './nul.js';

/**
 * For a query parameter read on its own (`@Query('state', OneQueryValuePipe)`): a key given twice
 * reaches the handler as an array (Fastify's query parser), which string code would fail on with a
 * TypeError, a 500. It is the caller's mistake: a 400 naming the key. A NUL character is refused
 * too (nul.ts). DTO-validated queries get the same from their validators.
 */
@Injectable()
export class OneQueryValuePipe implements PipeTransform<unknown, string | undefined> {
  transform(value: unknown, metadata: ArgumentMetadata): string | undefined {
    if (Array.isArray(value)) throw new BadRequestException(`"${metadata.data ?? 'a query parameter'}" must be given once`);
    if (typeof value === 'string' && value.includes('\0')) throw new NulCharacterError();
    return value as string | undefined;
  }
}
