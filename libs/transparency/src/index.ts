export { computeClock, type ClockTargets, type ClockView } from './clocks';
export { workingDaysBetween } from './working-days';
export { TRANSPARENCY_ERRORS } from './transparency.errors';
export { TransparencyModule } from './transparency.module';
export { TransparencyHttpModule } from './transparency-http.module';
export {
  type MonthStatistics,
  statisticsCsv,
  type Statistics,
  TransparencyService,
} from './transparency.service';
