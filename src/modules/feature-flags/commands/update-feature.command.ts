import { Command } from '@nestjs/cqrs';
import type { FeatureEntity } from '../entities/feature.entity.js';

/** Sets the flag's global switch. Setting the value it already has changes nothing. */
export class UpdateFeatureCommand extends Command<FeatureEntity> {
  constructor(
    readonly slug: string,
    readonly enabled: boolean,
    readonly actor: string,
  ) {
    super();
  }
}
