import { MetricsService } from './metrics.service.js';

describe('MetricsService', () => {
  it('exports every webhook delivery outcome from the start, so an alert on increase() sees the first one', async () => {
    const metrics = new MetricsService();
    const text = await metrics.registry.metrics();
    for (const result of ['delivered', 'retrying', 'failed', 'gone']) {
      expect(text).toContain(`calsync_webhook_deliveries_total{result="${result}"} 0`);
    }
    metrics.webhookDeliveries.inc({ result: 'failed' });
    expect(await metrics.registry.metrics()).toContain('calsync_webhook_deliveries_total{result="failed"} 1');
  });
});
