import {
  Counter,
  type CounterConfiguration,
  collectDefaultMetrics,
  Gauge,
  type GaugeConfiguration,
  Histogram,
  type HistogramConfiguration,
  Registry,
} from 'prom-client';

type AnyMetric = Counter<string> | Gauge<string> | Histogram<string>;

/**
 * One service's Prometheus registry. Its own registry rather than prom-client's global one, so
 * that the apps a test process builds side by side each count only their own requests. Metrics
 * are made on first use and found again by name, so a route module may ask for its counter every
 * time it is registered.
 */
export class ServiceMetrics {
  readonly registry = new Registry();
  readonly #made = new Map<string, AnyMetric>();

  constructor(readonly service: string) {
    this.registry.setDefaultLabels({ service });
    collectDefaultMetrics({ register: this.registry });
  }

  counter<L extends string>(config: Omit<CounterConfiguration<L>, 'registers'>): Counter<L> {
    return this.#once(config.name, () => new Counter({ ...config, registers: [this.registry] }));
  }

  gauge<L extends string>(config: Omit<GaugeConfiguration<L>, 'registers'>): Gauge<L> {
    return this.#once(config.name, () => new Gauge({ ...config, registers: [this.registry] }));
  }

  histogram<L extends string>(config: Omit<HistogramConfiguration<L>, 'registers'>): Histogram<L> {
    return this.#once(config.name, () => new Histogram({ ...config, registers: [this.registry] }));
  }

  #once<M extends AnyMetric>(name: string, make: () => M): M {
    const known = this.#made.get(name);
    if (known) return known as M;
    const made = make();
    this.#made.set(name, made);
    return made;
  }
}
export type { Counter, Gauge, Histogram } from 'prom-client';
