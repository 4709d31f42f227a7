export { buildMonitorApp, type MonitorAppOptions } from './app.ts';
