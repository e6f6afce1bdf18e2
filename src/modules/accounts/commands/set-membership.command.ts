import { Command } from '@nestjs/cqrs';

export class SetMembershipCommand extends Command<void> {
  constructor(
    readonly teamId: number,
    readonly userId: number,
    readonly member: boolean,
  ) {
    super();
  }
}
