import { type PipeTransform } from '@nestjs/common';
import { NulCharacterError } from './nul.js';

/** A path parameter that is free text (a flag's slug): anything but a NUL character (nul.ts). */
export class TextParamPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (value.includes('\0')) throw new NulCharacterError();
    return value;
  }
}
