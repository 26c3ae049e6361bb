import { ApiProperty } from '@nestjs/swagger';
import { IsEmail, IsString, MaxLength, MinLength } from 'class-validator';

export class LoginDto {
  @ApiProperty({ example: 'researcher@leeds.example' }) @IsEmail() @MaxLength(254) email!: string;
  @ApiProperty({ minLength: 1, maxLength: 1024 })
  @IsString()
  @MinLength(1)
  @MaxLength(1024)
  password!: string;
}

export class RefreshDto {
  @ApiProperty() @IsString() @MaxLength(200) refreshToken!: string;
}

export class TokenPairDto {
  @ApiProperty() accessToken!: string;
  @ApiProperty() refreshToken!: string;
  @ApiProperty({ description: 'access token lifetime in seconds', example: 900 }) expiresIn!: number;
  @ApiProperty({ example: 'Bearer' }) tokenType!: string;
}

export class MeDto {
  @ApiProperty() id!: string;
  @ApiProperty() email!: string;
  @ApiProperty({ type: [String] }) roles!: string[];
  @ApiProperty({ nullable: true, type: String }) organisationId!: string | null;
  @ApiProperty({ nullable: true, type: String }) practiceOds!: string | null;
}
