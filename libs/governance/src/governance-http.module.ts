import { Module } from '@nestjs/common';
import { GovernanceModule } from './governance.module';
import { PanelController } from './panel.controller';

@Module({ imports: [GovernanceModule], controllers: [PanelController] })
export class GovernanceHttpModule {}
