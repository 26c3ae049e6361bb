import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsAscii,
  IsBoolean,
  IsEmail,
  IsIn,
  IsOptional,
  IsString,
  IsUUID,
  MaxLength,
  MinLength,
  ValidateBy,
  ValidateIf,
  type ValidationArguments,
} from 'class-validator';
import { IsOdsCode, IsOmittable, IsPlainText, ROLES, type Role } from '@custodian/core';
import { ORGANISATION_KINDS, type OrganisationKind } from './organisation.entity';
import { GRANT_OUTCOMES, type GrantOutcome } from './role-grant.entity';
import { GOVERNANCE_ROLES, type GovernanceRole } from './role-grants';
import { passwordProblem } from './password-policy';

/**
 * The password rules past its length (`passwordProblem`): not the email nor built on its local
 * part (the body's `email`, when it has one: a PATCH is checked against the user's own by the
 * service), and not a common password. The message names the field and says why.
 */
const IsAcceptablePassword = () =>
  ValidateBy({
    name: 'isAcceptablePassword',
    async: true,
    validator: {
      // The check is asynchronous (its estimate runs in a thread); the message is asked for after
      // it answers, so the reason is kept with the body it was found in.
      validate: async (value: unknown, args?: ValidationArguments) => {
        if (typeof value !== 'string') return true;
        const problem = await passwordProblem(value, emailOf(args?.object));
        if (problem && args?.object) passwordProblems.set(args.object, problem);
        return !problem;
      },
      defaultMessage: (args?: ValidationArguments) =>
        (args?.object && passwordProblems.get(args.object)) ?? 'password is not acceptable',
    },
  });
const passwordProblems = new WeakMap<object, string>();
const emailOf = (o: unknown) => {
  const email = (o as { email?: unknown } | undefined)?.email;
  return typeof email === 'string' ? email : undefined;
};

const PASSWORD_RULES =
  'not the email nor containing the part before its @ (any case), and not a common password or one built on a common password or a simple pattern';

/** Emails in ASCII only: a lookalike letter of another alphabet ("rеsearcher", a Cyrillic е) would be a second account that reads as the first. */
const EMAIL_ASCII = 'email must be written in ASCII characters only (no letters of other alphabets)';

export class CreateOrganisationDto {
  @ApiProperty({
    example: 'University of Leeds',
    description:
      'Stored normalised (NFKC, zero-width characters removed, white space collapsed): a name that reads as an existing one is 409',
  })
  @IsString()
  @MinLength(2)
  @IsPlainText(2)
  @MaxLength(200)
  name!: string;
  @ApiProperty({ enum: ORGANISATION_KINDS }) @IsIn(ORGANISATION_KINDS) kind!: OrganisationKind;
}

export class OrganisationDto {
  @ApiProperty() id!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ enum: ORGANISATION_KINDS }) kind!: OrganisationKind;
  @ApiProperty() createdAt!: Date;
}

export class CreateUserDto {
  @ApiProperty({ description: 'ASCII only' })
  @IsEmail()
  @IsAscii({ message: EMAIL_ASCII })
  @MaxLength(254)
  email!: string;
  @ApiProperty({ minLength: 12, maxLength: 256, description: PASSWORD_RULES })
  @IsString()
  @MinLength(12)
  @MaxLength(256)
  @IsAcceptablePassword()
  password!: string;
  @ApiProperty() @IsString() @MinLength(1) @IsPlainText(1) @MaxLength(200) displayName!: string;
  @ApiProperty({ enum: ROLES, isArray: true })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(7)
  @ArrayUnique()
  @IsIn(ROLES, { each: true })
  roles!: Role[];
  @ApiPropertyOptional({ type: String, nullable: true }) @IsOptional() @IsUUID() organisationId?: string;
  @ApiPropertyOptional({ example: 'A81001' }) @IsOmittable() @IsOdsCode() practiceOds?: string;
}

export class UpdateUserDto {
  @ApiPropertyOptional()
  @IsOmittable()
  @IsString()
  @MinLength(1)
  @IsPlainText(1)
  @MaxLength(200)
  displayName?: string;
  @ApiPropertyOptional({ enum: ROLES, isArray: true })
  @IsOmittable()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(7)
  @ArrayUnique()
  @IsIn(ROLES, { each: true })
  roles?: Role[];
  @ApiPropertyOptional() @IsOmittable() @IsBoolean() disabled?: boolean;
  @ApiPropertyOptional({ minLength: 12, maxLength: 256, description: PASSWORD_RULES })
  @IsOmittable()
  @IsString()
  @MinLength(12)
  @MaxLength(256)
  @IsAcceptablePassword()
  password?: string;
  @ApiPropertyOptional({ type: String, nullable: true })
  @IsOptional()
  @ValidateIf((_, v) => v !== null)
  @IsUUID()
  organisationId?: string | null;
  @ApiPropertyOptional({ type: String, nullable: true })
  @IsOptional()
  @ValidateIf((_, v) => v !== null)
  @IsOdsCode()
  practiceOds?: string | null;
}

export class UserDto {
  @ApiProperty() id!: string;
  @ApiProperty() email!: string;
  @ApiProperty() displayName!: string;
  /** The roles the user holds now. */
  @ApiProperty({ enum: ROLES, isArray: true }) roles!: Role[];
  /** Governance roles requested for the user and waiting for a second administrator's approval. */
  @ApiProperty({ enum: GOVERNANCE_ROLES, isArray: true }) pendingRoles!: GovernanceRole[];
  @ApiProperty({ type: String, nullable: true }) organisationId!: string | null;
  @ApiProperty({ type: String, nullable: true }) practiceOds!: string | null;
  @ApiProperty() disabled!: boolean;
  @ApiProperty() createdAt!: Date;
}

export class RoleGrantDto {
  @ApiProperty() id!: string;
  @ApiProperty() userId!: string;
  @ApiProperty({ enum: GOVERNANCE_ROLES }) role!: GovernanceRole;
  @ApiProperty() requestedBy!: string;
  @ApiProperty() requestedAt!: Date;
  @ApiProperty({ type: String, nullable: true }) decidedBy!: string | null;
  @ApiProperty({ type: Date, nullable: true }) decidedAt!: Date | null;
  @ApiProperty({ enum: GRANT_OUTCOMES }) outcome!: GrantOutcome;
}
