export * from './clocks';
export * from './dto';
export * from './working-days';
export * from './transparency.module';
export * from './transparency-http.module';
export * from './transparency.service';
