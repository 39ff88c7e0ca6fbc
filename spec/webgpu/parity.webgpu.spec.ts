import { describeOnWebgpu } from '../helpers/webgpuSuite';
import { defineModelParityCases } from '../parity/modelCases';

describeOnWebgpu('fixture parity on webgpu (forward and VJP within the manifest tolerance)', () => {
  defineModelParityCases('webgpu');
});
