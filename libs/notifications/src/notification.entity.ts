import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

export const NOTIFICATION_STATES = ['outbox', 'queued', 'sent', 'failed', 'cancelled'] as const;
export type NotificationState = (typeof NOTIFICATION_STATES)[number];

/** One notice to one user (the outbox row); written in the transaction of the change it announces. */
@Entity('notifications')
export class Notification {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ name: 'user_id', type: 'uuid' }) userId!: string;
  @Column({ type: 'varchar', length: 40 }) kind!: string;
  @Column({ type: 'varchar', length: 200 }) subject!: string;
  @Column({ type: 'text' }) body!: string;
  @Column({ type: 'varchar', length: 300 }) link!: string;
  @Column({ name: 'bid_id', type: 'uuid', nullable: true }) bidId!: string | null;
  @Column({ name: 'subject_type', type: 'varchar', length: 40, nullable: true }) subjectType!: string | null;
  @Column({ name: 'subject_id', type: 'varchar', length: 64, nullable: true }) subjectId!: string | null;
  @Column({ name: 'dedupe_key', type: 'varchar', length: 200, nullable: true }) dedupeKey!: string | null;
  @Column({ type: 'varchar', length: 9, default: 'outbox' }) state!: NotificationState;
  @Column({ type: 'smallint', default: 0 }) attempts!: number;
  @Column({ name: 'last_error', type: 'varchar', length: 300, nullable: true }) lastError!: string | null;
  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' }) createdAt!: Date;
  @Column({ name: 'sent_at', type: 'timestamptz', nullable: true }) sentAt!: Date | null;
  @Column({ name: 'read_at', type: 'timestamptz', nullable: true }) readAt!: Date | null;
}
