import { Module } from '@nestjs/common';
import { OrganisationsController, RoleGrantsController, UsersController } from './identity.controller';
import { IdentityModule } from './identity.module';

@Module({
  imports: [IdentityModule],
  controllers: [OrganisationsController, UsersController, RoleGrantsController],
})
export class IdentityHttpModule {}
