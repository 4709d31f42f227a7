// Child process for the multi-process test: signs and verifies in a loop on a shared token.
import { openDevice } from './device.ts';

const config = JSON.parse(process.env.DEVICE_TEST_CONFIG ?? '{}');
const label = process.env.DEVICE_TEST_LABEL ?? '';
const rounds = Number(process.env.DEVICE_TEST_ROUNDS ?? '30');

const device = await openDevice(config);
const spki = await device.publicKey(label);
let verified = 0;
for (let i = 0; i < rounds; i++) {
  const message = Buffer.from(`process ${process.pid} message ${i}`);
  const signature = i % 2 ? device.signSync(label, message) : await device.sign(label, message);
  if (await device.verify(spki, message, signature)) verified++;
}
await device.close();
process.stdout.write(JSON.stringify({ verified }));
