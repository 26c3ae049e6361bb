import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsInt, IsOptional, Max, Min } from 'class-validator';
import { DecimalInt, IsPageNumber } from '@custodian/core';
import { NOTIFICATION_STATES, type NotificationState } from './notification.entity';
import { NOTIFICATION_KINDS } from './templates';

export class ListNotificationsQueryDto {
  @IsPageNumber() page: number = 1;
  @ApiPropertyOptional({ default: 20, maximum: 100 })
  @IsOptional()
  @DecimalInt()
  @IsInt()
  @Min(1)
  @Max(100)
  limit: number = 20;
  @ApiPropertyOptional({ description: 'Only the unread ones' })
  @IsOptional()
  @Transform(({ value }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsBoolean()
  unread?: boolean;
}

/** One notice as its recipient sees it (their own only). */
export class NotificationDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ enum: NOTIFICATION_KINDS }) kind!: string;
  @ApiProperty({ example: 'New request to screen: “Statins and stroke in Leeds”' }) subject!: string;
  @ApiProperty({ description: 'The plain-text message' }) body!: string;
  @ApiProperty({ description: 'Path of the portal page it links to', example: '/requests/…' }) link!: string;
  @ApiProperty({ type: String, format: 'uuid', nullable: true }) bidId!: string | null;
  @ApiProperty({
    enum: NOTIFICATION_STATES,
    description: 'outbox: kept here (no SMTP configured); queued: being sent; sent; failed; cancelled',
  })
  state!: NotificationState;
  @ApiProperty() createdAt!: Date;
  @ApiProperty({ type: Date, nullable: true }) sentAt!: Date | null;
  @ApiProperty({ type: Date, nullable: true }) readAt!: Date | null;
}

export class NotificationListDto {
  @ApiProperty({ type: [NotificationDto] }) items!: NotificationDto[];
  @ApiProperty() page!: number;
  @ApiProperty() limit!: number;
  @ApiProperty() total!: number;
  @ApiProperty({ description: 'Unread notices of the caller, in all' }) unread!: number;
}
