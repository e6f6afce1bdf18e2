import { BadRequestException, type PipeTransform } from '@nestjs/common';
import { MAX_ID } from './ids.js';

/** Path ids are positive 32-bit integers; anything else is a 400, not a database error. */
export class IdParamPipe implements PipeTransform<string, number> {
  transform(value: string): number {
    if (!/^\d{1,10}$/.test(value) || Number(value) < 1 || Number(value) > MAX_ID) {
      throw new BadRequestException(`"${value}" is not a valid id`);
    }
    return Number(value);
  }
}

/** Ids of `BIGSERIAL` rows (webhook deliveries): whole numbers from 1 up to what a JavaScript number holds exactly. */
export class BigIdParamPipe implements PipeTransform<string, number> {
  transform(value: string): number {
    if (!/^\d{1,16}$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) {
      throw new BadRequestException(`"${value}" is not a valid id`);
    }
    return Number(value);
  }
}
