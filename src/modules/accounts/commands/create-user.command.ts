import { Command } from '@nestjs/cqrs';
import type { UserEntity } from '../entities/user.entity.js';

export class CreateUserCommand extends Command<UserEntity> {
  constructor(readonly input: { id?: number; email: string; name?: string | null; timeZone: string }) {
    super();
  }
}
