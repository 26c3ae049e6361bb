export { RegisterController } from './register.controller';
export { RegisterHttpModule } from './register-http.module';
export { RegisterModule } from './register.module';
export { RegisterService } from './register.service';
export { AUDIT_HASHES_SQL, CHECKPOINT_HEADS_SQL, RegisterLogService } from './register-log.service';
export {
  type AmendmentLogLine,
  chainStep,
  lineHash,
  type DecisionLogLine,
  type RegisterChainLine,
  type RegisterLogLine,
  signCheckpoint,
  signingKeyFromSeed,
} from './register-chain';
export { verifyRegister } from './verify-register';
