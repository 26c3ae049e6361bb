import { Module } from '@nestjs/common';
import { OrganisationsController, UsersController } from './identity.controller';
import { IdentityModule } from './identity.module';

@Module({ imports: [IdentityModule], controllers: [OrganisationsController, UsersController] })
export class IdentityHttpModule {}
