import type { Device } from '@sm2ca/device';
import type { ServiceMetrics } from './service-metrics.ts';

/** Seconds: a soft token signs in well under a millisecond, a network HSM in a few. */
const deviceBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1];

/** The crypto device's operations: how long each took, and which failed with what code. */
export function observeDevice(metrics: ServiceMetrics, device: Device): void {
  const duration = metrics.histogram({
    name: 'sm2ca_device_operation_duration_seconds',
    help: 'Crypto device operations, from asking for a session to the answer, by operation',
    labelNames: ['operation'],
    buckets: deviceBuckets,
  });
  const errors = metrics.counter({
    name: 'sm2ca_device_operation_errors_total',
    help: 'Crypto device operations that failed, by operation and error code',
    labelNames: ['operation', 'code'],
  });
  device.observe((operation, seconds, error) => {
    duration.observe({ operation }, seconds);
    if (error) errors.inc({ operation, code: error.code });
  });
}
