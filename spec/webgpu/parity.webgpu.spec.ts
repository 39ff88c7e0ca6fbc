import { recordedExecutorStats, setGraphExecutor } from '../../lib/recorded';
import { describeOnWebgpu } from '../helpers/webgpuSuite';
import { defineModelParityCases } from '../parity/modelCases';

describeOnWebgpu(
  'fixture parity on webgpu, recorded executor: recording, then replay (manifest tolerance)',
  () => {
    beforeAll(() => setGraphExecutor('recorded'));
    defineModelParityCases('webgpu', 2);
    test('the second pass replayed recordings', () => {
      expect(recordedExecutorStats.recordings).toBeGreaterThan(0);
      expect(recordedExecutorStats.replays).toBeGreaterThan(0);
    });
  },
);

describeOnWebgpu('fixture parity on webgpu, tfjs executor (manifest tolerance)', () => {
  beforeAll(() => setGraphExecutor('tfjs'));
  afterAll(() => setGraphExecutor('recorded'));
  defineModelParityCases('webgpu');
});
