import { Command } from '@nestjs/cqrs';
import type { FeatureEntity, FeatureType } from '../entities/feature.entity.js';

export class CreateFeatureCommand extends Command<FeatureEntity> {
  constructor(
    readonly input: { slug: string; enabled: boolean; description?: string | null; type?: FeatureType | null },
    readonly actor: string,
  ) {
    super();
  }
}
