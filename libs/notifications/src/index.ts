export { NotificationsModule } from './notifications.module';
export { NotificationsHttpModule } from './notifications-http.module';
export {
  type DailySweep,
  type NoticeRequest,
  NOTIFICATIONS_DAILY_QUEUE,
  NOTIFICATIONS_SEND_QUEUE,
  NotificationsService,
  type Recipients,
} from './notifications.service';
export { NOTIFICATIONS_ERRORS } from './notifications.errors';
export { Notification, NOTIFICATION_STATES, type NotificationState } from './notification.entity';
export { NotificationDto, NotificationListDto } from './dto';
export { cleanUserText, NOTIFICATION_KINDS, type NotificationKind, renderMessage } from './templates';
