import { Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Can, CurrentUser, type Principal, ParseUUIDPipe } from '@custodian/core';
import { ListNotificationsQueryDto, NotificationDto, NotificationListDto } from './dto';
import { NotificationsService } from './notifications.service';

@ApiTags('notifications')
@Controller('notifications')
export class NotificationsController {
  constructor(private readonly notifications: NotificationsService) {}

  /** The caller's own notices, newest first (every signed-in user). */
  @Get()
  @Can('read', 'Notification')
  @ApiOkResponse({ type: NotificationListDto })
  list(@CurrentUser() user: Principal, @Query() q: ListNotificationsQueryDto): Promise<NotificationListDto> {
    return this.notifications.listOwn(user, q);
  }

  /** Marks one of the caller's notices read. */
  @Post(':id/read')
  @HttpCode(200)
  @Can('update', 'Notification')
  @ApiOkResponse({ type: NotificationDto })
  @ApiNotFoundResponse({ description: 'NOTIFICATION_NOT_FOUND: no such notice of yours' })
  read(@CurrentUser() user: Principal, @Param('id', ParseUUIDPipe) id: string): Promise<NotificationDto> {
    return this.notifications.markRead(user, id);
  }
}
