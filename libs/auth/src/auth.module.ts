import { Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { PassportModule } from '@nestjs/passport';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from '@custodian/audit';
import { APP_CONFIG, AppConfig } from '@custodian/core';
import { AuthService, JWT_ALGORITHM, JWT_AUDIENCE, JWT_ISSUER } from './auth.service';
import { JwtAuthGuard } from './guards';
import { PasswordService } from './password.service';
import { PrincipalCache } from './principal-cache';
import { AuthSession, RefreshToken } from './session.entity';
import { JwtStrategy, LocalStrategy } from './strategies';

@Module({
  imports: [
    AuditModule,
    PassportModule,
    TypeOrmModule.forFeature([AuthSession, RefreshToken]),
    JwtModule.registerAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        secret: config.jwtSecret,
        signOptions: {
          algorithm: JWT_ALGORITHM,
          issuer: JWT_ISSUER,
          audience: JWT_AUDIENCE,
          expiresIn: config.accessTokenTtlSeconds,
        },
        verifyOptions: { algorithms: [JWT_ALGORITHM], issuer: JWT_ISSUER, audience: JWT_AUDIENCE },
      }),
    }),
  ],
  providers: [AuthService, PasswordService, PrincipalCache, LocalStrategy, JwtStrategy, JwtAuthGuard],
  exports: [AuthService, PasswordService, JwtAuthGuard],
})
export class AuthModule {}
