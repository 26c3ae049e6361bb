export * from './dto';
export * from './identity-http.module';
export * from './identity.module';
export * from './identity.service';
export * from './organisation.entity';
export * from './user.entity';
export * from './role-grant.entity';
export * from './role-grants';
