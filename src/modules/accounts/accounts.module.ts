import { Module } from '@nestjs/common';
import { AccountsController } from './accounts.controller.js';
import { CreateTeamHandler } from './commands/create-team.handler.js';
import { CreateUserHandler } from './commands/create-user.handler.js';
import { SetMembershipHandler } from './commands/set-membership.handler.js';
import { GetTeamHandler } from './queries/get-team.handler.js';
import { GetUserHandler } from './queries/get-user.handler.js';

@Module({
  controllers: [AccountsController],
  providers: [CreateUserHandler, CreateTeamHandler, SetMembershipHandler, GetUserHandler, GetTeamHandler],
})
export class AccountsModule {}
