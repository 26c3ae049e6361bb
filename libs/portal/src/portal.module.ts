import { Module } from '@nestjs/common';
import { AuditModule } from '@custodian/audit';
import { NotificationsModule } from '@custodian/notifications';
import { IdentityModule } from '@custodian/identity';
import { NotificationsPortalController } from './notifications.controller';
import { PortalApi } from './portal-api';
import { PortalAuthGuard } from './portal-auth.guard';
import { PortalExceptionFilter } from './portal-exception.filter';
import { PortalViews } from './portal-views';
import { PortalPublicController } from './public.controller';
import { ResearcherController } from './researcher.controller';
import { ResearcherRequestController } from './researcher-request.controller';
import {
  PanelAmendmentController,
  ResearcherAmendmentController,
  ScreeningAmendmentController,
} from './amendment-pages.controller';
import { PanelController, ReleaseOfficerController } from './reviewer.controllers';
import { TransparencyPortalController } from './transparency-portal';
import { PracticeController } from './practice.controller';
import { DataManagerController } from './data-manager.controller';
import { AdminController } from './admin.controller';
import { AdminAgreementsController } from './admin-agreements.controller';
import { AdminPracticesController } from './admin-practices.controller';
import { AuditorController } from './auditor.controller';

export const PORTAL_CONTROLLERS = [
  PortalPublicController,
  ResearcherController,
  ResearcherRequestController,
  ResearcherAmendmentController,
  ScreeningAmendmentController,
  PanelAmendmentController,
  PanelController,
  ReleaseOfficerController,
  TransparencyPortalController,
  PracticeController,
  DataManagerController,
  AdminController,
  AdminPracticesController,
  AdminAgreementsController,
  AuditorController,
  NotificationsPortalController,
] as const;

/** The web portal: server-rendered NHS.UK pages under `/`, calling the API in-process. */
@Module({
  imports: [AuditModule, NotificationsModule, IdentityModule],
  controllers: [...PORTAL_CONTROLLERS],
  providers: [PortalApi, PortalViews, PortalAuthGuard, PortalExceptionFilter],
})
export class PortalHttpModule {}
