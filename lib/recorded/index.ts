export {
  GRAPH_EXECUTORS,
  type GraphExecutor,
  graphExecutor,
  recordedExecutorStats,
  resetRecordedExecutorStats,
  setGraphExecutor,
} from './executorChoice';
export { RecordedGraphRuns } from './recordedGraphRuns';
export { countDispatches } from './countDispatches';
